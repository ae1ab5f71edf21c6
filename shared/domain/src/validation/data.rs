//! The platform `data` schemas of the contract, one arm per operation.
//!
//! Pure; must not import any adapter crate.

use serde_json::{Map, Value};

use super::checker::{Checker, kind};
use super::operation::Operation;
use super::parse_action;
use crate::error::FieldError;

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
            c.req_ref(d, "database_id");
            c.req_str(d, "title");
            c.opt_object(d, "properties");
        }
        NotionUpdatePage => {
            c.req_ref(d, "page_id");
            c.req_object(d, "properties");
        }
        NotionArchivePage => {
            c.req_ref(d, "page_id");
        }
        NotionQueryDatabase => {
            c.req_ref(d, "database_id");
            c.opt_object(d, "filter");
            if let Some(s) = d.get("sorts")
                && !s.is_array()
            {
                c.err("sorts", "must be an array");
            }
        }
        TrelloCreateCard => {
            c.req_str(d, "name");
            c.req_ref(d, "listId");
            c.opt_str(d, "desc");
            c.str_array(d, "labels", false);
            c.str_array(d, "members", false);
            c.opt_timestamp(d, "due");
        }
        TrelloUpdateCard => {
            c.req_ref(d, "cardId");
            c.opt_str(d, "name");
            c.opt_ref(d, "listId");
            c.opt_str(d, "desc");
            c.str_array(d, "labels", false);
            c.str_array(d, "members", false);
            c.opt_timestamp(d, "due");
        }
        TrelloMoveCard => {
            c.req_ref(d, "cardId");
            c.req_ref(d, "listId");
        }
        TrelloDeleteCard => {
            c.req_ref(d, "cardId");
        }
        TrelloBulkDelete => {
            c.ref_array(d, "cardIds");
        }
        TrelloListCards => {
            c.req_ref(d, "listId");
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
            c.opt_ref(d, "folderId");
            if let Some(e) = c.opt_str(d, "encoding")
                && !["text", "base64"].contains(&e)
            {
                c.err("encoding", format!("'{e}' is not allowed; allowed: text, base64"));
            }
            validate_permissions(d, &mut c, false);
        }
        DriveSetPermissions => {
            c.req_ref(d, "fileId");
            validate_permissions(d, &mut c, true);
        }
        DriveDeleteFile => {
            c.req_ref(d, "fileId");
        }
        DriveListFiles => {
            c.opt_ref(d, "folderId");
            c.opt_str(d, "q");
        }
        SheetsAppend => {
            c.req_ref(d, "spreadsheetId");
            c.req_str(d, "range");
            validate_rows(d, &mut c);
        }
        SheetsUpdate => {
            c.req_ref(d, "spreadsheetId");
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
            c.req_ref(d, "spreadsheetId");
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
