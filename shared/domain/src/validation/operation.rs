//! Platform operations: what `(platform, type, data)` resolves to.
//!
//! Pure; must not import any adapter crate.

use serde_json::Value;

use crate::error::FieldError;
use crate::model::{ActionType, Platform};

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
