//! One file per entity: the row type, its `New…` insert type, and its queries.
//! Models never reach a template; `web` builds view structs from them.

pub mod ai_settings;
pub mod api_token;
pub mod audit;
pub mod feature_route;
pub mod invitation;
pub mod key_draft;
pub mod lease;
pub mod login_throttle;
pub mod membership;
pub mod org;
pub mod provider;
pub mod provider_health;
pub mod release;
pub mod route_cache;
pub mod secret;
pub mod session;
pub mod setup_token;
pub mod skill;
pub mod user;
