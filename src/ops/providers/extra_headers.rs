//! A gateway's extra headers (issue 24 item 4): the names are shown (they live in the
//! provider's `config.extra_headers`), the values are sealed together — a JSON list of
//! name/value pairs — into a `secrets` row of the provider's own (`headers_secret_id`), so
//! they are sealed, opened and re-wrapped by `keys rotate` exactly as keys are, and never
//! returned. Like the key (rule 4), stored values are only ever sent to the host they were
//! entered for: a change of kind or base URL needs them entered again.
//! The relay reads them with [`open`].

use diesel_async::AsyncPgConnection;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use zeroize::Zeroizing;

use super::input::Fields;
use super::view::names_of;
use crate::{
    crypto::secret::{self as sealing, MAX_SECRET_BYTES},
    models::{
        org::Org,
        provider::{self, Provider},
        secret::{self, NewSecret},
    },
    ops::{Caller, OpError, OpResult},
    providers::{
        ProviderKind,
        check::{CheckRequest, ValidationError},
    },
    state::AppState,
};

/// The catalog field (and `config` key) of the extra headers.
pub const FIELD: &str = "extra_headers";
/// Most extra headers one provider may have.
pub const MAX_HEADERS: usize = 10;
/// Longest header name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Longest header value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;
/// What the `secrets.preview` of sealed headers says (never a character of a value).
const PREVIEW: &str = "(extra headers)";

pub use super::input::HeadersInput;

/// The headers a save ends with, and whether they differ from the stored ones.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    pub headers: Vec<(String, SecretString)>,
    pub changed: bool,
}

/// Whether providers of `kind` take extra headers (the catalog says so).
pub fn takes_headers(kind: ProviderKind) -> bool {
    kind.extra_field(FIELD).is_some()
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn bad(message: String) -> OpError {
    OpError::invalid(FIELD, message)
}

/// Checks one header to set: a token name Switchboard does not set itself, a value a header
/// can carry (no CR, LF or other control characters), both within bounds. The message
/// names the header, never its value.
pub(crate) fn check_header(name: &str, value: &SecretString) -> OpResult<()> {
    if name.is_empty() {
        return Err(bad("Give each extra header a name.".to_owned()));
    }
    let shown: String = name.chars().take(MAX_NAME_BYTES).collect();
    if name.len() > MAX_NAME_BYTES {
        return Err(bad(format!(
            "The extra header name {shown:?}… is longer than {MAX_NAME_BYTES} characters."
        )));
    }
    let v = value.expose_secret();
    if v.trim().is_empty() {
        return Err(bad(format!("Enter a value for the extra header {shown}.")));
    }
    if v.len() > MAX_VALUE_BYTES {
        return Err(bad(format!(
            "The value of the extra header {shown} is longer than {MAX_VALUE_BYTES} bytes."
        )));
    }
    // Printable ASCII and tabs only: no CR or LF (no header injection), no other control
    // characters, and no bytes a gateway could read in another charset.
    if !v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
        return Err(bad(format!(
            "The value of the extra header {shown} has characters a header can't carry: use printable ASCII only."
        )));
    }
    let mut probe = CheckRequest::new(ProviderKind::Gateway, "model");
    // A stand-in key: validation checks the key before the headers.
    probe.api_key = Some(SecretString::from("placeholder"));
    probe.extra_headers = vec![(name.to_owned(), value.clone())];
    match probe.validate() {
        Err(e @ ValidationError::BadHeader { .. }) => {
            let mut message = format!("{e}.");
            message[..1].make_ascii_uppercase();
            Err(bad(message))
        }
        _ => Ok(()),
    }
}

