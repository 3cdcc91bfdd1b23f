//! Two refusals every transport gets from here (issue 22): a key that is only the masked
//! preview of one (typed back from the page, or shaped like a preview) is never stored as a
//! key; and the org's active provider is never saved without a passing live check.

use diesel_async::AsyncPgConnection;
use secrecy::{ExposeSecret as _, SecretString};

use crate::{
    models::provider,
    ops::{OpError, OpResult},
};

/// Whether `value` looks like a key preview rather than a key: `…` or `...` followed by at
/// most a handful of last characters (what `secrets.preview` shows, e.g. `sk-ant-...3210`),
/// or the stored preview itself.
pub(super) fn is_preview_shaped(value: &str, stored_preview: Option<&str>) -> bool {
    let value = value.trim();
    if stored_preview.is_some_and(|p| !p.is_empty() && p == value) {
        return true;
    }
    let tail = match (value.rfind("..."), value.rfind('…')) {
        (Some(i), _) => &value[i + 3..],
        (None, Some(i)) => &value[i + '…'.len_utf8()..],
        (None, None) => return false,
    };
    tail.chars().count() <= 8
        && tail
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Refuses (400) a typed key that is a preview, not a key.
pub(super) fn refuse_preview(key: &SecretString, stored_preview: Option<&str>) -> OpResult<()> {
    if is_preview_shaped(key.expose_secret(), stored_preview) {
        return Err(OpError::invalid(
            "api_key",
            "This is the masked preview of a key (like sk-...WXYZ), not a key: enter the whole \
             key, or leave the field blank to keep the stored one.",
        ));
    }
    Ok(())
}

/// Refuses (422) saving the org's active provider without a passing live check: it would
/// stay in use with settings nobody checked, and moving the org to the platform default
/// instead would send a strict org's data to the platform. Call inside the transaction after
/// locking the settings row, and once before the check for an early answer.
pub(super) async fn refuse_unverified_active(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
    name: &str,
    lock: bool,
) -> OpResult<()> {
    let active = if lock {
        provider::lock_settings(conn, org_id)
            .await?
            .active_provider_id
    } else {
        provider::active_provider_id(conn, org_id).await?
    };
    if active.as_deref() == Some(id) {
        return Err(OpError::Unprocessable {
            field: Some("save_unverified"),
            message: format!(
                "{name} is the active provider, so its changes must pass the live check before \
                 they are saved: saving unverified would keep the org's AI features on settings \
                 nobody checked. Save with the check, or activate another provider (or the \
                 platform default) first."
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_recognised_and_keys_are_not() {
        for preview in [
            "sk-ant-...3210",
            "...WXYZ",
            "...",
            "sk-…3210",
            "…",
            " sk-proj-...abcd ",
        ] {
            assert!(is_preview_shaped(preview, None), "{preview}");
        }
        assert!(
            is_preview_shaped("gsk_x", Some("gsk_x")),
            "the stored preview itself"
        );
        for key in [
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789",
            "AKIA...but-this-tail-is-far-too-long-to-be-a-preview",
            "plainkey",
        ] {
            assert!(!is_preview_shaped(key, Some("sk-...WXYZ")), "{key}");
        }
    }
}
