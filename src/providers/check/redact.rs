//! Removing secrets from what a check shows: the key and every header value the check
//! sent are replaced, whole or in fragments (a provider may echo part of a key, and a
//! cut at the excerpt's end could leave half of one), before anything is truncated.

use zeroize::Zeroizing;

/// What stands in for a removed secret.
pub const REDACTED: &str = "[redacted]";

/// The longest excerpt, in characters.
pub const EXCERPT_CHARS: usize = 300;

/// How much of a body is scrubbed for an excerpt, in characters: room for indentation.
const EXCERPT_WINDOW: usize = 4096;

/// Fragments of a secret this long (or the whole secret, if shorter) are removed.
const MIN_FRAGMENT: usize = 6;

/// Holds the secret strings of one check and scrubs text of them.
pub(crate) struct Redactor {
    secrets: Vec<Zeroizing<Vec<char>>>,
}

impl Redactor {
    /// A redactor for these secret values (empty ones are ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut secrets: Vec<_> = secrets
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(|s| Zeroizing::new(s.chars().collect::<Vec<char>>()))
            .collect();
        // Longest first, so a key is removed whole before a shorter value inside it.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self { secrets }
    }

    /// `text` with every secret, and every fragment of one, replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for secret in &self.secrets {
            chars = scrub_one(&chars, secret);
        }
        chars.into_iter().collect()
    }

    /// A short excerpt of a response body: scrubbed, whitespace collapsed, and cut to
    /// [`EXCERPT_CHARS`]. `None` for an empty body. Scrubbing comes first: a secret that
    /// itself contains a run of whitespace would no longer match once it is collapsed.
    pub fn excerpt(&self, body: &[u8]) -> Option<String> {
        // Look at a bounded prefix only: the excerpt is short and scrubbing is quadratic.
        let head = &body[..body.len().min(16 * 1024)];
        let window: String = String::from_utf8_lossy(head)
            .chars()
            .take(EXCERPT_WINDOW)
            .collect();
        let collapsed = self
            .scrub(&window)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if collapsed.is_empty() {
            return None;
        }
        Some(truncate(&collapsed, EXCERPT_CHARS))
    }
}

/// Cuts `text` to at most `max` characters, marking a cut with `…`.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn scrub_one(text: &[char], secret: &[char]) -> Vec<char> {
    let short = secret.len() < MIN_FRAGMENT;
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let len = match short {
            // A short secret (`x`, `EMPTY`) is removed only as a whole token: removing
            // every `x` of a message would leave nothing readable.
            true => whole_token_at(text, i, secret),
            false => Some(longest_fragment_at(&text[i..], secret)).filter(|l| *l >= MIN_FRAGMENT),
        };
        match len {
            Some(len) => {
                out.extend(REDACTED.chars());
                i += len;
            }
            None => {
                out.push(text[i]);
                i += 1;
            }
        }
    }
    out
}

/// `Some(secret.len())` when `secret` stands at `i` as a whole token.
fn whole_token_at(text: &[char], i: usize, secret: &[char]) -> Option<usize> {
    let end = i + secret.len();
    let word = |c: &char| c.is_alphanumeric() || *c == '_' || *c == '-';
    let matches = text.get(i..end) == Some(secret);
    let open_before = i == 0 || !word(&text[i - 1]);
    let open_after = text.get(end).is_none_or(|c| !word(c));
    (matches && open_before && open_after).then_some(secret.len())
}

/// The length of the longest prefix of `text` that occurs somewhere in `secret`.
fn longest_fragment_at(text: &[char], secret: &[char]) -> usize {
    (0..secret.len())
        .map(|j| {
            text.iter()
                .zip(&secret[j..])
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_with_a_run_of_whitespace_is_removed_before_collapsing() {
        let secret = "tok  en\tvalue-with-spaces";
        let r = Redactor::new([secret]);
        let body = format!("{{\"error\": \"bad header {secret}\"}}");
        let excerpt = r.excerpt(body.as_bytes()).unwrap();
        assert!(excerpt.contains(REDACTED), "{excerpt}");
        for piece in ["tok", "en", "value-with-spaces"] {
            assert!(!excerpt.contains(piece), "{piece} in {excerpt}");
        }
    }

    #[test]
    fn removes_whole_keys_and_fragments() {
        let r = Redactor::new(["sk-canary-1234567890abcdef", "hdr-value-xyz"]);
        let s = r
            .scrub("bad key sk-canary-1234567890abcdef; shown as sk-canary-12…cdef; hdr-value-xyz");
        assert!(!s.contains("1234567890"), "{s}");
        assert!(!s.contains("hdr-value"), "{s}");
        assert!(s.contains("bad key [redacted]"), "{s}");
    }

    #[test]
    fn short_secrets_are_removed_as_whole_tokens_only() {
        let r = Redactor::new(["x"]);
        assert_eq!(
            r.scrub("token x rejected by xai"),
            "token [redacted] rejected by xai"
        );
    }

    #[test]
    fn excerpt_is_short_and_collapsed() {
        let r = Redactor::new(["secret-key-000"]);
        let body = format!("<html>\n\n   {} secret-key-000</html>", "x".repeat(1000));
        let e = r.excerpt(body.as_bytes()).expect("non-empty");
        assert!(e.chars().count() <= EXCERPT_CHARS);
        assert!(e.starts_with("<html> xxx"));
        assert_eq!(r.excerpt(b"  \n"), None);
    }
}
