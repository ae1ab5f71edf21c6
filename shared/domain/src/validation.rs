//! Parsing of submitted actions: every field of the contract's Action schema and every
//! platform-specific `data` schema, with errors that name the field path.
//!
//! "Parse, don't validate": the output is a [`NewAction`] with an [`Operation`] that the
//! platform clients trust. Pure; must not import any adapter crate.

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::model::{ActionType, Platform, Priority, RetryConfig};

/// The longest id, correlation id or tag accepted.
const MAX_ID_LEN: usize = 128;
const MAX_TAGS: usize = 50;
/// SQS can hold a message back for at most 12 hours; no delay may exceed it.
pub const MAX_DELAY_MS: u64 = 12 * 60 * 60 * 1000;
/// Lambda's own ceiling on one invocation.
pub const MAX_TIMEOUT_MS: u64 = 15 * 60 * 1000;

/// A platform operation: what `(platform, type, data)` resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    NotionCreatePage,
    NotionUpdatePage,
    NotionArchivePage,
    NotionQueryDatabase,
    TrelloCreateCard,
    TrelloUpdateCard,
    TrelloMoveCard,
    TrelloDeleteCard,
    TrelloBulkDelete,
    TrelloListCards,
    SlackPostMessage,
    SlackUpdateMessage,
    SlackDeleteMessage,
    SlackApprovalRequest,
    DriveUpload,
    DriveSetPermissions,
    DriveDeleteFile,
    DriveListFiles,
    SheetsAppend,
    SheetsUpdate,
    SheetsRead,
    SheetsClear,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::NotionCreatePage => "create_page",
            Operation::NotionUpdatePage => "update_page",
            Operation::NotionArchivePage => "archive_page",
            Operation::NotionQueryDatabase => "query_database",
            Operation::TrelloCreateCard => "create_card",
            Operation::TrelloUpdateCard => "update_card",
            Operation::TrelloMoveCard => "move_card",
            Operation::TrelloDeleteCard => "delete_card",
            Operation::TrelloBulkDelete => "bulk_delete",
            Operation::TrelloListCards => "list_cards",
            Operation::SlackPostMessage => "post_message",
            Operation::SlackUpdateMessage => "update_message",
            Operation::SlackDeleteMessage => "delete_message",
            Operation::SlackApprovalRequest => "approval_request",
            Operation::DriveUpload => "upload",
            Operation::DriveSetPermissions => "set_permissions",
            Operation::DriveDeleteFile => "delete_file",
            Operation::DriveListFiles => "list_files",
            Operation::SheetsAppend => "append",
            Operation::SheetsUpdate => "update",
            Operation::SheetsRead => "read",
            Operation::SheetsClear => "clear",
        }
    }

    /// The operations of a platform, as `data.operation` may name them.
    fn of_platform(platform: Platform) -> &'static [Operation] {
        use Operation::*;
        match platform {
            Platform::Notion => &[NotionCreatePage, NotionUpdatePage, NotionArchivePage, NotionQueryDatabase],
            Platform::Trello => &[
                TrelloCreateCard,
                TrelloUpdateCard,
                TrelloMoveCard,
                TrelloDeleteCard,
                TrelloBulkDelete,
                TrelloListCards,
            ],
            Platform::Slack => &[SlackPostMessage, SlackUpdateMessage, SlackDeleteMessage, SlackApprovalRequest],
            Platform::Drive => &[DriveUpload, DriveSetPermissions, DriveDeleteFile, DriveListFiles],
            Platform::Sheets => &[SheetsAppend, SheetsUpdate, SheetsRead, SheetsClear],
        }
    }

    /// The operation a type means on a platform when `data.operation` does not say.
    fn default_for(platform: Platform, action_type: ActionType, data: &Value) -> Option<Operation> {
        use ActionType as T;
        use Operation::*;
        let has = |key: &str| data.get(key).is_some();
        match (platform, action_type) {
            (Platform::Notion, T::Create | T::Log) => Some(NotionCreatePage),
            (Platform::Notion, T::Update) => Some(NotionUpdatePage),
            (Platform::Notion, T::Delete) => Some(NotionArchivePage),
            (Platform::Notion, T::Query) => Some(NotionQueryDatabase),
            (Platform::Trello, T::Create) => Some(TrelloCreateCard),
            (Platform::Trello, T::Update) if has("listId") && !has("name") && !has("desc") => Some(TrelloMoveCard),
            (Platform::Trello, T::Update) => Some(TrelloUpdateCard),
            (Platform::Trello, T::Delete) if has("cardIds") => Some(TrelloBulkDelete),
            (Platform::Trello, T::Delete) => Some(TrelloDeleteCard),
            (Platform::Trello, T::Query) => Some(TrelloListCards),
            (Platform::Slack, T::Notify | T::Create | T::Log) => Some(SlackPostMessage),
            (Platform::Slack, T::Update) => Some(SlackUpdateMessage),
            (Platform::Slack, T::Delete) => Some(SlackDeleteMessage),
            (Platform::Slack, T::Approve) => Some(SlackApprovalRequest),
            (Platform::Drive, T::File | T::Create) => Some(DriveUpload),
            (Platform::Drive, T::Update) => Some(DriveSetPermissions),
            (Platform::Drive, T::Delete) => Some(DriveDeleteFile),
            (Platform::Drive, T::Query) => Some(DriveListFiles),
            (Platform::Sheets, T::Log | T::Create) => Some(SheetsAppend),
            (Platform::Sheets, T::Update) => Some(SheetsUpdate),
            (Platform::Sheets, T::Query) => Some(SheetsRead),
            (Platform::Sheets, T::Delete) => Some(SheetsClear),
            _ => None,
        }
    }

    /// The operation an action performs: `data.operation` when given, else the type's default.
    pub fn resolve(platform: Platform, action_type: ActionType, data: &Value) -> Result<Operation, FieldError> {
        if let Some(named) = data.get("operation") {
            let ops = Self::of_platform(platform);
            let allowed = || ops.iter().map(|o| o.name()).collect::<Vec<_>>().join(", ");
            let Some(name) = named.as_str() else {
                return Err(FieldError::new("data.operation", format!("must be a string, one of {}", allowed())));
            };
            return ops.iter().copied().find(|o| o.name() == name).ok_or_else(|| {
                FieldError::new(
                    "data.operation",
                    format!("'{name}' is not an operation of {platform}; allowed: {}", allowed()),
                )
            });
        }
        Self::default_for(platform, action_type, data).ok_or_else(|| {
            let supported: Vec<&str> = ActionType::ALL
                .iter()
                .filter(|t| Self::default_for(platform, **t, &Value::Null).is_some())
                .map(|t| t.as_str())
                .collect();
            FieldError::new(
                "type",
                format!("'{action_type}' is not supported on {platform}; supported: {}", supported.join(", ")),
            )
        })
    }
}

