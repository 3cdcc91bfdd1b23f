//! Signed checkpoints (DESIGN.md "Audit trail trust"): what a chain's head was at a time,
//! signed with the audit signing key, chained to the checkpoint signed before it, stored in
//! the database and appended to the external store (`SWITCHBOARD_AUDIT_CHECKPOINTS`).
//!
//! The canonical encoding (docs/DECISIONS.md "Audit trail trust") is the audit events' own:
//! each field as a 4-byte big-endian length and its UTF-8 bytes, in this order: the domain
//! tag [`DOMAIN`], the kind (`checkpoint` or `restore`), the chain (org id, `0` for events
//! without an org), the head's seq, the head's hash (lowercase hex), the time (microseconds
//! since the Unix epoch), the previous checkpoint's hash (lowercase hex; 64 zeros for the
//! first) and the key id; numbers in decimal. The signature is Ed25519 over those bytes;
//! the checkpoint's own hash is their SHA-256.

use std::{io::Write as _, path::Path};

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};

use crate::{
    crypto::signing::{AuditPublicKey, AuditSigner},
    db::{prelude::*, schema::audit_signed_checkpoints as cps},
};

/// The domain tag every signed checkpoint starts with: a signature over these bytes means
/// nothing anywhere else.
pub const DOMAIN: &str = "switchboard-audit-checkpoint-v1";
/// The previous hash of the very first checkpoint.
pub const GENESIS: [u8; 32] = [0; 32];

/// A signed checkpoint or restore marker, as stored and as one JSON line of the external
/// store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedCheckpoint {
    /// `checkpoint`, or `restore` for a restore marked with `switchboard audit mark-restore`.
    pub kind: String,
    /// The org id; 0 for the events without an org.
    pub chain: i64,
    pub seq: i64,
    /// The hash of event `seq` (hex).
    pub head: String,
    /// When it was signed (RFC 3339, microseconds).
    pub signed_at: String,
    /// The hash of the checkpoint signed before it (hex).
    pub prev: String,
    /// SHA-256 of the canonical bytes (hex).
    pub hash: String,
    pub key_id: String,
    /// Ed25519 over the canonical bytes (base64).
    pub signature: String,
}

fn field(out: &mut Vec<u8>, value: &str) {
    let len = u32::try_from(value.len()).expect("checkpoint fields are short");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses lowercase or uppercase hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Why a checkpoint cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// Its fields are not well-formed.
    Malformed(String),
    /// Its hash does not match its content: edited.
    Edited,
    /// Signed with a key we do not know.
    UnknownKey(String),
    /// The signature does not verify: forged or edited.
    BadSignature,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::Malformed(why) => write!(f, "is malformed ({why})"),
            Invalid::Edited => f.write_str("was edited: its hash does not match its content"),
            Invalid::UnknownKey(id) => {
                write!(
                    f,
                    "is signed with key '{id}', which is not a configured key"
                )
            }
            Invalid::BadSignature => {
                f.write_str("is forged or edited: its signature does not verify")
            }
        }
    }
}

impl SignedCheckpoint {
    /// When it was signed.
    pub fn time(&self) -> Result<DateTime<Utc>, Invalid> {
        DateTime::parse_from_rfc3339(&self.signed_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| Invalid::Malformed("signedAt is not an RFC 3339 time".to_owned()))
    }

    /// The canonical bytes (see the module's documentation).
    pub fn canonical(&self) -> Result<Vec<u8>, Invalid> {
        if !matches!(self.kind.as_str(), "checkpoint" | "restore") {
            return Err(Invalid::Malformed(format!("unknown kind '{}'", self.kind)));
        }
        for (name, value) in [("head", &self.head), ("prev", &self.prev)] {
            if unhex(value).is_none_or(|b| b.len() != 32) {
                return Err(Invalid::Malformed(format!("{name} is not 32 bytes of hex")));
            }
        }
        let mut out = Vec::with_capacity(256);
        field(&mut out, DOMAIN);
        field(&mut out, &self.kind);
        field(&mut out, &self.chain.to_string());
        field(&mut out, &self.seq.to_string());
        field(&mut out, &self.head.to_ascii_lowercase());
        field(&mut out, &self.time()?.timestamp_micros().to_string());
        field(&mut out, &self.prev.to_ascii_lowercase());
        field(&mut out, &self.key_id);
        Ok(out)
    }

