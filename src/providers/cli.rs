//! `switchboard provider check …`: run one live check from a shell. The key is read from
//! standard input (never from an argument, where `ps` and shell history would keep it).

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use clap::Subcommand;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::catalog::ProviderKind;
use super::check::{CheckRequest, CheckSettings, Checker};

/// Exit status of a check that ran and failed.
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit status of a usage error (unreadable stdin); `main` uses the same status for a bad
/// environment value.
pub const EXIT_USAGE: u8 = 2;

/// `switchboard provider …` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Live-check a provider configuration; the API key is read from stdin.
    /// Exits 0 only when the check passes.
    Check {
        /// Provider kind: openai, anthropic, google, azure, xai, groq, ollama, bedrock,
        /// gateway or custom.
        #[arg(long)]
        kind: ProviderKind,
        /// The model to check.
        #[arg(long)]
        model: String,
        /// Base URL (required for azure, ollama, gateway, custom).
        #[arg(long)]
        base_url: Option<String>,
        /// Azure deployment name.
        #[arg(long)]
        deployment: Option<String>,
        /// Azure api-version.
        #[arg(long)]
        api_version: Option<String>,
        /// Bedrock region.
        #[arg(long)]
        region: Option<String>,
    },
}

/// Runs a provider subcommand under `settings` (the start-up `Config`'s, so a bad
/// environment value has already stopped the process) and returns the exit code.
pub async fn run(command: ProviderCommand, settings: CheckSettings) -> ExitCode {
    match command {
        ProviderCommand::Check {
            kind,
            model,
            base_url,
            deployment,
            api_version,
            region,
        } => {
            let api_key = match read_key(kind) {
                Ok(key) => key,
                Err(e) => {
                    return usage_error(&format!("could not read the API key from stdin: {e}"));
                }
            };
            let request = CheckRequest {
                base_url,
                api_key,
                deployment,
                api_version,
                region,
                ..CheckRequest::new(kind, model)
            };
            let outcome = Checker::new(settings).check(&request).await;
            let mut out = std::io::stdout().lock();
            // A closed stdout can't be reported anywhere; the exit code still tells.
            // Upstream text (model ids, error bodies) reaches the operator's terminal:
            // printed without control characters, so a hostile endpoint cannot send escapes.
            let _ = writeln!(out, "{}", for_terminal(&outcome.to_string()));
            if let Some(excerpt) = &outcome.excerpt {
                let _ = writeln!(out, "upstream said: {}", for_terminal(excerpt));
            }
            // The stored message speaks to org admins ("ask your platform operator"); the
            // operator at this terminal gets the setting's technical name.
            if outcome.code == Some(super::check::FailureCode::BlockedAddress) {
                let _ = writeln!(
                    out,
                    "operator: the allow-list is {}",
                    super::egress::EGRESS_ENV
                );
            } else if outcome.code == Some(super::check::FailureCode::Timeout) {
                let _ = writeln!(
                    out,
                    "operator: the time limit is {}",
                    super::check::TIMEOUT_ENV
                );
            }
            match outcome.ok {
                true => ExitCode::SUCCESS,
                false => ExitCode::from(EXIT_CHECK_FAILED),
            }
        }
    }
}

/// `text` safe to print on a terminal: control characters (ESC, CR, BEL, C1 such as CSI…)
/// and bidirectional overrides are removed.
pub fn for_terminal(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

fn usage_error(line: &str) -> ExitCode {
    eprintln!("error: {line}");
    ExitCode::from(EXIT_USAGE)
}

/// Reads the key from stdin, dropping one trailing newline. Empty input is no key
/// (fine for kinds whose key is optional; the check reports it for the others).
fn read_key(kind: ProviderKind) -> std::io::Result<Option<SecretString>> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        let need = match kind.entry().key.required {
            true => "required",
            false => "optional, press Ctrl-D for none",
        };
        eprintln!("API key for {} ({need}):", kind.entry().label);
    }
    let mut buffer = Zeroizing::new(String::new());
    stdin.read_to_string(&mut buffer)?;
    let key = buffer.strip_suffix('\n').unwrap_or(&buffer);
    let key = key.strip_suffix('\r').unwrap_or(key);
    Ok((!key.is_empty()).then(|| SecretString::from(key.to_owned())))
}

#[cfg(test)]
mod tests {
    #[test]
    fn terminal_text_loses_escapes_and_bidi_overrides() {
        assert_eq!(
            super::for_terminal("\u{1b}[31mred\u{1b}[0m \u{9b}2J\u{7}\r\u{202e}txt"),
            "[31mred[0m 2Jtxt"
        );
    }
}