/// A submitted action after parsing: every field known good, the operation resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    pub id: Option<String>,
    pub action_type: ActionType,
    pub platform: Platform,
    pub priority: Priority,
    pub requires_approval: bool,
    pub data: Value,
    pub operation: Operation,
    pub correlation_id: Option<String>,
    pub user_id: Option<String>,
    pub source: Option<String>,
    pub timeout: Option<u64>,
    pub retry_config: Option<RetryConfig>,
    pub tags: Vec<String>,
    pub dry_run: bool,
    pub fallback: Option<Value>,
    /// Set by the executor when it queues this action as another's fallback.
    pub fallback_of: Option<String>,
    pub workflow_id: Option<String>,
    pub step: Option<String>,
}

/// `POST /api/actions` and the `action:ready` event: `{action, context?, correlationId?}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub action: NewAction,
    pub context: Option<Value>,
}

const ACTION_FIELDS: &[&str] = &[
    "id",
    "type",
    "platform",
    "priority",
    "requiresApproval",
    "data",
    "correlationId",
    "userId",
    "source",
    "timeout",
    "retryConfig",
    "tags",
    "dryRun",
    "fallback",
    "workflowId",
    "step",
    "metadata",
];

/// Collects field errors under a path prefix.
struct Checker<'a> {
    errors: &'a mut Vec<FieldError>,
    prefix: String,
}

impl<'a> Checker<'a> {
    fn at(&self, key: &str) -> String {
        if self.prefix.is_empty() { key.to_owned() } else { format!("{}.{key}", self.prefix) }
    }

    fn err(&mut self, key: &str, reason: impl Into<String>) {
        let field = self.at(key);
        self.errors.push(FieldError::new(field, reason));
    }