    /// Checks the hash and the signature with the key it names among `keys`.
    pub fn check(&self, keys: &[AuditPublicKey]) -> Result<(), Invalid> {
        let bytes = self.canonical()?;
        if unhex(&self.hash) != Some(crate::crypto::sha256(&bytes).to_vec()) {
            return Err(Invalid::Edited);
        }
        let key = keys
            .iter()
            .find(|k| k.id == self.key_id)
            .ok_or_else(|| Invalid::UnknownKey(self.key_id.clone()))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(&self.signature)
            .map_err(|_| Invalid::BadSignature)?;
        if key.verifies(&bytes, &signature) {
            Ok(())
        } else {
            Err(Invalid::BadSignature)
        }
    }

    /// Signs (kind, chain, seq, head) at `at` after the checkpoint hashed `prev`.
    pub fn sign(
        signer: &AuditSigner,
        kind: &str,
        chain: i64,
        (seq, head): (i64, &[u8]),
        at: DateTime<Utc>,
        prev: &[u8],
    ) -> Self {
        let mut cp = Self {
            kind: kind.to_owned(),
            chain,
            seq,
            head: hex(head),
            signed_at: at.to_rfc3339_opts(SecondsFormat::Micros, true),
            prev: hex(prev),
            hash: String::new(),
            key_id: signer.id().to_owned(),
            signature: String::new(),
        };
        let bytes = cp
            .canonical()
            .expect("a checkpoint we build is well-formed");
        cp.hash = hex(&crate::crypto::sha256(&bytes));
        cp.signature = base64::engine::general_purpose::STANDARD.encode(signer.sign(&bytes));
        cp
    }

    /// The org, for messages.
    pub fn chain_label(&self, slugs: &std::collections::HashMap<i64, String>) -> String {
        chain_label(self.chain, slugs)
    }
}

/// "org acme" or "the events without an org".
pub fn chain_label(chain: i64, slugs: &std::collections::HashMap<i64, String>) -> String {
    match (chain, slugs.get(&chain)) {
        (0, _) => "the events without an org".to_owned(),
        (_, Some(slug)) => format!("org {slug}"),
        (id, None) => format!("org #{id}"),
    }
}

/// One stored row.
#[derive(Queryable, Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub kind: String,
    pub chain_id: i64,
    pub seq: i64,
    pub head_hash: Vec<u8>,
    pub signed_at: DateTime<Utc>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub key_id: String,
    pub signature: Vec<u8>,
}

impl Row {
    /// As the external store writes it.
    pub fn to_signed(&self) -> SignedCheckpoint {
        SignedCheckpoint {
            kind: self.kind.clone(),
            chain: self.chain_id,
            seq: self.seq,
            head: hex(&self.head_hash),
            signed_at: self.signed_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            prev: hex(&self.prev_hash),
            hash: hex(&self.hash),
            key_id: self.key_id.clone(),
            signature: base64::engine::general_purpose::STANDARD.encode(&self.signature),
        }
    }
}

/// Every stored checkpoint, oldest first.
pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Row>> {
    cps::table.order(cps::id).load(conn).await
}

/// The newest checkpoint (or restore marker) of `chain`.
pub async fn latest_of(conn: &mut AsyncPgConnection, chain: i64) -> QueryResult<Option<Row>> {
    cps::table
        .filter(cps::chain_id.eq(chain))
        .order(cps::id.desc())
        .first(conn)
        .await
        .optional()
}

/// The newest checkpoint of any chain (the next one links to it).
pub async fn latest(conn: &mut AsyncPgConnection) -> QueryResult<Option<Row>> {
    cps::table
        .order(cps::id.desc())
        .first(conn)
        .await
        .optional()
}

