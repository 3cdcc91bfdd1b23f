//! The operation layer (DESIGN.md "Architecture"): every operation that reads org data or
//! changes anything lives here once, one file per aggregate. An operation takes the
//! [`Caller`] and a typed input, checks the scope, opens the transaction, makes the change,
//! writes the typed audit event in that transaction, and returns a domain result or an
//! [`OpError`]. The console, the CLI (and the API, MCP and jobs to come) only translate
//! into and out of it.

pub mod accounts;
pub mod audit;
pub mod caller;
pub mod error;
pub mod health;
pub mod insights;
pub mod invitations;
pub mod master_keys;
pub mod members;
pub mod names;
pub mod orgs;
pub mod providers;
pub mod scopes;
pub mod settings;
pub mod setup;
pub mod skill_patch;
pub mod skills;
pub mod tokens;
pub mod trail;

pub use audit::{Action, Change, Target};
pub use caller::{Actor, Caller, RequestMeta};
pub use error::{OpError, OpResult};
pub use scopes::{Access, Scope, ScopeSet};
