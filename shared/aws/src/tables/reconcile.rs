//! Bringing an existing table's indexes to its definition: the local runtime's upgrade path,
//! a database file kept from an earlier version. DynamoDB cannot change an index's keys or
//! projection in place, so such an index is deleted and created again (the embedded emulator
//! fills it from the items at once; on AWS the SAM template is the definition instead).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction,
    GlobalSecondaryIndexDescription, GlobalSecondaryIndexUpdate, KeyType, Projection, ScalarAttributeType,
    TableDescription,
};
use std::collections::HashMap;
use tracing::info;

use super::{IndexDef, TableDef, key_schema};
use crate::store::describe;

/// An index as DynamoDB describes it: hash key, range key, projection type, projected
/// attributes (sorted).
type Shape = (Option<String>, Option<String>, Option<String>, Vec<String>);

fn shape_of(keys: &[aws_sdk_dynamodb::types::KeySchemaElement], projection: Option<&Projection>) -> Shape {
    let named = |kind: KeyType| keys.iter().find(|k| *k.key_type() == kind).map(|k| k.attribute_name().to_owned());
    let mut extra: Vec<String> = projection.map(|p| p.non_key_attributes().to_vec()).unwrap_or_default();
    extra.sort();
    (
        named(KeyType::Hash),
        named(KeyType::Range),
        projection.and_then(|p| p.projection_type()).map(|t| t.as_str().to_owned()),
        extra,
    )
}

fn described(g: &GlobalSecondaryIndexDescription) -> Shape {
    shape_of(g.key_schema(), g.projection())
}

fn wanted(ix: &IndexDef) -> Result<Shape, String> {
    Ok(shape_of(&key_schema(ix.hash, ix.range)?, Some(&ix.projection())))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, String> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| e.to_string())
}

impl TableDef {
    /// Creates each index of the definition the table lacks, and re-creates each whose keys or
    /// projection differ; indexes the definition does not name are left alone. Returns the
    /// names of the indexes (re-)created, whose entries the caller may have to complete.
    pub(super) async fn reconcile(
        &self,
        client: &Client,
        physical: &str,
        found: Option<&TableDescription>,
    ) -> Result<Vec<&'static str>, String> {
        let existing: HashMap<&str, Shape> = found
            .map(TableDescription::global_secondary_indexes)
            .unwrap_or_default()
            .iter()
            .map(|g| (g.index_name().unwrap_or_default(), described(g)))
            .collect();
        let mut redone = Vec::new();
        for ix in self.indexes {
            let want = wanted(ix)?;
            match existing.get(ix.name) {
                Some(have) if *have == want => continue,
                Some(have) => {
                    info!(table = physical, index = ix.name, was = ?have, "re-creating an index whose definition changed");
                    let delete = DeleteGlobalSecondaryIndexAction::builder()
                        .index_name(ix.name)
                        .build()
                        .map_err(|e| e.to_string())?;
                    client
                        .update_table()
                        .table_name(physical)
                        .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().delete(delete).build())
                        .send()
                        .await
                        .map_err(|e| format!("deleting index {} of {physical}: {}", ix.name, describe(&e)))?;
                }
                None => info!(table = physical, index = ix.name, "creating a missing index"),
            }
            let create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(ix.name)
                .set_key_schema(Some(key_schema(ix.hash, ix.range)?))
                .projection(ix.projection())
                .build()
                .map_err(|e| e.to_string())?;
            let mut update = client
                .update_table()
                .table_name(physical)
                .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build());
            for name in std::iter::once(ix.hash).chain(ix.range) {
                update = update.attribute_definitions(string_attribute(name)?);
            }
            update.send().await.map_err(|e| format!("creating index {} of {physical}: {}", ix.name, describe(&e)))?;
            redone.push(ix.name);
        }
        Ok(redone)
    }
}