/// Stores a signed checkpoint.
pub async fn insert(conn: &mut AsyncPgConnection, cp: &SignedCheckpoint) -> QueryResult<()> {
    let bytes = |hex: &str| unhex(hex).unwrap_or_default();
    let at = cp
        .time()
        .map_err(|e| diesel::result::Error::SerializationError(e.to_string().into()))?;
    diesel::insert_into(cps::table)
        .values((
            cps::kind.eq(&cp.kind),
            cps::chain_id.eq(cp.chain),
            cps::seq.eq(cp.seq),
            cps::head_hash.eq(bytes(&cp.head)),
            cps::signed_at.eq(at),
            cps::prev_hash.eq(bytes(&cp.prev)),
            cps::hash.eq(bytes(&cp.hash)),
            cps::key_id.eq(&cp.key_id),
            cps::signature.eq(base64::engine::general_purpose::STANDARD
                .decode(&cp.signature)
                .unwrap_or_default()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// This instance's file in the external store: `<dir>/<host name>.jsonl`.
pub fn own_file(dir: &Path) -> std::path::PathBuf {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        })
        .unwrap_or_else(|| "switchboard".to_owned());
    dir.join(format!("{host}.jsonl"))
}

/// Appends `cps` to this instance's file, one line each, in one write (`O_APPEND`), and
/// syncs it. Callers append *before* committing the checkpoints to the database, so a
/// committed checkpoint is always in a file. If the file does not end with a newline (an
/// earlier append was cut short: the process was killed in the middle of it), the write
/// starts with one, so the cut line stays a line of its own (an incomplete write that
/// verification ignores) and the new lines are whole.
pub fn append(dir: &Path, cps: &[SignedCheckpoint]) -> std::io::Result<()> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    std::fs::create_dir_all(dir)?;
    let path = own_file(dir);
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(&path)
        && file.seek(SeekFrom::End(-1)).is_ok()
    {
        let mut last = [0u8; 1];
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            text.push('\n');
        }
    }
    for cp in cps {
        text.push_str(&serde_json::to_string(cp).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// Why a line of the external store is not a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// The line stops before its JSON object ends: an append cut short (a crash or a kill
    /// in the middle of it) or still being written. Not a checkpoint, and not evidence of
    /// anything by itself: what it would have been is checked elsewhere (docs/DECISIONS.md
    /// "Checkpoints after a killed instance").
    Incomplete(String),
    /// Anything else that is not a checkpoint line: reported.
    Invalid(String),
}

/// What a line of the external store is.
pub fn parse_line(line: &str) -> Result<SignedCheckpoint, LineError> {
    serde_json::from_str(line).map_err(|e| {
        if e.is_eof() {
            LineError::Incomplete(e.to_string())
        } else {
            LineError::Invalid(e.to_string())
        }
    })
}

/// One line read from the external store, or why it is not a checkpoint.
#[derive(Debug, Clone)]
pub struct ExternalLine {
    /// `file:line`, for messages.
    pub place: String,
    pub checkpoint: Result<SignedCheckpoint, LineError>,
}

/// Reads every `*.jsonl` file of `dirs` (not recursing), in name order.
pub fn read_external(dirs: &[std::path::PathBuf]) -> std::io::Result<Vec<ExternalLine>> {
    let mut out = Vec::new();
    for dir in dirs {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file)?;
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                out.push(ExternalLine {
                    place: format!("{}:{}", file.display(), i + 1),
                    checkpoint: parse_line(line),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> AuditSigner {
        AuditSigner::parse(&AuditSigner::generate_entry("t1").unwrap()).unwrap()
    }

    #[test]
    fn a_signed_checkpoint_checks_and_any_edit_is_caught() {
        let s = signer();
        let at = DateTime::parse_from_rfc3339("2026-12-03T06:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let cp = SignedCheckpoint::sign(&s, "checkpoint", 7, (3, &[1; 32]), at, &GENESIS);
        let keys = [s.public()];
        assert_eq!(cp.check(&keys), Ok(()));
        let line = serde_json::to_string(&cp).unwrap();
        let back: SignedCheckpoint = serde_json::from_str(&line).unwrap();
        assert_eq!(back.check(&keys), Ok(()), "{line}");

        let mut edited = cp.clone();
        edited.seq = 4;
        assert_eq!(edited.check(&keys), Err(Invalid::Edited));
        // Edited and re-hashed, but not re-signed: the signature fails.
        let bytes = edited.canonical().unwrap();
        edited.hash = hex(&crate::crypto::sha256(&bytes));
        assert_eq!(edited.check(&keys), Err(Invalid::BadSignature));
        // Signed with another key under the same id.
        let forged =
            SignedCheckpoint::sign(&signer(), "checkpoint", 7, (3, &[1; 32]), at, &GENESIS);
        assert_eq!(forged.check(&keys), Err(Invalid::BadSignature));
        let mut unknown = cp.clone();
        unknown.key_id = "zz".into();
        assert!(matches!(unknown.check(&keys), Err(Invalid::Edited)));
    }

    #[test]
    fn a_line_cut_short_is_incomplete_and_anything_else_invalid() {
        let at = Utc::now();
        let cp = SignedCheckpoint::sign(&signer(), "checkpoint", 3, (9, &[2; 32]), at, &GENESIS);
        let line = serde_json::to_string(&cp).unwrap();
        assert_eq!(parse_line(&line), Ok(cp));
        for cut in [1, 10, line.len() / 2, line.len() - 1] {
            assert!(
                matches!(parse_line(&line[..cut]), Err(LineError::Incomplete(_))),
                "{}",
                &line[..cut]
            );
        }
        for bad in [
            "not json".to_owned(),
            format!("{line}x"),
            line.replace("\"seq\":9", "\"seq\":\"9\""),
            "{\"kind\":\"checkpoint\"}".to_owned(),
            "\0\0\0\0".to_owned(),
        ] {
            assert!(
                matches!(parse_line(&bad), Err(LineError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_append_after_a_cut_line_starts_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let at = Utc::now();
        let cps: Vec<_> = (1..=2)
            .map(|n| {
                SignedCheckpoint::sign(
                    &signer(),
                    "checkpoint",
                    1,
                    (n, &[n as u8; 32]),
                    at,
                    &GENESIS,
                )
            })
            .collect();
        append(dir.path(), &cps[..1]).unwrap();
        let file = own_file(dir.path());
        let whole = std::fs::read_to_string(&file).unwrap();
        // Killed in the middle of the next append.
        let cut = serde_json::to_string(&cps[1]).unwrap()[..40].to_owned();
        std::fs::write(&file, format!("{whole}{cut}")).unwrap();
        append(dir.path(), &cps[1..]).unwrap();
        let lines: Vec<_> = read_external(&[dir.path().to_path_buf()])
            .unwrap()
            .into_iter()
            .map(|l| l.checkpoint)
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0], Ok(cps[0].clone()));
        assert!(
            matches!(lines[1], Err(LineError::Incomplete(_))),
            "{lines:?}"
        );
        assert_eq!(lines[2], Ok(cps[1].clone()));
        // A whole file gets no extra newline.
        append(dir.path(), &cps[..1]).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("\n\n"), "{text}");
    }

    #[test]
    fn the_canonical_bytes_start_with_the_domain_tag() {
        let at = Utc::now();
        let cp = SignedCheckpoint::sign(&signer(), "restore", 0, (0, &GENESIS), at, &GENESIS);
        let bytes = cp.canonical().unwrap();
        assert_eq!(&bytes[4..4 + DOMAIN.len()], DOMAIN.as_bytes());
        assert_eq!(unhex(&hex(&[0, 255, 16])), Some(vec![0, 255, 16]));
        assert_eq!(unhex("abc"), None);
    }
}