    fn object<'v>(&mut self, value: Option<&'v Value>, key: &str) -> Option<&'v Map<String, Value>> {
        match value {
            None | Some(Value::Null) => {
                self.err(key, "required");
                None
            }
            Some(Value::Object(map)) => Some(map),
            Some(other) => {
                self.err(key, format!("must be an object, got {}", kind(other)));
                None
            }
        }
    }

    fn req_str<'v>(&mut self, obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.err(key, "required");
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.err(key, "must not be empty");
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.err(key, format!("must be a string, got {}", kind(other)));
                None
            }
        }
    }

    fn opt_str<'v>(&mut self, obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(_) => self.req_str(obj, key),
        }
    }

    fn opt_id(&mut self, obj: &Map<String, Value>, key: &str) -> Option<String> {
        let s = self.opt_str(obj, key)?;
        if s.len() > MAX_ID_LEN {
            self.err(key, format!("must be at most {MAX_ID_LEN} characters"));
            return None;
        }
        Some(s.to_owned())
    }

    fn opt_bool(&mut self, obj: &Map<String, Value>, key: &str) -> bool {
        match obj.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.err(key, format!("must be a boolean, got {}", kind(other)));
                false
            }
        }
    }

    fn str_array(&mut self, obj: &Map<String, Value>, key: &str, required: bool) -> Option<Vec<String>> {
        match obj.get(key) {
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                self.err(key, "required");
                None
            }
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) if !s.trim().is_empty() => out.push(s.clone()),
                        Value::String(_) => self.err(&format!("{key}[{i}]"), "must not be empty"),
                        other => self.err(&format!("{key}[{i}]"), format!("must be a string, got {}", kind(other))),
                    }
                }
                if required && items.is_empty() {
                    self.err(key, "must not be empty");
                }
                Some(out)
            }
            Some(other) => {
                self.err(key, format!("must be an array of strings, got {}", kind(other)));
                None
            }
        }
    }

    fn opt_object(&mut self, obj: &Map<String, Value>, key: &str) {
        match obj.get(key) {
            None | Some(Value::Null) | Some(Value::Object(_)) => {}
            Some(other) => self.err(key, format!("must be an object, got {}", kind(other))),
        }
    }

    fn req_object(&mut self, obj: &Map<String, Value>, key: &str) {
        self.object(obj.get(key), key);
    }

    fn opt_timestamp(&mut self, obj: &Map<String, Value>, key: &str) {
        if let Some(s) = self.opt_str(obj, key)
            && !is_iso8601(s)
        {
            self.err(key, "must be an ISO 8601 date or timestamp");
        }
    }

    fn req_u64(&mut self, obj: &Map<String, Value>, key: &str, min: u64, max: u64) -> Option<u64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if (min..=max).contains(&v) => Some(v),
                _ => {
                    self.err(key, format!("must be a whole number from {min} to {max}"));
                    None
                }
            },
            Some(other) => {
                self.err(key, format!("must be a number, got {}", kind(other)));
                None
            }
        }
    }

    fn req_enum<T: Copy>(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        parse: fn(&str) -> Option<T>,
        allowed: String,
    ) -> Option<T> {
        let text = self.req_str(obj, key)?;
        let parsed = parse(text);
        if parsed.is_none() {
            self.err(key, format!("'{text}' is not allowed; allowed: {allowed}"));
        }
        parsed
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// RFC 3339 timestamps and plain `YYYY-MM-DD` dates.
pub fn is_iso8601(s: &str) -> bool {
    DateTime::parse_from_rfc3339(s).is_ok() || NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn valid_id_chars(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// Parses the body of `POST /api/actions` (the `action:ready` payload).
pub fn parse_submission(body: &Value) -> Result<Submission, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut root = Checker { errors: &mut errors, prefix: String::new() };
    let Some(obj) = root.object(Some(body), "body").cloned() else {
        return Err(vec![FieldError::new("body", "must be a JSON object {\"action\": {...}}")]);
    };
    let top_correlation = root.opt_id(&obj, "correlationId");
    let context = obj.get("context").filter(|v| !v.is_null()).cloned();
    let action = match obj.get("action") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new("action", "required"));
            None
        }
        Some(v) => match parse_action(v, "action") {
            Ok(a) => Some(a),
            Err(mut e) => {
                errors.append(&mut e);
                None
            }
        },
    };
    match action {
        Some(mut action) if errors.is_empty() => {
            if action.correlation_id.is_none() {
                action.correlation_id = top_correlation;
            }
            Ok(Submission { action, context })
        }
        _ => Err(errors),
    }
}

/// The events the ingress (SQS queue or `POST /api/events`) knows.
pub const INGRESS_EVENTS: &[&str] = &["action:ready", "action:requires_approval", "workflow:ready", "feedback"];

/// A parsed ingress message.
#[derive(Debug, Clone, PartialEq)]
pub enum Ingress {
    ActionReady(Submission),
}

impl Ingress {
    pub fn event(&self) -> &'static str {
        match self {
            Ingress::ActionReady(_) => "action:ready",
        }
    }
}