/// The extra headers of a save: the stored ones (`current`) with `input` laid over them,
/// checked. Stored values survive only while the kind and effective base URL are unchanged
/// (rule 4: 422 otherwise, "enter them again"); a kind without extra headers drops them.
pub(super) async fn resolve(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    org: &Org,
    fields: &Fields,
    current: Option<&Provider>,
    input: HeadersInput,
) -> OpResult<Resolved> {
    let takes = takes_headers(fields.kind);
    if !takes && !input.set.is_empty() {
        return Err(bad(format!(
            "{} providers take no extra headers.",
            fields.kind.entry().label
        )));
    }
    let typed_any = !input.set.is_empty();
    let mut set: Vec<(String, SecretString)> = Vec::with_capacity(input.set.len());
    for (name, value) in input.set {
        let name = name.trim().to_owned();
        check_header(&name, &value)?;
        if set.iter().any(|(n, _)| same(n, &name)) {
            return Err(bad(format!("The extra header {name} is given twice.")));
        }
        set.push((name, value));
    }
    let stored_names = match current {
        Some(c) if c.headers_secret_id.is_some() => names_of(&c.config),
        _ => Vec::new(),
    };
    let kept: Vec<&String> = stored_names
        .iter()
        .filter(|_| takes && !input.remove_all)
        .filter(|n| !input.remove.iter().any(|r| same(r.trim(), n)))
        .filter(|n| !set.iter().any(|(s, _)| same(s, n)))
        .collect();
    let mut opened = Vec::new();
    if let (Some(current), false) = (current, kept.is_empty()) {
        let before = Fields::of(current)?;
        if before.kind != fields.kind || before.effective_base_url() != fields.effective_base_url()
        {
            return Err(OpError::Unprocessable {
                field: Some(FIELD),
                message: "Changing the kind or the base URL requires entering the extra headers' values again (or removing them), so they are never sent to another host.".to_owned(),
            });
        }
        opened = stored(conn, state, org, current).await?;
    }
    // Stored order first (a replaced value keeps its place), then the new ones.
    let mut headers = Vec::with_capacity(kept.len() + set.len());
    for name in &stored_names {
        if let Some(i) = set.iter().position(|(s, _)| same(s, name)) {
            headers.push(set.remove(i));
        } else if kept.contains(&name) {
            let value = opened
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| unusable("a stored header is missing"))?;
            headers.push((name.clone(), value));
        }
    }
    headers.append(&mut set);
    if headers.len() > MAX_HEADERS {
        return Err(bad(format!(
            "A provider can have at most {MAX_HEADERS} extra headers."
        )));
    }
    if serialise(&headers).len() > MAX_SECRET_BYTES {
        return Err(bad(format!(
            "The extra headers are longer than {} KiB together.",
            MAX_SECRET_BYTES / 1024
        )));
    }
    // Changed: any value typed, or a different list of names.
    let same_names = headers.len() == stored_names.len()
        && headers.iter().zip(&stored_names).all(|((a, _), b)| a == b);
    let changed = typed_any || !same_names;
    Ok(Resolved { headers, changed })
}

/// The JSON sealed into the secret: `[[name, value], …]`.
fn serialise(headers: &[(String, SecretString)]) -> Zeroizing<String> {
    let pairs: Vec<[&str; 2]> = headers
        .iter()
        .map(|(n, v)| [n.as_str(), v.expose_secret()])
        .collect();
    Zeroizing::new(json!(pairs).to_string())
}

/// Writes the names into `config` (only for kinds that take headers, only when there are some).
pub(super) fn record_names(config: &mut serde_json::Value, resolved: &Resolved) {
    if let Some(map) = config.as_object_mut() {
        map.remove(FIELD);
        if !resolved.headers.is_empty() {
            let names: Vec<&str> = resolved.headers.iter().map(|(n, _)| n.as_str()).collect();
            map.insert(FIELD.to_owned(), json!(names));
        }
    }
}

/// Stores the headers of a save of provider `id`, in its transaction: unchanged ones stay
/// in their secret; changed ones are sealed into a new secret and the old one deleted.
pub(super) async fn store(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    caller: &Caller,
    org: &Org,
    id: &str,
    old_secret: Option<&str>,
    resolved: &Resolved,
) -> OpResult<()> {
    if !resolved.changed {
        return Ok(());
    }
    let new_secret = match resolved.headers.is_empty() {
        true => None,
        false => Some(seal_new(conn, state, caller, org, &resolved.headers).await?),
    };
    provider::set_headers_secret(conn, org.id, id, new_secret.as_deref()).await?;
    if let Some(old) = old_secret {
        secret::delete_if_unused(conn, org.id, old).await?;
    }
    Ok(())
}

/// Deletes the headers secret of a provider that is gone (its row deleted in this
/// transaction).
pub(super) async fn drop_secret(
    conn: &mut AsyncPgConnection,
    org: &Org,
    old_secret: Option<&str>,
) -> OpResult<()> {
    if let Some(old) = old_secret {
        secret::delete_if_unused(conn, org.id, old).await?;
    }
    Ok(())
}

