//! Shared application state handed to every handler through `web::Data<AppState>`.

use std::sync::{Arc, Mutex};

use crate::{
    auth::throttle::LoginThrottle, clock::Clock, config::Config, crypto::password::PasswordHasher,
    db::Pool,
};

/// What every request may need.
pub struct AppState {
    pub pool: Pool,
    pub clock: Clock,
    pub hasher: PasswordHasher,
    pub throttle: LoginThrottle,
    /// The one-time first-run token, while no user exists.
    pub setup_token: Mutex<Option<String>>,
    pub config: Arc<Config>,
}

impl AppState {
    /// A pooled connection, or an opaque internal error.
    pub async fn conn(&self) -> Result<crate::db::Conn, crate::error::AppError> {
        Ok(self.pool.get().await?)
    }
}