/// Parses the ingress envelope `{"event": ..., "data": {...}}`; paths are from its root.
pub fn parse_ingress(body: &Value) -> Result<Ingress, Vec<FieldError>> {
    let Value::Object(obj) = body else {
        return Err(vec![FieldError::new("body", "must be a JSON object {\"event\": ..., \"data\": {...}}")]);
    };
    let event = match obj.get("event") {
        Some(Value::String(e)) => e.as_str(),
        None | Some(Value::Null) => return Err(vec![FieldError::new("event", "required")]),
        Some(_) => return Err(vec![FieldError::new("event", "must be a string")]),
    };
    let data = obj.get("data").unwrap_or(&Value::Null);
    let prefixed = |errors: Vec<FieldError>| -> Vec<FieldError> {
        errors.into_iter().map(|e| FieldError::new(format!("data.{}", e.field), e.reason)).collect()
    };
    match event {
        "action:ready" => match data {
            Value::Object(_) => parse_submission(data).map(Ingress::ActionReady).map_err(prefixed),
            Value::Null => Err(vec![FieldError::new("data", "required")]),
            _ => Err(vec![FieldError::new("data", "must be an object")]),
        },
        known if INGRESS_EVENTS.contains(&known) => Err(vec![FieldError::new(
            "event",
            format!("'{known}' is not available in this Baton version; available: action:ready"),
        )]),
        other => Err(vec![FieldError::new(
            "event",
            format!("unknown event '{other}'; allowed: {}", INGRESS_EVENTS.join(", ")),
        )]),
    }
}

/// Parses one Action object found at `path` (e.g. `action`, `steps[2].action`).
pub fn parse_action(value: &Value, path: &str) -> Result<NewAction, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Value::Object(obj) = value else {
        return Err(vec![FieldError::new(path, format!("must be an object, got {}", kind(value)))]);
    };
    let mut c = Checker { errors: &mut errors, prefix: path.to_owned() };

    for key in obj.keys() {
        if !ACTION_FIELDS.contains(&key.as_str()) {
            c.err(key, format!("unknown field; allowed: {}", ACTION_FIELDS.join(", ")));
        }
    }
    let id = c.opt_id(obj, "id");
    if let Some(id) = &id
        && !valid_id_chars(id)
    {
        c.err("id", "may contain only letters, digits and - _ . :");
    }
    let action_type = c.req_enum(obj, "type", ActionType::parse, ActionType::allowed());
    let platform = c.req_enum(obj, "platform", Platform::parse, Platform::allowed());
    let priority = c.req_enum(obj, "priority", Priority::parse, Priority::allowed());
    let requires_approval = c.opt_bool(obj, "requiresApproval");
    let correlation_id = c.opt_id(obj, "correlationId");
    let user_id = c.opt_id(obj, "userId");
    let source = c.opt_id(obj, "source");
    let workflow_id = c.opt_id(obj, "workflowId");
    let step = c.opt_id(obj, "step");
    let timeout = c.req_u64(obj, "timeout", 1, MAX_TIMEOUT_MS);
    let dry_run = c.opt_bool(obj, "dryRun");
    let tags = c.str_array(obj, "tags", false).unwrap_or_default();
    if tags.len() > MAX_TAGS {
        c.err("tags", format!("at most {MAX_TAGS} tags"));
    }
    if tags.iter().any(|t| t.len() > MAX_ID_LEN) {
        c.err("tags", format!("each tag must be at most {MAX_ID_LEN} characters"));
    }
    let retry_config = parse_retry_config(obj.get("retryConfig"), &mut c);
    let fallback = match obj.get("fallback") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let path = c.at("fallback");
            if let Err(mut e) = parse_action(v, &path) {
                c.errors.append(&mut e);
            }
            Some(v.clone())
        }
    };
    let data = c.object(obj.get("data"), "data").cloned();

    let (Some(action_type), Some(platform), Some(priority), Some(data)) = (action_type, platform, priority, data)
    else {
        return Err(errors);
    };
    let data = Value::Object(data);
    let operation = match Operation::resolve(platform, action_type, &data) {
        Ok(op) => op,
        Err(e) => {
            errors.push(FieldError::new(format!("{path}.{}", e.field), e.reason));
            return Err(errors);
        }
    };
    validate_data(operation, &data, &format!("{path}.data"), &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewAction {
        id,
        action_type,
        platform,
        priority,
        requires_approval,
        data,
        operation,
        correlation_id,
        user_id,
        source,
        timeout,
        retry_config,
        tags,
        dry_run,
        fallback,
        fallback_of: None,
        workflow_id,
        step,
    })
}

