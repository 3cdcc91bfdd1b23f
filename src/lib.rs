//! Switchboard: the settings console where an organisation chooses the LLM provider
//! behind its AI features. `main.rs` is a thin CLI over this library.

pub mod providers;
