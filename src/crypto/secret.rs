//! Envelope encryption of stored API keys. Each secret gets a random 256-bit data key (DEK);
//! the value is sealed with XChaCha20-Poly1305 under the DEK, and the DEK is wrapped, also
//! with XChaCha20-Poly1305, under the master key named by `key_id` (stored beside the row).
//!
//! Envelope layout (version 1), checked for length before any slicing:
//! `wrap_nonce(24) | wrapped_dek(32 + tag 16) | value_nonce(24) | value_ct(n + tag 16)`.
//!
//! The AAD binds the format version, `org_id` and `secret_id` (the wrap also binds `key_id`),
//! so an envelope copied to another row or org fails to open. An unknown `key_id` fails closed;
//! other keys are never tried. The masked preview and last four characters are computed when
//! sealing, so listing pages never decrypt.

use chacha20poly1305::{AeadInPlace as _, Key, KeyInit as _, Tag, XChaCha20Poly1305, XNonce};
use rand::TryRngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use super::keyring::Keyring;

/// Envelope format version stored beside the envelope.
pub const FORMAT_VERSION: i16 = 1;
/// Longest secret value accepted (4 KiB).
pub const MAX_SECRET_BYTES: usize = 4096;

const NONCE: usize = 24;
const TAG: usize = 16;
const DEK: usize = 32;
/// Offset of the value nonce: everything before it is the wrapped DEK.
const VALUE_AT: usize = NONCE + DEK + TAG;
/// Envelope bytes beyond the value's own.
const OVERHEAD: usize = VALUE_AT + NONCE + TAG;
/// Values shorter than this (in characters) show no characters at all.
const MIN_PREVIEW_CHARS: usize = 12;
/// Characters that must stay hidden between a shown prefix and the last four.
const MIN_HIDDEN_CHARS: usize = 8;

/// Why a secret could not be sealed or opened. Never carries key material or values.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {secret_id} is sealed under master key '{key_id}', which is not configured")]
    UnknownKeyId { secret_id: String, key_id: String },
    #[error("secret {secret_id} does not decrypt (wrong master key, moved row or damaged data)")]
    Undecryptable { secret_id: String },
    #[error("secret value is longer than {MAX_SECRET_BYTES} bytes")]
    TooLong,
    #[error("secret value is empty")]
    Empty,
}

/// A masked preview such as `sk-ant-...WXYZ`; safe to show and log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPreview(String);

impl KeyPreview {
    /// Rebuilds a preview; only for values read back from the `secrets.preview` column.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    /// The preview text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyPreview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for KeyPreview {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A sealed secret, ready for the `secrets` row.
pub struct Sealed {
    pub key_id: String,
    pub version: i16,
    pub envelope: Vec<u8>,
    pub preview: KeyPreview,
    pub last4: String,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("version", &self.version)
            .field("envelope_len", &self.envelope.len())
            .field("preview", &self.preview)
            .field("last4", &self.last4)
            .finish()
    }
}

/// The masked preview and last four characters of `value`. `known_prefix` (e.g. `sk-ant-`)
/// is shown only when the value starts with it and at least eight characters stay hidden;
/// values under twelve characters show only `...` and an empty last4.
pub fn preview(value: &str, known_prefix: Option<&str>) -> (KeyPreview, String) {
    let chars = value.chars().count();
    if chars < MIN_PREVIEW_CHARS {
        return (KeyPreview("...".to_owned()), String::new());
    }
    let last4: String = value.chars().skip(chars - 4).collect();
    let prefix = known_prefix
        .filter(|p| value.starts_with(p) && chars >= p.chars().count() + 4 + MIN_HIDDEN_CHARS)
        .unwrap_or("");
    (KeyPreview(format!("{prefix}...{last4}")), last4)
}

/// Seals `value` for row `secret_id` of `org_id` under the ring's primary key.
pub fn seal(
    ring: &Keyring,
    org_id: i64,
    secret_id: &str,
    value: &SecretString,
    known_prefix: Option<&str>,
) -> Result<Sealed, SecretError> {
    let plain = value.expose_secret().as_bytes();
    if plain.is_empty() {
        return Err(SecretError::Empty);
    }
    if plain.len() > MAX_SECRET_BYTES {
        return Err(SecretError::TooLong);
    }
    let mut dek = Zeroizing::new([0u8; DEK]);
    fill_random(dek.as_mut_slice());
    let master = ring.primary();
    // Zeroizing until the value is encrypted in place, so an error leaves no plaintext behind.
    let mut envelope = Zeroizing::new(Vec::with_capacity(OVERHEAD + plain.len()));
    let key = master.key.expose_secret();
    let dek_aad = aad(b"dek", FORMAT_VERSION, org_id, secret_id, Some(&master.id));
    let value_aad = aad(b"value", FORMAT_VERSION, org_id, secret_id, None);
    seal_part(key, &dek_aad, dek.as_slice(), &mut envelope)
        .and_then(|()| seal_part(&dek, &value_aad, plain, &mut envelope))
        .map_err(|_| SecretError::TooLong)?;
    let (preview, last4) = preview(value.expose_secret(), known_prefix);
    Ok(Sealed {
        key_id: master.id.clone(),
        version: FORMAT_VERSION,
        envelope: std::mem::take(&mut *envelope),
        preview,
        last4,
    })
}

