//! The `list-provider-models` tool's answer on failure: the REST API's body for a refused
//! listing, whose `error.code` is the check taxonomy's (`timeout`, `blocked_address`, …),
//! or any other operation error as every tool reports it.

use rmcp::{
    ErrorData,
    handler::server::tool::IntoCallToolResult,
    model::{CallToolResponse, CallToolResult, ContentBlock},
};

use crate::{api::providers::listing_error, error::AppError, ops::OpError};

/// A refused listing, as a tool error.
pub enum ListingError {
    /// A failed listing: status and the REST body.
    Failed(u16, serde_json::Value),
    /// Anything else, answered as every tool answers it.
    Other(AppError),
}

impl From<OpError> for ListingError {
    fn from(e: OpError) -> Self {
        match listing_error(e) {
            Ok((status, mut body)) => {
                body["error"]["status"] = status.into();
                ListingError::Failed(status, body)
            }
            Err(other) => ListingError::Other(other),
        }
    }
}

impl From<AppError> for ListingError {
    fn from(e: AppError) -> Self {
        ListingError::Other(e)
    }
}

impl IntoCallToolResult for ListingError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, ErrorData> {
        match self {
            ListingError::Failed(_, body) => {
                Ok(CallToolResult::error(vec![ContentBlock::text(body.to_string())]).into())
            }
            ListingError::Other(error) => {
                if let AppError::Internal(cause) = &error {
                    tracing::error!(error = ?cause, "internal error in an MCP tool");
                }
                let body = serde_json::json!({ "error": {
                    "code": error.code(),
                    "status": actix_web::ResponseError::status_code(&error).as_u16(),
                    "message": error.public_message(),
                }});
                Ok(CallToolResult::error(vec![ContentBlock::text(body.to_string())]).into())
            }
        }
    }
}
