//! Cryptography Switchboard owns: the master keyring, password hashing and the audit
//! trail's signing key.

pub mod keyring;
pub mod password;
pub mod secret;
pub mod signing;

use rand::TryRngCore as _;

/// `n` bytes from the operating system's CSPRNG, as URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    use base64::Engine as _;
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS random source failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}