fn parse_retry_config(value: Option<&Value>, c: &mut Checker<'_>) -> Option<RetryConfig> {
    let obj = match value {
        None | Some(Value::Null) => return None,
        Some(v) => c.object(Some(v), "retryConfig")?,
    };
    let prefix = c.at("retryConfig");
    let mut rc = Checker { errors: c.errors, prefix };
    for key in obj.keys() {
        if !["maxRetries", "initialDelay", "backoffMultiplier", "maxDelay"].contains(&key.as_str()) {
            rc.err(key, "unknown field; allowed: maxRetries, initialDelay, backoffMultiplier, maxDelay");
        }
    }
    let defaults = RetryConfig::default();
    let max_retries = rc.req_u64(obj, "maxRetries", 0, 20).map(|v| v as u32);
    let initial_delay = rc.req_u64(obj, "initialDelay", 0, MAX_DELAY_MS);
    let max_delay = rc.req_u64(obj, "maxDelay", 0, MAX_DELAY_MS);
    let backoff_multiplier = match obj.get("backoffMultiplier") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(m) if (1.0..=10.0).contains(&m) => Some(m),
            _ => {
                rc.err("backoffMultiplier", "must be a number from 1 to 10");
                None
            }
        },
    };
    let config = RetryConfig {
        max_retries: max_retries.unwrap_or(defaults.max_retries),
        initial_delay: initial_delay.unwrap_or(defaults.initial_delay),
        backoff_multiplier: backoff_multiplier.unwrap_or(defaults.backoff_multiplier),
        max_delay: max_delay.unwrap_or(defaults.max_delay.max(initial_delay.unwrap_or(0))),
    };
    if config.max_delay < config.initial_delay {
        rc.err("maxDelay", "must not be less than initialDelay");
    }
    Some(config)
}

/// Checks `data` against the schema of `op`; errors are pushed with paths under `path`.
pub fn validate_data(op: Operation, data: &Value, path: &str, errors: &mut Vec<FieldError>) {
    use Operation::*;
    let Value::Object(d) = data else {
        errors.push(FieldError::new(path, "must be an object"));
        return;
    };
    let mut c = Checker { errors, prefix: path.to_owned() };
    match op {
        NotionCreatePage => {
            c.req_str(d, "database_id");
            c.req_str(d, "title");
            c.opt_object(d, "properties");
        }
        NotionUpdatePage => {
            c.req_str(d, "page_id");
            c.req_object(d, "properties");
        }
        NotionArchivePage => {
            c.req_str(d, "page_id");
        }
        NotionQueryDatabase => {
            c.req_str(d, "database_id");
            c.opt_object(d, "filter");
            if let Some(s) = d.get("sorts")
                && !s.is_array()
            {
                c.err("sorts", "must be an array");
            }
        }
        TrelloCreateCard => {
            c.req_str(d, "name");
            c.req_str(d, "listId");
            c.opt_str(d, "desc");
            c.str_array(d, "labels", false);
            c.str_array(d, "members", false);
            c.opt_timestamp(d, "due");
        }
        TrelloUpdateCard => {
            c.req_str(d, "cardId");
            c.opt_str(d, "name");
            c.opt_str(d, "listId");
            c.opt_str(d, "desc");
            c.str_array(d, "labels", false);
            c.str_array(d, "members", false);
            c.opt_timestamp(d, "due");
        }
        TrelloMoveCard => {
            c.req_str(d, "cardId");
            c.req_str(d, "listId");
        }
        TrelloDeleteCard => {
            c.req_str(d, "cardId");
        }
        TrelloBulkDelete => {
            c.str_array(d, "cardIds", true);
        }
        TrelloListCards => {
            c.req_str(d, "listId");
        }
        SlackPostMessage => {
            c.req_str(d, "channel");
            c.req_str(d, "text");
            if let Some(b) = d.get("blocks")
                && !b.is_array()
            {
                c.err("blocks", "must be an array of Block Kit blocks");
            }
            c.opt_str(d, "thread_ts");
        }
        SlackUpdateMessage => {
            c.req_str(d, "channel");
            c.req_str(d, "ts");
            c.req_str(d, "text");
        }
        SlackDeleteMessage => {
            c.req_str(d, "channel");
            c.req_str(d, "ts");
        }
        SlackApprovalRequest => {
            c.req_str(d, "channel");
            c.req_str(d, "reason");
            match d.get("action") {
                None | Some(Value::Null) => c.err("action", "required"),
                Some(inner) => {
                    // The action to approve may omit lifecycle fields; it must still make sense.
                    let inner_path = c.at("action");
                    if let Err(mut e) = parse_action(inner, &inner_path) {
                        c.errors.append(&mut e);
                    }
                }
            }
        }
        DriveUpload => {
            c.req_str(d, "name");
            match d.get("content") {
                Some(Value::String(_)) => {}
                None | Some(Value::Null) => c.err("content", "required"),
                Some(other) => c.err("content", format!("must be a string (text or base64), got {}", kind(other))),
            }
            c.req_str(d, "mimeType");
            c.opt_str(d, "folderId");
            if let Some(e) = c.opt_str(d, "encoding")
                && !["text", "base64"].contains(&e)
            {
                c.err("encoding", format!("'{e}' is not allowed; allowed: text, base64"));
            }
            validate_permissions(d, &mut c, false);
        }
        DriveSetPermissions => {
            c.req_str(d, "fileId");
            validate_permissions(d, &mut c, true);
        }
        DriveDeleteFile => {
            c.req_str(d, "fileId");
        }
        DriveListFiles => {
            c.opt_str(d, "folderId");
            c.opt_str(d, "q");
        }
        SheetsAppend => {
            c.req_str(d, "spreadsheetId");
            c.req_str(d, "range");
            validate_rows(d, &mut c);
        }
        SheetsUpdate => {
            c.req_str(d, "spreadsheetId");
            c.req_str(d, "range");
            match (d.get("value"), d.get("values")) {
                (Some(Value::String(_) | Value::Number(_) | Value::Bool(_)), None) => {}
                (None, Some(_)) => validate_rows(d, &mut c),
                (Some(_), Some(_)) => c.err("value", "give either value or values, not both"),
                (None | Some(Value::Null), None) => c.err("value", "required (or values)"),
                (Some(other), None) => c.err("value", format!("must be a string or a number, got {}", kind(other))),
            }
        }
        SheetsRead | SheetsClear => {
            c.req_str(d, "spreadsheetId");
            c.req_str(d, "range");
        }
    }
}