/// Opens the envelope of row `secret_id` of `org_id`, sealed under `key_id`.
pub fn open(
    ring: &Keyring,
    org_id: i64,
    secret_id: &str,
    key_id: &str,
    version: i16,
    envelope: &[u8],
) -> Result<SecretString, SecretError> {
    let (_, plain) = open_all(ring, org_id, secret_id, key_id, version, envelope)?;
    let text = std::str::from_utf8(&plain).map_err(|_| undecryptable(secret_id))?;
    Ok(SecretString::from(text))
}

/// Re-wraps the DEK under the ring's primary key without re-encrypting the value (for
/// `keys rotate`): returns the new (key_id, envelope). Fails like [`open`] when the old key
/// is unknown or the envelope (value included) does not open.
pub fn rewrap(
    ring: &Keyring,
    org_id: i64,
    secret_id: &str,
    key_id: &str,
    version: i16,
    envelope: &[u8],
) -> Result<(String, Vec<u8>), SecretError> {
    let (dek, _) = open_all(ring, org_id, secret_id, key_id, version, envelope)?;
    let master = ring.primary();
    let mut out = Vec::with_capacity(envelope.len());
    let dek_aad = aad(b"dek", FORMAT_VERSION, org_id, secret_id, Some(&master.id));
    let key = master.key.expose_secret();
    seal_part(key, &dek_aad, dek.as_slice(), &mut out).map_err(|_| undecryptable(secret_id))?;
    // `open_all` succeeded, so the envelope is longer than VALUE_AT.
    out.extend_from_slice(&envelope[VALUE_AT..]);
    Ok((master.id.clone(), out))
}

fn undecryptable(secret_id: &str) -> SecretError {
    SecretError::Undecryptable {
        secret_id: secret_id.to_owned(),
    }
}

fn fill_random(buf: &mut [u8]) {
    rand::rngs::OsRng
        .try_fill_bytes(buf)
        .expect("the OS random source failed");
}

/// `switchboard/secret/<part> 0 | version | org_id | len, secret_id [| len, key_id]`, big-endian.
fn aad(part: &[u8], version: i16, org_id: i64, id: &str, key_id: Option<&str>) -> Vec<u8> {
    let mut aad = b"switchboard/secret/".to_vec();
    aad.extend_from_slice(part);
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad.extend_from_slice(&org_id.to_be_bytes());
    for field in std::iter::once(id).chain(key_id) {
        aad.extend_from_slice(&(field.len() as u64).to_be_bytes());
        aad.extend_from_slice(field.as_bytes());
    }
    aad
}

/// Appends `nonce | ciphertext | tag` of `plain` under `key` (fresh random nonce) to `out`.
fn seal_part(
    key: &[u8; DEK],
    aad: &[u8],
    plain: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), chacha20poly1305::Error> {
    let mut nonce = [0u8; NONCE];
    fill_random(&mut nonce);
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plain);
    let tag = XChaCha20Poly1305::new(Key::from_slice(key)).encrypt_in_place_detached(
        XNonce::from_slice(&nonce),
        aad,
        &mut out[start..],
    )?;
    out.extend_from_slice(&tag);
    Ok(())
}

/// Opens `nonce | ciphertext | tag` under `key`; `None` when short or not authentic.
fn open_part(key: &[u8; DEK], aad: &[u8], part: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (nonce, rest) = part.split_at_checked(NONCE)?;
    let (ciphertext, tag) = rest.split_at_checked(rest.len().checked_sub(TAG)?)?;
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    XChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt_in_place_detached(
            XNonce::from_slice(nonce),
            aad,
            &mut plain,
            Tag::from_slice(tag),
        )
        .ok()?;
    Some(plain)
}

/// The unwrapped DEK and the value's plaintext bytes.
type Opened = (Zeroizing<[u8; DEK]>, Zeroizing<Vec<u8>>);

