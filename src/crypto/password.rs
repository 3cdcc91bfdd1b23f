//! Password hashing with argon2id (m=19456 KiB, t=2, p=1), run off the async workers on
//! the blocking pool with a bounded number in flight, so a login storm cannot starve pages.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
    password_hash::SaltString,
};
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::Semaphore;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    parallel: u32,
    /// Verified against when the email is unknown, so both failures cost the same.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// `parallel` hashes may run at once (the rest wait their turn).
    pub fn new(parallel: usize) -> Self {
        let dummy = hash_blocking(&SecretString::from(crate::crypto::random_token(18)));
        let parallel = parallel.clamp(1, 1024);
        Self {
            permits: Arc::new(Semaphore::new(parallel)),
            parallel: u32::try_from(parallel).expect("at most 1024"),
            dummy_hash: dummy.into(),
        }
    }

    /// Takes every hashing permit until the returned guard is dropped: no hash starts
    /// meanwhile and callers queue at the permit. Tests use it to hold a burst of logins
    /// at the permit and look at what they hold while waiting.
    pub async fn hold_all_permits(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_many_owned(self.parallel)
            .await
            .expect("semaphore never closed")
    }

    /// A PHC string for `password`.
    pub async fn hash(&self, password: SecretString) -> String {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        tokio::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .expect("hashing does not panic")
    }

    /// Whether `password` matches `phc`; with `None` a dummy hash is checked and `false` returned.
    pub async fn verify(&self, password: SecretString, phc: Option<String>) -> bool {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.to_string());
        let matched = tokio::task::spawn_blocking(move || verify_blocking(&password, &phc))
            .await
            .unwrap_or(false);
        known && matched
    }
}

/// Hashes synchronously (CLI and start-up paths).
pub fn hash_blocking(password: &SecretString) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .expect("argon2 with valid parameters does not fail")
        .to_string()
}

fn verify_blocking(password: &SecretString, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_design_parameters() {
        let phc = hash_blocking(&SecretString::from("correct horse".to_owned()));
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking(
            &SecretString::from("correct horse".to_owned()),
            &phc
        ));
        assert!(!verify_blocking(
            &SecretString::from("wrong".to_owned()),
            &phc
        ));
    }
}
