//! What a token may be given: the scopes a token may carry and its lifetime, parsed the same
//! way for the console's form and the CLI.

use chrono::TimeDelta;

use crate::ops::{OpError, OpResult, Scope};

/// Longest lifetime a token may be given: a year (366 days, so "a year from now" fits
/// across a 29 February).
pub const MAX_LIFETIME: TimeDelta = TimeDelta::days(366);
/// The lifetime of a token when none is chosen (the console's preselected expiry and the
/// CLI's `--expires` default): long enough for a script, short enough that a forgotten
/// token dies on its own (docs/DECISIONS.md "API tokens").
pub const DEFAULT_LIFETIME: TimeDelta = TimeDelta::days(90);

/// The scopes an API token may carry: every scope but the console-only member ones and
/// `ai:release`, which only an operator grants to a service token (`parse_scopes` still
/// reads it, for the CLI).
pub fn grantable() -> impl Iterator<Item = Scope> {
    Scope::ALL.into_iter().filter(|s| {
        !matches!(
            s,
            Scope::MembersList | Scope::MembersManage | Scope::AiRelease
        )
    })
}

/// The grantable scopes' names, comma-separated: what an error about a scope lists.
fn grantable_names() -> String {
    grantable()
        .map(Scope::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses scope names as a form or the CLI gives them (`aiProviders:list`, …): every name
/// must be a scope a token may carry, and one at least must be given. The console and the
/// CLI share it, so both refuse the same names with the same message naming the valid ones.
/// The AI Providers Module's permission names (`aiProviders:ListAiProviders`, …) are
/// accepted as aliases and come back as the canonical scopes (each scope once).
pub fn parse_scopes<S: AsRef<str>>(names: &[S]) -> OpResult<Vec<Scope>> {
    let mut scopes = Vec::with_capacity(names.len());
    for name in names.iter().map(|n| n.as_ref().trim()) {
        match Scope::parse_or_alias(name)
            .filter(|s| *s == Scope::AiRelease || grantable().any(|g| g == *s))
        {
            Some(scope) if scopes.contains(&scope) => {}
            Some(scope) => scopes.push(scope),
            None => {
                // Named back (cut short) so the user sees which one; askama escapes it.
                let shown: String = name.chars().take(40).collect();
                return Err(OpError::invalid(
                    "scopes",
                    format!(
                        "Unknown scope '{shown}'. A token may carry: {}.",
                        grantable_names()
                    ),
                ));
            }
        }
    }
    if scopes.is_empty() {
        return Err(OpError::invalid("scopes", "Choose at least one scope."));
    }
    Ok(scopes)
}

/// Parses a lifetime as the console's expiry select and the CLI's `--expires` spell it:
/// `Nd` (days), `Nh` (hours) or `never` (`None`). It must be positive and at most
/// [`MAX_LIFETIME`].
pub fn parse_lifetime(text: &str) -> OpResult<Option<TimeDelta>> {
    let text = text.trim();
    if text == "never" {
        return Ok(None);
    }
    let bad = || {
        OpError::invalid(
            "expires",
            "The expiry must be a number of days or hours (e.g. 30d, 12h) or 'never'.",
        )
    };
    let (number, per) = match (text.strip_suffix('d'), text.strip_suffix('h')) {
        (Some(days), _) => (days, TimeDelta::try_days as fn(i64) -> Option<TimeDelta>),
        (_, Some(hours)) => (hours, TimeDelta::try_hours as fn(i64) -> Option<TimeDelta>),
        _ => return Err(bad()),
    };
    // Digits only (`u32` would also take a leading `+`).
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u32 = number.parse().map_err(|_| bad())?;
    let lifetime = per(n.into()).ok_or_else(bad)?;
    check_lifetime(Some(lifetime))?;
    Ok(Some(lifetime))
}

pub(super) fn check_lifetime(lifetime: Option<TimeDelta>) -> OpResult<()> {
    match lifetime {
        Some(d) if d <= TimeDelta::zero() => Err(OpError::invalid(
            "expires",
            "The expiry must be in the future.",
        )),
        Some(d) if d > MAX_LIFETIME => Err(OpError::invalid(
            "expires",
            "A token may live at most a year (or never expire).",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_as_the_console_and_the_cli_spell_them() {
        assert_eq!(parse_lifetime("never").unwrap(), None);
        assert_eq!(parse_lifetime("30d").unwrap(), Some(TimeDelta::days(30)));
        assert_eq!(parse_lifetime(" 12h ").unwrap(), Some(TimeDelta::hours(12)));
        assert_eq!(parse_lifetime("366d").unwrap(), Some(MAX_LIFETIME));
        for bad in [
            "",
            "d",
            "0d",
            "0h",
            "367d",
            "8785h",
            "-1d",
            "+3d",
            "3",
            "3w",
            "1y",
            "3 d",
            "9999999999d",
            "é",
            "1é",
            "Never",
        ] {
            assert!(parse_lifetime(bad).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn scopes_parse_only_when_a_token_may_carry_them() {
        assert_eq!(
            parse_scopes(&["aiProviders:list", " ai:resolve"]).unwrap(),
            vec![Scope::AiProvidersList, Scope::AiResolve]
        );
        let none: [&str; 0] = [];
        assert!(parse_scopes(&none).is_err());
        assert_eq!(
            parse_scopes(&[
                "aiProviders:ListAiProviders",
                "aiProviders:list",
                "aiProviders:DeleteAiProvider"
            ])
            .unwrap(),
            vec![Scope::AiProvidersList, Scope::AiProvidersDelete],
            "seed aliases are stored as the canonical scopes, once"
        );
        for bad in [
            "members:list",
            "aiProviders:fly",
            "",
            "AIPROVIDERS:LIST",
            "aiProviders:listaiproviders",
        ] {
            let message = parse_scopes(&[bad]).unwrap_err().to_string();
            assert!(
                message.contains("A token may carry: aiProviders:list,")
                    && message.contains("ai:resolve."),
                "{bad:?}: {message}"
            );
        }
    }
}