/// Unwraps the DEK under `key_id` (never another key) and opens the value with it.
fn open_all(
    ring: &Keyring,
    org_id: i64,
    secret_id: &str,
    key_id: &str,
    version: i16,
    envelope: &[u8],
) -> Result<Opened, SecretError> {
    let master = ring.get(key_id).ok_or_else(|| SecretError::UnknownKeyId {
        secret_id: secret_id.to_owned(),
        key_id: key_id.to_owned(),
    })?;
    if version != FORMAT_VERSION || envelope.len() > OVERHEAD + MAX_SECRET_BYTES {
        return Err(undecryptable(secret_id));
    }
    let (wrapped, value) = envelope
        .split_at_checked(VALUE_AT)
        .ok_or_else(|| undecryptable(secret_id))?;
    let dek_aad = aad(b"dek", version, org_id, secret_id, Some(key_id));
    let mut dek = Zeroizing::new([0u8; DEK]);
    match open_part(master.key.expose_secret(), &dek_aad, wrapped) {
        Some(plain) if plain.len() == DEK => dek.copy_from_slice(&plain),
        _ => return Err(undecryptable(secret_id)),
    }
    let value_aad = aad(b"value", version, org_id, secret_id, None);
    let plain = open_part(&dek, &value_aad, value).ok_or_else(|| undecryptable(secret_id))?;
    Ok((dek, plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "sk-ant-CANARY-0123456789abcdefghijWXYZ";

    fn ring(entries: &[&SecretString]) -> Keyring {
        let joined: Vec<&str> = entries.iter().map(|e| e.expose_secret()).collect();
        Keyring::parse(&SecretString::from(joined.join(","))).unwrap()
    }

    /// `CANARY` sealed as secret `id` of org 7 under a new ring `k1`.
    fn sealed(id: &str) -> (Keyring, SecretString, Sealed) {
        let k1 = Keyring::generate_entry("k1");
        let ring = ring(&[&k1]);
        let s = seal(&ring, 7, id, &SecretString::from(CANARY), None).unwrap();
        (ring, k1, s)
    }

    fn fails(r: Result<impl Sized, SecretError>, id: &str) -> bool {
        matches!(r, Err(SecretError::Undecryptable { secret_id }) if secret_id == id)
    }

    #[test]
    fn round_trip_with_fresh_randomness() {
        let (ring, _, a) = sealed("sec_a");
        let b = seal(&ring, 7, "sec_a", &SecretString::from(CANARY), None).unwrap();
        for s in [&a, &b] {
            let v = open(&ring, 7, "sec_a", &s.key_id, s.version, &s.envelope).unwrap();
            assert_eq!(v.expose_secret(), CANARY);
        }
        assert_eq!((a.key_id.as_str(), a.version), ("k1", FORMAT_VERSION));
        assert_ne!(a.envelope, b.envelope);
        assert_eq!(a.envelope.len(), OVERHEAD + CANARY.len());
        let max = SecretString::from("x".repeat(MAX_SECRET_BYTES));
        assert!(seal(&ring, 7, "s", &max, None).is_ok());
        let long = SecretString::from("x".repeat(MAX_SECRET_BYTES + 1));
        assert!(matches!(
            seal(&ring, 7, "s", &long, None),
            Err(SecretError::TooLong)
        ));
        let empty = SecretString::from("");
        assert!(matches!(
            seal(&ring, 7, "s", &empty, None),
            Err(SecretError::Empty)
        ));
    }

    #[test]
    fn wrong_or_unknown_master_key_fails_closed() {
        let (_, k1, s) = sealed("sec_a");
        let other_k1 = ring(&[&Keyring::generate_entry("k1")]);
        assert!(fails(
            open(&other_k1, 7, "sec_a", "k1", 1, &s.envelope),
            "sec_a"
        ));
        let k2 = ring(&[&Keyring::generate_entry("k2")]);
        let err = open(&k2, 7, "sec_a", "k1", 1, &s.envelope).unwrap_err();
        assert!(
            matches!(&err, SecretError::UnknownKeyId { secret_id, key_id }
            if secret_id == "sec_a" && key_id == "k1")
        );
        assert!(err.to_string().contains("sec_a") && err.to_string().contains("'k1'"));
        // The wrap binds the key id: the same bytes under another name do not open it.
        let bytes = k1.expose_secret().split_once(':').unwrap().1.to_owned();
        let renamed = ring(&[&SecretString::from(format!("k9:{bytes}"))]);
        assert!(fails(
            open(&renamed, 7, "sec_a", "k9", 1, &s.envelope),
            "sec_a"
        ));
    }

    #[test]
    fn envelope_is_bound_to_its_row_and_org() {
        let (ring, _, a) = sealed("sec_a");
        let b = seal(
            &ring,
            7,
            "sec_b",
            &SecretString::from("other-key-12345"),
            None,
        )
        .unwrap();
        assert!(fails(
            open(&ring, 7, "sec_b", "k1", 1, &a.envelope),
            "sec_b"
        ));
        assert!(fails(
            open(&ring, 8, "sec_a", "k1", 1, &a.envelope),
            "sec_a"
        ));
        assert!(fails(
            open(&ring, 7, "sec_a", "k1", 1, &b.envelope),
            "sec_a"
        ));
        // Nor does a's wrapped key spliced onto b's value.
        let spliced = [&a.envelope[..VALUE_AT], &b.envelope[VALUE_AT..]].concat();
        assert!(fails(open(&ring, 7, "sec_a", "k1", 1, &spliced), "sec_a"));
    }

    #[test]
    fn tampered_truncated_or_misversioned_envelopes_fail() {
        let (ring, _, s) = sealed("sec_a");
        for i in 0..s.envelope.len() {
            let mut bad = s.envelope.clone();
            bad[i] ^= 0x01;
            assert!(
                fails(open(&ring, 7, "sec_a", "k1", 1, &bad), "sec_a"),
                "byte {i}"
            );
        }
        for len in 0..s.envelope.len() {
            let short = &s.envelope[..len];
            assert!(
                fails(open(&ring, 7, "sec_a", "k1", 1, short), "sec_a"),
                "len {len}"
            );
            assert!(
                fails(rewrap(&ring, 7, "sec_a", "k1", 1, short), "sec_a"),
                "len {len}"
            );
        }
        for version in [0, 2, -1] {
            let r = open(&ring, 7, "sec_a", "k1", version, &s.envelope);
            assert!(fails(r, "sec_a"), "version {version}");
        }
    }

    #[test]
    fn rewrap_moves_to_the_primary_key() {
        let (_, k1, s) = sealed("sec_a");
        let k2 = Keyring::generate_entry("k2");
        let b = ring(&[&k2, &k1]);
        let (key_id, envelope) = rewrap(&b, 7, "sec_a", "k1", 1, &s.envelope).unwrap();
        assert_eq!(key_id, "k2");
        assert_eq!(envelope[VALUE_AT..], s.envelope[VALUE_AT..]);
        for r in [&b, &ring(&[&k2])] {
            let v = open(r, 7, "sec_a", &key_id, 1, &envelope).unwrap();
            assert_eq!(v.expose_secret(), CANARY);
        }
        let r = rewrap(&ring(&[&k2]), 7, "sec_a", "k1", 1, &s.envelope);
        assert!(matches!(r, Err(SecretError::UnknownKeyId { .. })));
        assert!(fails(rewrap(&b, 8, "sec_a", "k1", 1, &s.envelope), "sec_a"));
    }

    #[test]
    fn previews_mask_the_value() {
        let key = "sk-ant-api03-abcdefghijklmnopWXYZ";
        let (p, last4) = preview(key, Some("sk-ant-"));
        assert_eq!((p.as_str(), last4.as_str()), ("sk-ant-...WXYZ", "WXYZ"));
        assert_eq!(preview(key, None).0.as_str(), "...WXYZ");
        assert_eq!(preview(key, Some("sk-proj-")).0.as_str(), "...WXYZ");
        assert_eq!(
            preview("sk-ant-ABCDEFGH", Some("sk-ant-")).0.as_str(),
            "...EFGH"
        );
        assert_eq!(preview("abcdefghWXYZ", None).1, "WXYZ");
        let (p, last4) = preview("short-WXYZ", Some("short-"));
        assert_eq!((p.to_string(), last4), ("...".to_owned(), String::new()));
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"...\"");
        assert_eq!(
            KeyPreview::from_stored("...WXYZ".into()).as_str(),
            "...WXYZ"
        );
    }

    #[test]
    fn debug_output_never_shows_the_value_or_envelope() {
        use base64::Engine as _;
        let (ring, _, s) = sealed("sec_a");
        let unknown = open(&ring, 7, "sec_a", "k2", 1, &s.envelope).unwrap_err();
        let bad = open(&ring, 8, "sec_a", "k1", 1, &s.envelope).unwrap_err();
        let hex: String = CANARY.bytes().map(|b| format!("{b:02x}")).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(CANARY);
        let bytes = format!("{:?}", &s.envelope[..8]);
        let outputs = [
            format!("{s:?} {:?}", s.preview),
            format!("{unknown:?} {unknown} {bad:?} {bad}"),
        ];
        for out in &outputs {
            for needle in [CANARY, "CANARY", &hex, &b64, bytes.trim_end_matches(']')] {
                assert!(!out.contains(needle), "{out} contains {needle}");
            }
        }
        assert!(outputs[0].contains(&format!("envelope_len: {}", s.envelope.len())));
    }
}
