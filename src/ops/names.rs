//! Characters refused in names and identifiers (skills, providers, orgs, tokens, people):
//! the bidirectional embeddings, overrides and isolates (U+202A–202E, U+2066–2069), which
//! make text display differently from what it is, and the invisible U+200B and U+FEFF.
//! ZWNJ, ZWJ, LRM and RLM (U+200C–200F) stay: real names in Persian and Indic scripts and
//! emoji need them. Markdown text (a skill's instructions) is not checked.

use super::{OpError, OpResult};

/// The Unicode name of a refused character, or `None` if `c` is allowed.
pub fn refused(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        _ => return None,
    })
}

/// A 400 on `field` naming the first refused character of `value`, if it has one.
pub fn refuse_invisible(field: &'static str, what: &str, value: &str) -> OpResult<()> {
    match value.chars().find_map(|c| refused(c).map(|n| (c, n))) {
        None => Ok(()),
        Some((c, name)) => Err(OpError::invalid(
            field,
            format!(
                "The {what} contains U+{:04X} {name}, an invisible character that can make text \
                 read differently from what it is: remove it.",
                u32::from(c)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_and_invisible_spaces_are_refused_and_joiners_kept() {
        for c in ('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}')
            .chain(['\u{200B}', '\u{FEFF}'])
        {
            let err = refuse_invisible("name", "name", &format!("a{c}b")).unwrap_err();
            assert!(
                err.to_string().contains(&format!("U+{:04X}", u32::from(c))),
                "{err}"
            );
            assert_eq!(err.field(), Some("name"));
        }
        // ZWNJ in Persian, ZWJ in an emoji sequence, LRM and RLM.
        for ok in [
            "می\u{200C}خواهم",
            "👩\u{200D}💻",
            "a\u{200E}b",
            "a\u{200F}b",
            "Acme",
        ] {
            assert!(refuse_invisible("name", "name", ok).is_ok(), "{ok}");
        }
    }
}
