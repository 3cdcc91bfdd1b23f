//! `POST /mcp`: the operations as MCP tools (stub: issue 11 adds the rmcp server).

use actix_web::web;

/// The routes of `/mcp` (relative to it; `api::mcp` mounts them behind the rate limits).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