async fn seal_new(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    caller: &Caller,
    org: &Org,
    headers: &[(String, SecretString)],
) -> OpResult<String> {
    let id = secret::new_id();
    let value = SecretString::from(serialise(headers).as_str());
    let sealed = sealing::seal(&state.keyring, org.id, &id, &value, None)
        .map_err(|e| bad(format!("The extra headers can't be stored: {e}.")))?;
    NewSecret {
        id: &id,
        org_id: org.id,
        key_id: &sealed.key_id,
        version: sealed.version,
        envelope: &sealed.envelope,
        // The preview and last4 of a key would show characters of the JSON: never here.
        preview: PREVIEW,
        last4: "",
        created_at: state.clock.now(),
        created_by: caller.user_id(),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

fn unusable(why: &str) -> OpError {
    OpError::Unprocessable {
        field: Some(FIELD),
        message: format!(
            "The stored extra headers can't be used ({why}). Enter their values again."
        ),
    }
}

/// The opened extra headers of stored provider `p` (none for a kind that takes none).
pub(super) async fn stored(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    org: &Org,
    p: &Provider,
) -> OpResult<Vec<(String, SecretString)>> {
    opened(conn, state, org.id, p).await
}

async fn opened(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    org_id: i64,
    p: &Provider,
) -> OpResult<Vec<(String, SecretString)>> {
    let Some(secret_id) = p.headers_secret_id.as_deref() else {
        return Ok(Vec::new());
    };
    if !p.kind.parse().is_ok_and(takes_headers) {
        return Ok(Vec::new());
    }
    let s = secret::find(conn, org_id, secret_id)
        .await?
        .ok_or_else(|| unusable("their secret is gone"))?;
    let json = sealing::open(
        &state.keyring,
        s.org_id,
        &s.id,
        &s.key_id,
        s.version,
        &s.envelope,
    )
    .map_err(|e| unusable(&e.to_string()))?;
    let pairs: Vec<(String, String)> = serde_json::from_str(json.expose_secret())
        .map_err(|_| unusable("they are not a list of headers"))?;
    Ok(pairs
        .into_iter()
        .map(|(n, v)| (n, SecretString::from(v)))
        .collect())
}

/// The opened extra headers of provider `provider_id` of org `org_id`, for the relay to
/// inject beside the provider's key: empty when it has none (or its kind takes none),
/// `NotFound` for a provider that is not the org's, 422 when they can't be opened. The
/// values are secrets: never log, echo or return them.
pub async fn open(
    state: &AppState,
    org_id: i64,
    provider_id: &str,
) -> OpResult<Vec<(String, SecretString)>> {
    let mut conn = state.pool.get().await?;
    let (p, _) = provider::find(&mut conn, org_id, provider_id)
        .await?
        .ok_or(OpError::NotFound)?;
    opened(&mut conn, state, org_id, &p).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: &str) -> SecretString {
        SecretString::from(v)
    }

    #[test]
    fn good_headers_pass() {
        assert!(check_header("X-Tenant", &value("t-1")).is_ok());
        assert!(check_header("cf-aig-authorization", &value("Bearer abc")).is_ok());
    }

    #[test]
    fn bad_headers_are_refused_without_their_value() {
        for (name, v) in [
            ("X Tenant", "v"),
            ("X-Tenant:", "v"),
            ("", "v"),
            ("Host", "v"),
            ("Authorization", "v"),
            ("Content-Length", "1"),
            ("Connection", "close"),
            ("Keep-Alive", "1"),
            ("Proxy-Authorization", "v"),
            ("Transfer-Encoding", "chunked"),
            ("X-Forwarded-For", "1.2.3.4"),
            ("X-Ok", "line\r\nInjected: yes"),
            ("X-Ok", "line\nnext"),
            ("X-Ok", "   "),
        ] {
            let e = check_header(name, &value(v)).expect_err(name);
            let text = format!("{e:?}");
            if v.len() > 3 {
                assert!(!text.contains(v), "{text} echoes the value");
            }
        }
        let long_name = "X".repeat(MAX_NAME_BYTES + 1);
        assert!(check_header(&long_name, &value("v")).is_err());
        let long_value = "v".repeat(MAX_VALUE_BYTES + 1);
        assert!(check_header("X-Ok", &value(&long_value)).is_err());
    }

    #[test]
    fn names_round_trip_through_config() {
        let mut config = json!({"supports_tools": true});
        let resolved = Resolved {
            headers: vec![
                ("X-A".to_owned(), value("1")),
                ("X-B".to_owned(), value("2")),
            ],
            changed: true,
        };
        record_names(&mut config, &resolved);
        assert_eq!(names_of(&config), ["X-A", "X-B"]);
        record_names(&mut config, &Resolved::default());
        assert_eq!(config, json!({"supports_tools": true}));
        let sealed = serialise(&resolved.headers);
        let back: Vec<(String, String)> = serde_json::from_str(&sealed).unwrap();
        assert_eq!(back[1], ("X-B".to_owned(), "2".to_owned()));
    }
}
