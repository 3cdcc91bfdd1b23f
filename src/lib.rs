//! Switchboard: the settings console where an organisation chooses the LLM provider
//! behind its AI features. `main.rs` is a thin CLI over this library.

pub mod api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod jobs;
pub mod markdown;
pub mod mcp;
pub mod metrics;
pub mod models;
pub mod ops;
pub mod prompts;
pub mod providers;
pub mod relay;
pub mod routing;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;
