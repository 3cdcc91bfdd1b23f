//! `token create|list|revoke`: API tokens for a member of an org, the token alone on stdout.

use clap::Subcommand;
use secrecy::ExposeSecret as _;

use super::plumbing::{StateCommand, line, org_by_slug};
use crate::ops::{
    Caller, OpError, Scope,
    tokens::{self, TokenInput},
};

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token acting for a member of an org; prints the token (once) on standard
    /// output and nothing else there; what it is goes to standard error.
    Create {
        #[arg(long)]
        org: String,
        /// The member the token acts for: its scopes are cut at every use to what this
        /// user may still do in the org.
        #[arg(long)]
        email: String,
        /// Comma-separated scopes, e.g. `aiProviders:list,ai:resolve`.
        #[arg(long, required = true, value_delimiter = ',', value_parser = scope_arg)]
        scopes: Vec<Scope>,
        /// What the token is for.
        #[arg(long, default_value = "created with the CLI")]
        name: String,
        /// Lifetime: `Nd` (days, at most 366), `Nh` (hours) or `never`.
        #[arg(long, default_value = "90d", value_parser = lifetime_arg)]
        expires: Lifetime,
        /// A service token: the org's, for a platform service. It keeps working when the
        /// member named by `--email` (its creator of record, an admin) leaves; it carries only
        /// `ai:resolve`, `ai:relay` and `ai:release` (which only this command grants).
        #[arg(long)]
        service: bool,
    },
    /// List an org's tokens (never the tokens themselves), newest first.
    List {
        #[arg(long)]
        org: String,
    },
    /// Revoke a token: it stops working at once.
    Revoke {
        #[arg(long)]
        org: String,
        /// The token's id, as `token list` shows it.
        #[arg(long)]
        id: i64,
    },
}

/// A token lifetime from `--expires` (`None`: never expires).
#[derive(Debug, Clone, Copy)]
pub struct Lifetime(Option<chrono::TimeDelta>);

/// `--scopes` items: a scope a token may carry, or a usage error (exit 2) naming them all.
fn scope_arg(name: &str) -> Result<Scope, String> {
    tokens::parse_scopes(&[name])
        .map(|scopes| scopes[0])
        .map_err(|e| e.to_string())
}

/// `--expires`: a usage error (exit 2) when it is not a lifetime a token may have.
fn lifetime_arg(text: &str) -> Result<Lifetime, String> {
    tokens::parse_lifetime(text)
        .map(Lifetime)
        .map_err(|e| e.to_string())
}

/// `token create|list|revoke` as an operator in the org. `create` answers the token alone
/// (what `with_state` prints on stdout), so `TOKEN=$(switchboard token create …)` works;
/// its details go to stderr.
pub(super) fn token_command(command: TokenCommand) -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let (TokenCommand::Create { org, .. }
            | TokenCommand::List { org }
            | TokenCommand::Revoke { org, .. }) = &command;
            let org = org_by_slug(state, org).await?;
            let slug = org.slug.clone();
            let caller = Caller::operator(Some(org));
            let when = |at: Option<chrono::DateTime<chrono::Utc>>| {
                at.map_or("never".to_owned(), |t| {
                    t.format("%Y-%m-%d %H:%M UTC").to_string()
                })
            };
            match command {
                TokenCommand::Create {
                    email,
                    scopes,
                    name,
                    expires,
                    service,
                    ..
                } => {
                    let input = TokenInput {
                        name,
                        scopes,
                        expires_in: expires.0,
                        owner_email: Some(email),
                    };
                    let kind = if service {
                        tokens::TokenKind::Service
                    } else {
                        tokens::TokenKind::Personal
                    };
                    let created = tokens::create_token_of_kind(state, &caller, input, kind)
                        .await
                        .map_err(line)?;
                    let t = &created.token;
                    eprintln!(
                        "created {} token {} '{}' ({}…) in {slug} for {}: scopes {}; expires {}. \
                         It is shown only now.",
                        t.kind.as_str(),
                        t.id,
                        t.name,
                        t.prefix,
                        t.owner_email,
                        t.scopes.join(","),
                        when(t.expires_at),
                    );
                    Ok(created.secret.expose_secret().to_owned())
                }
                TokenCommand::List { .. } => {
                    let now = state.clock.now();
                    let listed = tokens::list_tokens(state, &caller).await.map_err(line)?;
                    let lines: Vec<String> = listed
                        .iter()
                        .map(|t| {
                            let status = match t.status(now) {
                                tokens::TokenStatus::Live => {
                                    format!("expires {}", when(t.expires_at))
                                }
                                tokens::TokenStatus::Expired => "expired".to_owned(),
                                tokens::TokenStatus::Revoked => "revoked".to_owned(),
                            };
                            format!(
                                "{}\t{}…\t{}\t{}\t{}\t{}\tlast used {}\t{}",
                                t.id,
                                t.prefix,
                                t.name,
                                t.kind.as_str(),
                                t.owner_email,
                                t.scopes.join(","),
                                when(t.last_used_at),
                                status
                            )
                        })
                        .collect();
                    Ok(if lines.is_empty() {
                        format!("{slug} has no API tokens")
                    } else {
                        lines.join("\n")
                    })
                }
                TokenCommand::Revoke { id, .. } => {
                    let t =
                        tokens::revoke_token(state, &caller, id)
                            .await
                            .map_err(|e| match e {
                                OpError::NotFound => {
                                    anyhow::anyhow!("{slug} has no live token with id {id}")
                                }
                                other => line(other),
                            })?;
                    Ok(format!(
                        "revoked token {} '{}' ({}…)",
                        t.id, t.name, t.prefix
                    ))
                }
            }
        })
    })
}
