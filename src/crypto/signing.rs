//! The audit trail's signing key (`SWITCHBOARD_AUDIT_SIGNING_KEY`, `id:base64` of a 32-byte
//! Ed25519 seed) and its public half. The key never enters the database: checkpoints carry
//! only the key id and the signature. `Debug` never shows the seed.

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand::TryRngCore as _;
use secrecy::{ExposeSecret as _, SecretString};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why a signing key or public key could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigningKeyError {
    #[error("expected id:base64 (from `switchboard keys generate --audit`)")]
    Malformed,
    #[error("the key id may hold only letters, digits, '-' and '_'")]
    BadId,
    #[error("the key is not base64 of exactly 32 bytes")]
    BadKey,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn split(value: &str) -> Result<(&str, [u8; 32]), SigningKeyError> {
    let (id, b64) = value
        .trim()
        .split_once(':')
        .ok_or(SigningKeyError::Malformed)?;
    if !valid_id(id) {
        return Err(SigningKeyError::BadId);
    }
    let bytes = B64
        .decode(b64.trim())
        .map_err(|_| SigningKeyError::BadKey)?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| SigningKeyError::BadKey)?;
    Ok((id, bytes))
}

/// The configured audit signing key.
#[derive(Clone)]
pub struct AuditSigner {
    id: String,
    key: SigningKey,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSigner")
            .field("id", &self.id)
            .field("public", &self.public().to_string())
            .finish()
    }
}

impl AuditSigner {
    /// Parses `id:base64seed`.
    pub fn parse(value: &SecretString) -> Result<Self, SigningKeyError> {
        let (id, seed) = split(value.expose_secret())?;
        Ok(Self {
            id: id.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A new `id:base64seed` entry from the operating system's CSPRNG.
    pub fn generate_entry(id: &str) -> Result<SecretString, SigningKeyError> {
        if !valid_id(id) {
            return Err(SigningKeyError::BadId);
        }
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng
            .try_fill_bytes(seed.as_mut())
            .expect("the OS random source failed");
        Ok(SecretString::from(format!("{id}:{}", B64.encode(*seed))))
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The public key.
    pub fn public(&self) -> AuditPublicKey {
        AuditPublicKey {
            id: self.id.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The 64-byte Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// A public key that checks checkpoint signatures; printed and parsed as `id:base64`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditPublicKey {
    pub id: String,
    key: VerifyingKey,
}

impl std::fmt::Display for AuditPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.id, B64.encode(self.key.as_bytes()))
    }
}

impl AuditPublicKey {
    /// Parses `id:base64` (as `switchboard audit public-key` prints it).
    pub fn parse(value: &str) -> Result<Self, SigningKeyError> {
        let (id, bytes) = split(value)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| SigningKeyError::BadKey)?;
        Ok(Self {
            id: id.to_owned(),
            key,
        })
    }

    /// Whether `signature` is this key's signature of `message` (strict verification).
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        self.key
            .verify_strict(message, &Signature::from_bytes(&bytes))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_rejects_other_messages_and_keys() {
        let entry = AuditSigner::generate_entry("a1").unwrap();
        let signer = AuditSigner::parse(&entry).unwrap();
        let sig = signer.sign(b"hello");
        let public = signer.public();
        assert!(public.verifies(b"hello", &sig));
        assert!(!public.verifies(b"hellp", &sig));
        let other = AuditSigner::parse(&AuditSigner::generate_entry("a1").unwrap()).unwrap();
        assert!(!other.public().verifies(b"hello", &sig));
        assert_eq!(
            AuditPublicKey::parse(&public.to_string()).unwrap(),
            public,
            "the printed public key parses back"
        );
    }

    #[test]
    fn bad_entries_are_refused_and_debug_hides_the_seed() {
        for (bad, want) in [
            ("nocolon", SigningKeyError::Malformed),
            ("bad id:AAAA", SigningKeyError::BadId),
            ("k:AAAA", SigningKeyError::BadKey),
            ("k:not base64!", SigningKeyError::BadKey),
        ] {
            let got = AuditSigner::parse(&SecretString::from(bad)).unwrap_err();
            assert_eq!(got, want, "{bad}");
        }
        let entry = AuditSigner::generate_entry("k").unwrap();
        let seed = entry.expose_secret().split_once(':').unwrap().1.to_owned();
        let shown = format!("{:?}", AuditSigner::parse(&entry).unwrap());
        assert!(!shown.contains(&seed), "{shown}");
    }
}
