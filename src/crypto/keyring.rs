//! Master keys that wrap per-secret data keys (`SWITCHBOARD_MASTER_KEYS`, `id:base64key,...`;
//! the first seals, all open). Without configuration a key is generated into
//! `data_dir/master.key` (mode 0600) so a fresh machine runs; production supplies its own.

use std::{io::Write as _, os::unix::fs::OpenOptionsExt as _, path::Path};

use base64::Engine as _;
use rand::TryRngCore as _;
use secrecy::{ExposeSecret as _, SecretBox, SecretString};

/// Why a keyring could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("entry {0} is not of the form id:base64key")]
    Malformed(usize),
    #[error("key '{0}' is not base64 of exactly 32 bytes")]
    BadKey(String),
    #[error("key id '{0}' appears twice")]
    Duplicate(String),
    #[error("no keys given")]
    Empty,
    #[error("{0}")]
    Io(String),
}

/// One named 256-bit master key.
pub struct MasterKey {
    pub id: String,
    pub key: SecretBox<[u8; 32]>,
}

/// The configured master keys; the first is the primary.
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// Parses `id:base64key,...`.
    pub fn parse(value: &SecretString) -> Result<Self, KeyringError> {
        let mut keys: Vec<MasterKey> = Vec::new();
        for (i, entry) in value.expose_secret().split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let (id, b64) = entry
                .split_once(':')
                .ok_or(KeyringError::Malformed(i + 1))?;
            let id = id.trim();
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(KeyringError::Malformed(i + 1));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or_else(|| KeyringError::BadKey(id.to_owned()))?;
            if keys.iter().any(|k| k.id == id) {
                return Err(KeyringError::Duplicate(id.to_owned()));
            }
            let mut key = [0u8; 32];
            key.copy_from_slice(&bytes);
            keys.push(MasterKey {
                id: id.to_owned(),
                key: SecretBox::new(Box::new(key)),
            });
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Self { keys })
    }

    /// A new random key entry `id:base64key` (what `switchboard keys generate` prints).
    pub fn generate_entry(id: &str) -> SecretString {
        let mut key = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut key)
            .expect("the OS random source failed");
        let entry = format!(
            "{id}:{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        );
        zeroize::Zeroize::zeroize(&mut key);
        SecretString::from(entry)
    }

    /// Reads `path`, creating it (mode 0600, one generated key) when it does not exist.
    /// Returns the keyring and whether the file was created.
    pub fn load_or_create_file(path: &Path) -> Result<(Self, bool), KeyringError> {
        let io = |e: std::io::Error| KeyringError::Io(format!("{}: {e}", path.display()));
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::parse(&SecretString::from(text))?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                let entry =
                    Self::generate_entry(&format!("k{}", chrono::Utc::now().format("%Y%m%d")));
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(io)?;
                file.write_all(entry.expose_secret().as_bytes())
                    .map_err(io)?;
                file.write_all(b"\n").map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok((Self::parse(&entry)?, true))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The key that seals new secrets.
    pub fn primary(&self) -> &MasterKey {
        &self.keys[0]
    }

    /// The key named `id`, if configured (never trial-decrypt with others).
    pub fn get(&self, id: &str) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}

/// Loads the master keyring: `master_keys` (`SWITCHBOARD_MASTER_KEYS`), or
/// `data_dir/master.key` (created on first run, with a warning that production should supply
/// keys).
pub fn load(
    master_keys: Option<&SecretString>,
    data_dir: &std::path::Path,
) -> Result<Keyring, KeyringError> {
    match master_keys {
        Some(keys) => Keyring::parse(keys),
        None => {
            let path = data_dir.join("master.key");
            let (ring, created) = Keyring::load_or_create_file(&path)?;
            if created {
                tracing::warn!(
                    path = %path.display(),
                    "generated a master key; production should supply SWITCHBOARD_MASTER_KEYS instead"
                );
            } else {
                tracing::info!(path = %path.display(), "using the master key file; production should supply SWITCHBOARD_MASTER_KEYS");
            }
            Ok(ring)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let a = Keyring::generate_entry("a");
        let b = Keyring::generate_entry("b");
        let both = SecretString::from(format!("{},{}", a.expose_secret(), b.expose_secret()));
        let ring = Keyring::parse(&both).unwrap();
        assert_eq!(ring.primary().id, "a");
        assert!(ring.get("b").is_some() && ring.get("c").is_none());
        assert!(!format!("{ring:?}").contains(a.expose_secret().split(':').nth(1).unwrap()));
        assert!(Keyring::parse(&SecretString::from("a:c2hvcnQ=".to_owned())).is_err());
        assert!(Keyring::parse(&SecretString::from(String::new())).is_err());
    }

    #[test]
    fn creates_file_with_mode_0600_once() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let (first, created) = Keyring::load_or_create_file(&path).unwrap();
        assert!(created);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (second, created) = Keyring::load_or_create_file(&path).unwrap();
        assert!(!created);
        assert_eq!(
            first.primary().key.expose_secret(),
            second.primary().key.expose_secret()
        );
    }
}
