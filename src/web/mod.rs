//! The server-rendered console: one module per page or tab (handlers + their askama view
//! structs), the shared page frame, the URL helpers and the one route table.

pub mod account;
pub mod advanced;
pub mod assets;
pub mod audit;
pub mod body_deadline;
pub mod confirm;
pub mod edge;
pub mod errors;
pub mod frame;
pub mod headers;
pub mod health;
pub mod home;
pub mod insights;
pub mod invitations;
pub mod login;
pub mod members;
pub mod provider;
pub mod route_table;
pub mod skills;
pub mod support;
pub mod tokens;
pub mod urls;

pub use frame::{Chrome, OrgHeader, page, see_other, tab, wants_fragment};
pub use route_table::{console_routes, public_routes};
pub use urls::Tab;
