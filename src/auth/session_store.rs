//! actix-session's `SessionStore` backed by PostgreSQL. The cookie carries a random key;
//! the table stores only its SHA-256, so a database leak does not leak live sessions.
//! Deadlines come from the application [`Clock`]: 30 minutes idle, 12 hours absolute.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use chrono::TimeDelta;

use crate::{
    clock::Clock,
    crypto,
    db::{Pool, outage},
    models::session as rows,
};

/// Idle timeout: a session unused this long is dead.
pub const IDLE_TIMEOUT: TimeDelta = TimeDelta::minutes(30);
/// Absolute timeout: no session lives longer than this, however busy.
pub const ABSOLUTE_TIMEOUT: TimeDelta = TimeDelta::hours(12);

/// The PostgreSQL session store.
#[derive(Clone)]
pub struct PgSessionStore {
    pool: Pool,
    clock: Clock,
}

impl PgSessionStore {
    pub fn new(pool: Pool, clock: Clock) -> Self {
        Self { pool, clock }
    }

    async fn conn(&self) -> anyhow::Result<crate::db::Conn> {
        self.pool
            .get()
            .await
            .map_err(|e| match outage::is_outage_pool(&e) {
                true => anyhow::Error::new(outage::Outage),
                false => anyhow::anyhow!("session store pool: {e}"),
            })
    }
}

/// A query error as the store reports it: an outage becomes [`outage::Outage`], the one
/// cause `render_errors` can still recognise through actix-session's opaque 500.
fn db_error(e: diesel::result::Error) -> anyhow::Error {
    match outage::is_outage_diesel(&e) {
        true => anyhow::Error::new(outage::Outage),
        false => e.into(),
    }
}

fn key_hash(key: &SessionKey) -> [u8; 32] {
    crypto::sha256(key.as_ref().as_bytes())
}

impl SessionStore for PgSessionStore {
    async fn load(
        &self,
        session_key: &SessionKey,
    ) -> Result<Option<HashMap<String, String>>, LoadError> {
        let now = self.clock.now();
        let mut conn = self.conn().await.map_err(LoadError::Other)?;
        let state =
            rows::load_and_touch(&mut conn, &key_hash(session_key), now, now + IDLE_TIMEOUT)
                .await
                .map_err(|e| LoadError::Other(db_error(e)))?;
        state
            .map(|s| serde_json::from_str(&s).map_err(|e| LoadError::Deserialization(e.into())))
            .transpose()
    }

    async fn save(
        &self,
        session_state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let state = serde_json::to_string(&session_state)
            .map_err(|e| SaveError::Serialization(e.into()))?;
        let key = SessionKey::try_from(crypto::random_token(32))
            .map_err(|e| SaveError::Other(e.into()))?;
        let now = self.clock.now();
        let mut conn = self.conn().await.map_err(SaveError::Other)?;
        rows::insert(
            &mut conn,
            &key_hash(&key),
            &state,
            now,
            now + IDLE_TIMEOUT,
            now + ABSOLUTE_TIMEOUT,
        )
        .await
        .map_err(|e| SaveError::Other(db_error(e)))?;
        Ok(key)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        mut session_state: HashMap<String, String>,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let state = serde_json::to_string(&session_state)
            .map_err(|e| UpdateError::Serialization(e.into()))?;
        let now = self.clock.now();
        let mut conn = self.conn().await.map_err(UpdateError::Other)?;
        let updated = rows::update_state(
            &mut conn,
            &key_hash(&session_key),
            &state,
            now,
            now + IDLE_TIMEOUT,
        )
        .await
        .map_err(|e| UpdateError::Other(db_error(e)))?;
        if updated {
            return Ok(session_key);
        }
        // It expired between load and update: start afresh, but never carry the login over
        // (that would stretch the absolute timeout).
        drop(conn);
        for key in super::IDENTITY_KEYS {
            session_state.remove(key);
        }
        self.save(session_state, ttl).await.map_err(|e| match e {
            SaveError::Serialization(e) => UpdateError::Serialization(e),
            SaveError::Other(e) => UpdateError::Other(e),
        })
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        let mut conn = self.conn().await?;
        rows::touch(
            &mut conn,
            &key_hash(session_key),
            self.clock.now() + IDLE_TIMEOUT,
        )
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let mut conn = self.conn().await?;
        rows::delete(&mut conn, &key_hash(session_key))
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
