//! The one integration test binary: every integration test is a module here, so the suite
//! links once.

mod api;
mod backup;
mod balancer;
mod browser;
mod browser_audit;
pub(crate) mod browser_confirm;
mod browser_feature_routes;
mod browser_forms;
mod browser_headers;
mod browser_health;
mod browser_interaction;
mod browser_invitations;
mod browser_layout;
mod browser_routing;
mod browser_tokens;
mod canary;
pub(crate) mod console;
mod floors;
mod forms;
mod health;
mod helpers;
mod keys;
mod models;
mod ops;
pub mod provider_ops;
mod providers;
mod relay;
mod routing;
