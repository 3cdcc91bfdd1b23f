//! The `list-provider-models` tool's answer on failure: the REST API's body for a refused
//! listing, whose `error.code` is the check taxonomy's (`timeout`, `blocked_address`, …),
//! or any other operation error as every tool reports it.

use rmcp::{
    ErrorData,
    handler::server::tool::IntoCallToolResult,
    model::{CallToolResponse, CallToolResult, ContentBlock},
};

use super::tools::ToolError;
use crate::{api::providers::listing_error, ops::OpError};

/// A refused listing, as a tool error.
pub enum ListingError {
    /// A failed listing: status and the REST body.
    Failed(u16, serde_json::Value),
    /// Anything else.
    Other(ToolError),
}

impl From<OpError> for ListingError {
    fn from(e: OpError) -> Self {
        match listing_error(e) {
            Ok((status, mut body)) => {
                body["error"]["status"] = status.into();
                ListingError::Failed(status, body)
            }
            Err(other) => ListingError::Other(ToolError::from_app(other)),
        }
    }
}

impl IntoCallToolResult for ListingError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, ErrorData> {
        match self {
            ListingError::Failed(_, body) => {
                Ok(CallToolResult::error(vec![ContentBlock::text(body.to_string())]).into())
            }
            ListingError::Other(e) => e.into_call_tool_result(),
        }
    }
}
