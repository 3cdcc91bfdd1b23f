//! Provider catalog, live connectivity checks per protocol, and the egress guard.
//!
//! Usable without the database: [`catalog`] says what each kind needs,
//! [`check::Checker`] runs a live check through [`egress::EgressPolicy`], and [`cli`]
//! exposes it as `switchboard provider check`. Decisions are in `docs/PROVIDERS.md`.

pub mod catalog;
pub mod check;
pub mod cli;
pub mod egress;
pub mod models;

pub use catalog::{CatalogEntry, ProviderKind, Tools, catalog};
pub use check::{
    CheckOutcome, CheckRequest, CheckSettings, Checker, FailureCode, validate_extra_field,
};
pub use egress::EgressPolicy;
