//! The one set of table definitions: the local runtime creates tables from them, and the
//! SAM template must declare the same keys and indexes (a test compares them).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use tracing::info;

mod reconcile;

/// What an index copies of each item besides the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projected {
    All,
    KeysOnly,
    Include(&'static [&'static str]),
}

/// A global secondary index: name, partition key, optional sort key (all strings), projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDef {
    pub name: &'static str,
    pub hash: &'static str,
    pub range: Option<&'static str>,
    pub projection: Projected,
}

/// A table: its key, indexes and TTL attribute. Every key attribute is a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    /// The logical name; the physical name comes from configuration.
    pub logical: &'static str,
    pub hash: &'static str,
    pub range: Option<&'static str>,
    pub indexes: &'static [IndexDef],
    pub ttl_attribute: Option<&'static str>,
}

/// Attribute names of the actions table's index keys. They exist only on the stored item,
/// never on the domain's `Action`.
pub mod attr {
    /// `YYYY-MM-DD` of `createdAt`: the partition of the recent index, present once the
    /// action is held or settled (sparse: in flight, the pending index lists it).
    pub const DAY: &str = "gsiDay";
    /// `createdAt#id`: sort key shared by the recent, by-user and by-correlation indexes.
    pub const TIME: &str = "gsiTime";
    /// Priority, present only while the action is queued, retrying or executing (sparse).
    pub const PENDING_PRIORITY: &str = "pendingPriority";
    /// `readyAt#id`: when the action became runnable, for oldest-first order.
    pub const PENDING_AT: &str = "pendingAt";
    /// Epoch seconds after which a finished action may be deleted (DynamoDB TTL).
    pub const EXPIRES_AT: &str = "expiresAt";
    /// The status as the recent index knows it ([`phase`]): settled statuses as they are, the
    /// three in-flight ones as one, so a plain action's lease leaves the entry alone.
    pub const PHASE: &str = "gsiPhase";
}

/// The phase of every in-flight status (`queued`, `executing`, `retrying`).
pub const IN_FLIGHT: &str = "in_flight";

/// What the recent index keeps of a status. A status that changes while an action is in
/// flight would rewrite the entry on every transition; the phase changes only when the action
/// is held, released or settled.
pub fn phase(status: baton_domain::model::Status) -> &'static str {
    use baton_domain::model::Status;
    match status {
        Status::Queued | Status::Executing | Status::Retrying => IN_FLIGHT,
        settled => settled.as_str(),
    }
}

pub mod index {
    pub const RECENT: &str = "recent";
    pub const PENDING: &str = "pending-by-priority";
    pub const BY_USER: &str = "by-user";
    pub const BY_CORRELATION: &str = "by-correlation";
}

pub const ACTIONS: TableDef = TableDef {
    logical: "actions",
    hash: "id",
    range: None,
    // Indexes copy only what never changes while an action is in flight, so a plain action's
    // lease writes no index entry. `recent` holds held and settled actions (platform and
    // phase); `pending-by-priority` the unfinished ones, with what `recent` needs of them
    // (time, platform, phase). Accepting an action writes one entry, settling it two.
    // The pending index's readers read the items, which also tell them the status and lease.
    indexes: &[
        IndexDef {
            name: index::RECENT,
            hash: attr::DAY,
            range: Some(attr::TIME),
            projection: Projected::Include(&["platform", attr::PHASE]),
        },
        IndexDef {
            name: index::PENDING,
            hash: attr::PENDING_PRIORITY,
            range: Some(attr::PENDING_AT),
            projection: Projected::Include(&["platform", attr::TIME, attr::PHASE]),
        },
        IndexDef { name: index::BY_USER, hash: "userId", range: Some(attr::TIME), projection: Projected::KeysOnly },
        IndexDef {
            name: index::BY_CORRELATION,
            hash: "correlationId",
            range: Some(attr::TIME),
            projection: Projected::KeysOnly,
        },
    ],
    ttl_attribute: Some(attr::EXPIRES_AT),
};

impl IndexDef {
    pub(crate) fn projection(&self) -> Projection {
        match self.projection {
            Projected::All => Projection::builder().projection_type(ProjectionType::All).build(),
            Projected::KeysOnly => Projection::builder().projection_type(ProjectionType::KeysOnly).build(),
            Projected::Include(attrs) => Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(attrs.iter().map(|a| (*a).to_owned()).collect()))
                .build(),
        }
    }

    fn declared(&self) -> Result<GlobalSecondaryIndex, String> {
        GlobalSecondaryIndex::builder()
            .index_name(self.name)
            .set_key_schema(Some(key_schema(self.hash, self.range)?))
            .projection(self.projection())
            .build()
            .map_err(|e| e.to_string())
    }
}

/// Every table Baton needs today.
pub const ALL: &[TableDef] = &[
    ACTIONS,
    crate::connections::CONNECTIONS,
    crate::platform_state::PLATFORM_STATE,
    crate::keys::IDEMPOTENCY,
    crate::access::API_KEYS,
    crate::access::RATE_LIMITS,
    crate::approvals::APPROVALS,
    crate::workflows::WORKFLOWS,
    crate::metrics::METRICS,
];

pub(crate) fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, String> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(|e| e.to_string())
}

pub(crate) fn key_schema(hash: &str, range: Option<&str>) -> Result<Vec<KeySchemaElement>, String> {
    let mut keys = vec![key(hash, KeyType::Hash)?];
    if let Some(r) = range {
        keys.push(key(r, KeyType::Range)?);
    }
    Ok(keys)
}

impl TableDef {
    /// Every attribute used in a key of the table or of an index, once each.
    pub fn key_attributes(&self) -> Vec<&'static str> {
        let mut names = vec![self.hash];
        names.extend(self.range);
        for ix in self.indexes {
            names.push(ix.hash);
            names.extend(ix.range);
        }
        let mut seen = Vec::new();
        names.retain(|n| {
            let fresh = !seen.contains(n);
            seen.push(*n);
            fresh
        });
        names
    }

    /// Creates the table (on-demand billing, TTL on, no stream) unless it exists; an existing
    /// table's indexes are brought to this definition ([`TableDef::reconcile`]). Returns the
    /// indexes re-created on an existing table. The local runtime never enables streams: the
    /// emulator's stream table grows without bound.
    pub async fn ensure(&self, client: &Client, physical: &str) -> Result<Vec<&'static str>, String> {
        self.ensure_with(client, physical, false).await
    }

    /// As `ensure`, with a NEW_AND_OLD_IMAGES stream when `stream` (as the SAM template has).
    pub async fn ensure_with(
        &self,
        client: &Client,
        physical: &str,
        stream: bool,
    ) -> Result<Vec<&'static str>, String> {
        match client.describe_table().table_name(physical).send().await {
            Ok(found) => return self.reconcile(client, physical, found.table()).await,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => return Err(format!("describing table {physical}: {}", crate::store::describe(&e))),
        }
        let mut create = client
            .create_table()
            .table_name(physical)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(key_schema(self.hash, self.range)?));
        if stream {
            create = create.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        for name in self.key_attributes() {
            create = create.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        for ix in self.indexes {
            create = create.global_secondary_indexes(ix.declared()?);
        }
        create.send().await.map_err(|e| format!("creating table {physical}: {}", crate::store::describe(&e)))?;
        if let Some(ttl) = self.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(physical)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(ttl)
                        .enabled(true)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .send()
                .await
                .map_err(|e| format!("enabling TTL on {physical}: {}", crate::store::describe(&e)))?;
        }
        info!(table = physical, "created table");
        Ok(Vec::new())
    }
}