fn validate_rows(d: &Map<String, Value>, c: &mut Checker<'_>) {
    match d.get("values") {
        None | Some(Value::Null) => c.err("values", "required"),
        Some(Value::Array(rows)) if rows.is_empty() => c.err("values", "must have at least one row"),
        Some(Value::Array(rows)) => {
            for (i, row) in rows.iter().enumerate() {
                match row {
                    Value::Array(cells) => {
                        for (j, cell) in cells.iter().enumerate() {
                            if cell.is_object() || cell.is_array() {
                                c.err(&format!("values[{i}][{j}]"), "must be a string, number, boolean or null");
                            }
                        }
                    }
                    other => c.err(&format!("values[{i}]"), format!("must be an array (a row), got {}", kind(other))),
                }
            }
        }
        Some(other) => c.err("values", format!("must be an array of rows, got {}", kind(other))),
    }
}

fn validate_permissions(d: &Map<String, Value>, c: &mut Checker<'_>, required: bool) {
    const TYPES: &[&str] = &["user", "group", "domain", "anyone"];
    const ROLES: &[&str] = &["owner", "writer", "commenter", "reader"];
    let perms = match d.get("permissions") {
        None | Some(Value::Null) if !required => return,
        None | Some(Value::Null) => return c.err("permissions", "required"),
        Some(Value::Array(p)) => p,
        Some(other) => return c.err("permissions", format!("must be an array, got {}", kind(other))),
    };
    if required && perms.is_empty() {
        c.err("permissions", "must not be empty");
    }
    for (i, p) in perms.iter().enumerate() {
        let key = format!("permissions[{i}]");
        let Value::Object(p) = p else {
            c.err(&key, "must be an object");
            continue;
        };
        let prefix = c.at(&key);
        let mut pc = Checker { errors: c.errors, prefix };
        let ty = pc.req_str(p, "type");
        if let Some(ty) = ty
            && !TYPES.contains(&ty)
        {
            pc.err("type", format!("'{ty}' is not allowed; allowed: {}", TYPES.join(", ")));
        }
        if let Some(role) = pc.req_str(p, "role")
            && !ROLES.contains(&role)
        {
            pc.err("role", format!("'{role}' is not allowed; allowed: {}", ROLES.join(", ")));
        }
        let email = pc.opt_str(p, "emailAddress");
        if matches!(ty, Some("user" | "group")) && email.is_none() && !p.contains_key("emailAddress") {
            pc.err("emailAddress", "required for type user or group");
        }
        if ty == Some("domain") {
            pc.req_str(p, "domain");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn submit(action: Value) -> Result<Submission, Vec<FieldError>> {
        parse_submission(&json!({ "action": action }))
    }

    fn errors_of(action: Value) -> Vec<String> {
        submit(action).expect_err("should be invalid").iter().map(|e| e.to_string()).collect()
    }

    fn action(platform: &str, ty: &str, data: Value) -> Value {
        json!({"type": ty, "platform": platform, "priority": "normal", "data": data})
    }

    fn fixtures() -> Value {
        serde_json::from_str(include_str!("../../../../shared/fixtures/contract-examples.json")).expect("fixture json")
    }

    #[test]
    fn the_contract_action_ready_example_parses() {
        let sub = parse_submission(&fixtures()["action_ready"]).expect("valid");
        assert_eq!(sub.action.operation, Operation::NotionCreatePage);
        assert_eq!(sub.action.id.as_deref(), Some("action-notion-001"));
        assert_eq!(sub.action.correlation_id.as_deref(), Some("email-123"));
        assert!(sub.context.is_some());
    }

    #[test]
    fn every_platform_data_example_of_the_contract_is_valid() {
        let f = fixtures();
        let cases = [
            ("notion", "update", "notion_update", Operation::NotionUpdatePage),
            ("trello", "create", "trello_create", Operation::TrelloCreateCard),
            ("trello", "update", "trello_move", Operation::TrelloMoveCard),
            ("slack", "notify", "slack_notify", Operation::SlackPostMessage),
            ("slack", "approve", "slack_approval", Operation::SlackApprovalRequest),
            ("drive", "file", "drive_upload", Operation::DriveUpload),
            ("sheets", "log", "sheets_append", Operation::SheetsAppend),
            ("sheets", "update", "sheets_update", Operation::SheetsUpdate),
        ];
        for (platform, ty, key, op) in cases {
            let data = f["platform_data"][key].clone();
            let sub = submit(action(platform, ty, data)).unwrap_or_else(|e| panic!("{key}: {e:?}"));
            assert_eq!(sub.action.operation, op, "{key}");
        }
        let bulk = f["action_requires_approval"]["action"].clone();
        assert_eq!(submit(bulk).expect("bulk delete").action.operation, Operation::TrelloBulkDelete);
        for step in f["workflow_ready"]["steps"].as_array().expect("steps") {
            submit(step["action"].clone()).unwrap_or_else(|e| panic!("{}: {e:?}", step["name"]));
        }
    }

    #[test]
    fn a_missing_required_data_field_is_named_by_path() {
        let errs = errors_of(action("notion", "create", json!({"title": "x"})));
        assert_eq!(errs, ["action.data.database_id: required"]);
    }

    #[test]
    fn unknown_enum_values_list_the_allowed_ones() {
        let mut a = action("slack", "notify", json!({"channel": "#a", "text": "t"}));
        a["priority"] = json!("urgent");
        a["platform"] = json!("jira");
        let errs = errors_of(a);
        assert!(
            errs.contains(
                &"action.platform: 'jira' is not allowed; allowed: notion, trello, slack, drive, sheets".into()
            )
        );
        assert!(
            errs.contains(&"action.priority: 'urgent' is not allowed; allowed: critical, high, normal, low".into())
        );
        let mut a = action("slack", "notify", json!({}));
        a["type"] = json!("explode");
        assert!(errors_of(a)[0].starts_with("action.type: 'explode' is not allowed; allowed: create, update"));
    }

    #[test]
    fn each_schema_rejects_its_failure_modes() {
        let cases: Vec<(Value, &str)> = vec![
            (action("notion", "update", json!({"page_id": "p"})), "action.data.properties: required"),
            (
                action("notion", "create", json!({"database_id": 7, "title": "t"})),
                "action.data.database_id: must be a string, got a number",
            ),
            (
                action("trello", "create", json!({"name": "n", "listId": "l", "due": "next tuesday"})),
                "action.data.due: must be an ISO 8601 date or timestamp",
            ),
            (
                action("trello", "create", json!({"name": "n", "listId": "l", "labels": ["ok", 3]})),
                "action.data.labels[1]: must be a string, got a number",
            ),
            (action("trello", "update", json!({"listId": "l"})), "action.data.cardId: required"),
            (action("trello", "delete", json!({"cardIds": []})), "action.data.cardIds: must not be empty"),
            (action("slack", "notify", json!({"channel": "#a"})), "action.data.text: required"),
            (action("slack", "notify", json!({"channel": "", "text": "t"})), "action.data.channel: must not be empty"),
            (
                action("slack", "notify", json!({"channel": "#a", "text": "t", "blocks": {}})),
                "action.data.blocks: must be an array of Block Kit blocks",
            ),
            (action("slack", "approve", json!({"channel": "#a", "reason": "r"})), "action.data.action: required"),
            (action("drive", "file", json!({"name": "n", "mimeType": "text/plain"})), "action.data.content: required"),
            (
                action(
                    "drive",
                    "file",
                    json!({"name": "n", "content": "c", "mimeType": "m", "permissions": [{"type": "robot", "role": "reader"}]}),
                ),
                "action.data.permissions[0].type: 'robot' is not allowed; allowed: user, group, domain, anyone",
            ),
            (
                action(
                    "drive",
                    "file",
                    json!({"name": "n", "content": "c", "mimeType": "m", "permissions": [{"type": "user", "role": "reader"}]}),
                ),
                "action.data.permissions[0].emailAddress: required for type user or group",
            ),
            (
                action("sheets", "log", json!({"spreadsheetId": "s", "range": "A:E", "values": ["flat"]})),
                "action.data.values[0]: must be an array (a row), got a string",
            ),
            (
                action("sheets", "update", json!({"spreadsheetId": "s", "range": "A1"})),
                "action.data.value: required (or values)",
            ),
            (
                action("sheets", "update", json!({"spreadsheetId": "s", "range": "A1", "value": {"a": 1}})),
                "action.data.value: must be a string or a number, got an object",
            ),
            (
                action("notion", "notify", json!({})),
                "action.type: 'notify' is not supported on notion; supported: create, update, delete, log, query",
            ),
            (
                action("slack", "notify", json!({"operation": "shout", "channel": "#a", "text": "t"})),
                "action.data.operation: 'shout' is not an operation of slack; allowed: post_message, update_message, delete_message, approval_request",
            ),
        ];
        for (a, expected) in cases {
            let errs = errors_of(a.clone());
            assert!(errs.contains(&expected.to_owned()), "{a}\n expected {expected}\n got {errs:?}");
        }
    }

    #[test]
    fn action_level_fields_are_checked() {
        let mut a = action("slack", "notify", json!({"channel": "#a", "text": "t"}));
        a["timeout"] = json!(0);
        a["retryConfig"] = json!({"maxRetries": -1, "initialDelay": 5000, "maxDelay": 10});
        a["tags"] = json!("urgent");
        a["requiresApproval"] = json!("yes");
        a["priorty"] = json!("high");
        a["id"] = json!("has spaces");
        let errs = errors_of(a);
        for expected in [
            "action.timeout: must be a whole number from 1 to 900000",
            "action.retryConfig.maxRetries: must be a whole number from 0 to 20",
            "action.retryConfig.maxDelay: must not be less than initialDelay",
            "action.tags: must be an array of strings, got a string",
            "action.requiresApproval: must be a boolean, got a string",
            "action.id: may contain only letters, digits and - _ . :",
        ] {
            assert!(errs.contains(&expected.to_owned()), "missing {expected} in {errs:?}");
        }
        assert!(errs.iter().any(|e| e.starts_with("action.priorty: unknown field")));
    }

    #[test]
    fn a_partial_retry_config_keeps_the_other_defaults() {
        let mut a = action("slack", "notify", json!({"channel": "#a", "text": "t"}));
        a["retryConfig"] = json!({"maxRetries": 5});
        let rc = submit(a).expect("valid").action.retry_config.expect("given");
        assert_eq!(rc, RetryConfig { max_retries: 5, ..RetryConfig::default() });
    }

    #[test]
    fn the_body_must_be_an_object_with_an_action() {
        assert_eq!(parse_submission(&json!([1])).expect_err("array")[0].field, "body");
        assert_eq!(parse_submission(&json!({})).expect_err("empty")[0].to_string(), "action: required");
        assert_eq!(
            parse_submission(&json!({"action": "x"})).expect_err("string")[0].to_string(),
            "action: must be an object, got a string"
        );
    }

    #[test]
    fn a_fallback_is_validated_as_an_action() {
        let mut a = action("slack", "notify", json!({"channel": "#a", "text": "t"}));
        a["fallback"] = json!({"type": "create", "platform": "notion", "priority": "low", "data": {"title": "t"}});
        assert_eq!(errors_of(a), ["action.fallback.data.database_id: required"]);
    }
    #[test]
    fn the_ingress_envelope_routes_action_ready_and_names_fields_under_data() {
        let ok = parse_ingress(&json!({"event": "action:ready", "data": fixtures()["action_ready"]})).expect("valid");
        assert_eq!(ok.event(), "action:ready");
        let bad = parse_ingress(&json!({"event": "action:ready", "data": {"action": {"type": "create",
            "platform": "notion", "priority": "normal", "data": {"title": "t"}}}}))
        .expect_err("invalid");
        assert_eq!(bad[0].to_string(), "data.action.data.database_id: required");
        assert_eq!(parse_ingress(&json!({"event": "explode", "data": {}})).expect_err("unknown")[0].field, "event");
        assert_eq!(parse_ingress(&json!({"data": {}})).expect_err("missing")[0].to_string(), "event: required");
    }
}
