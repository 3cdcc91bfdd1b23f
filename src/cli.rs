//! The command line: `serve` (default), `migrate`, the operator commands that create
//! users, orgs and memberships, and master-key generation and rotation. Errors are one clear
//! line and a non-zero exit.

use std::io::BufRead as _;

use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret as _, SecretString};

use crate::{
    clock::Clock,
    config::Config,
    crypto::keyring::Keyring,
    db::{self, Database},
    models::{membership::Role, org::Org},
    ops::{
        Caller, OpError, Scope,
        accounts::{self, NewAccount},
        keys,
        members::{self, AddMember},
        orgs::{self, NewOrgInput},
        tokens::{self, TokenInput},
    },
    startup::{Application, Options},
    state::AppState,
};

/// Switchboard: choose the LLM provider behind each organisation's AI features.
#[derive(Parser, Debug)]
#[command(name = "switchboard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Top-level commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the console (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage memberships.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// Check provider connectivity (key read from standard input).
    Provider {
        #[command(subcommand)]
        command: crate::providers::cli::ProviderCommand,
    },
    /// Check the audit trail's tamper evidence.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Create, list and revoke API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Generate master keys and re-encrypt stored secrets under the primary one.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk every event's hash chain (or one org's) from its first event; exit non-zero
    /// naming the first broken link.
    Verify {
        /// Only this org's chain (its slug).
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Print a new master key entry `id:base64key` (for SWITCHBOARD_MASTER_KEYS).
    Generate {
        /// The key id (letters, digits, `-`, `_`); default `k` + the UTC date and time.
        #[arg(long)]
        id: Option<String>,
    },
    /// Re-wrap every stored secret under the primary (first) master key. Resumable: each
    /// secret commits on its own, so running it again continues where it stopped.
    Rotate {
        /// Secrets read per query.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Support staff: may read every org, never change anything.
        #[arg(long)]
        support: bool,
        /// Read the password from standard input (required: passwords never go in argv).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (read from standard input) and log them out everywhere.
    SetPassword {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required: passwords never go in argv).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: they can no longer log in and every session of theirs ends.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Re-enable a disabled user.
    Enable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// Create an organisation.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum MemberCommand {
    /// Add an existing user to an org.
    Add {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "member"])]
        role: String,
    },
}

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

/// Runs the parsed command line.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = Database::open(&config).await?;
            let checked = warn_about_support_members(&db.url).await;
            db.close().await;
            checked?;
            println!("database is up to date");
            Ok(())
        }
        Command::User { command } => with_state(config, user_command(command)).await,
        Command::Org { command } => with_state(config, org_command(command)).await,
        Command::Member { command } => with_state(config, member_command(command)).await,
        Command::Token { command } => with_state(config, token_command(command)).await,
        Command::Audit {
            command: AuditCommand::Verify { org },
        } => with_state(config, verify_audit(org)).await,
        Command::Keys {
            command: KeysCommand::Generate { id },
        } => generate_key(id),
        Command::Keys {
            command: KeysCommand::Rotate { batch },
        } => with_state(config, rotate_keys(batch)).await,
        Command::Provider { command } => {
            let code = crate::providers::cli::run(command, config.check.clone()).await;
            if code == std::process::ExitCode::SUCCESS {
                Ok(())
            } else {
                Err(ProviderCheckFailed(code).into())
            }
        }
    }
}

/// Reports, one warning line on stderr each, support accounts that are also members of an
/// org: the rules refuse to create that combination now, but older data may hold it.
async fn warn_about_support_members(url: &str) -> anyhow::Result<()> {
    let pool = db::pool(url, 1)?;
    let mut conn = pool.get().await?;
    for (email, org) in crate::models::membership::support_members(&mut conn).await? {
        eprintln!(
            "warning: {email} is a support account and a member of {org}; support staff are \
             never members: remove the membership, or give them a separate non-support account"
        );
    }
    Ok(())
}

/// A provider check that did not pass; it has already printed why.
#[derive(Debug, thiserror::Error)]
#[error("provider check did not pass")]
pub struct ProviderCheckFailed(pub std::process::ExitCode);

type BoxFut<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<String>> + 'a>>;
type StateCommand = Box<dyn for<'s> FnOnce(&'s AppState) -> BoxFut<'s>>;

/// Opens the database (embedded or `DATABASE_URL`), builds the state operations need, runs
/// `command` as an operator and prints its one-line result.
async fn with_state(config: Config, command: StateCommand) -> anyhow::Result<()> {
    let db = Database::open(&config).await?;
    let url = db.url.clone();
    // Interrupted (signal, or a panic such as a closed pipe), the cluster is still stopped.
    let result = db::interrupt::run_then_close(db, async {
        let pool = db::pool(&url, 2)?;
        let state = AppState::new(config, pool, Clock::default(), 1).await?;
        command(&state).await
    })
    .await;
    println!("{}", result?);
    Ok(())
}

/// An operation's error as one line for the operator.
fn line(e: OpError) -> anyhow::Error {
    match e {
        OpError::Internal(cause) => cause,
        other => anyhow::anyhow!("{other}"),
    }
}

/// Reads a password from the first line of standard input.
fn password_from_stdin(password_stdin: bool) -> anyhow::Result<SecretString> {
    anyhow::ensure!(
        password_stdin,
        "pass --password-stdin and the password on standard input"
    );
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(SecretString::from(
        line.trim_end_matches(['\n', '\r']).to_owned(),
    ))
}

/// The org with `slug`, for an operator command.
async fn org_by_slug(state: &AppState, slug: &str) -> anyhow::Result<Org> {
    let mut conn = state.pool.get().await?;
    Org::find_by_slug(&mut conn, slug)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no org with slug {slug}"))
}

fn user_command(command: UserCommand) -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let operator = Caller::operator(None);
            match command {
                UserCommand::Create {
                    email,
                    name,
                    support,
                    password_stdin,
                } => {
                    let password = password_from_stdin(password_stdin)?;
                    let input = NewAccount {
                        email,
                        name,
                        support,
                        password,
                    };
                    let user = accounts::create_user(state, &operator, input)
                        .await
                        .map_err(line)?;
                    Ok(format!(
                        "created user {} (id {}{})",
                        user.email,
                        user.id,
                        if support { ", support staff" } else { "" }
                    ))
                }
                UserCommand::SetPassword {
                    email,
                    password_stdin,
                } => {
                    let password = password_from_stdin(password_stdin)?;
                    let user = accounts::reset_password(state, &operator, &email, password)
                        .await
                        .map_err(line)?;
                    Ok(format!(
                        "set a new password for {}; their sessions have ended",
                        user.email
                    ))
                }
                UserCommand::Disable { ref email } | UserCommand::Enable { ref email } => {
                    let disable = matches!(command, UserCommand::Disable { .. });
                    let (user, changed) = accounts::set_disabled(state, &operator, email, disable)
                        .await
                        .map_err(line)?;
                    Ok(match (disable, changed) {
                        (true, true) => {
                            format!("disabled {}; their sessions have ended", user.email)
                        }
                        (false, true) => format!("enabled {}", user.email),
                        (true, false) => format!("{} was already disabled", user.email),
                        (false, false) => format!("{} was not disabled", user.email),
                    })
                }
            }
        })
    })
}

fn org_command(command: OrgCommand) -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let OrgCommand::Create { slug, name } = command;
            let org = orgs::create_org(state, &Caller::operator(None), NewOrgInput { slug, name })
                .await
                .map_err(line)?;
            Ok(format!("created org {} ({})", org.slug, org.name))
        })
    })
}

fn member_command(command: MemberCommand) -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let MemberCommand::Add { org, email, role } = command;
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("role must be admin or member"))?;
            let org = org_by_slug(state, &org).await?;
            let slug = org.slug.clone();
            let caller = Caller::operator(Some(org));
            let user = members::add_member(state, &caller, AddMember { email, role })
                .await
                .map_err(line)?;
            Ok(format!(
                "added {} to {slug} as {}",
                user.email,
                role.as_str()
            ))
        })
    })
}

/// `token create|list|revoke` as an operator in the org. `create` answers the token alone
/// (what `with_state` prints on stdout), so `TOKEN=$(switchboard token create …)` works;
/// its details go to stderr.
fn token_command(command: TokenCommand) -> StateCommand {
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
                    ..
                } => {
                    let input = TokenInput {
                        name,
                        scopes,
                        expires_in: expires.0,
                        owner_email: Some(email),
                    };
                    let created = tokens::create_token(state, &caller, input)
                        .await
                        .map_err(line)?;
                    let t = &created.token;
                    eprintln!(
                        "created token {} '{}' ({}…) in {slug} for {}: scopes {}; expires {}. \
                         It is shown only now.",
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
                                "{}\t{}…\t{}\t{}\t{}\tlast used {}\t{}",
                                t.id,
                                t.prefix,
                                t.name,
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

/// `audit verify`: the count on stdout, or an error naming the first broken link.
fn verify_audit(org: Option<String>) -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let org = match org {
                Some(slug) => Some(org_by_slug(state, &slug).await?),
                None => None,
            };
            let report = crate::ops::trail::verify(state, &Caller::operator(None), org.as_ref())
                .await
                .map_err(line)?;
            if let Some((slug, broken)) = report.broken {
                let chain = slug.map_or("events without an org".to_owned(), |s| format!("org {s}"));
                let event = broken
                    .event_id
                    .map_or("after the last stored event".to_owned(), |id| {
                        format!("at event {id}")
                    });
                anyhow::bail!(
                    "audit chain of {chain} is broken {event}: {} ({} events verified before it)",
                    broken.reason,
                    report.verified
                );
            }
            Ok(format!(
                "verified {} audit events in {} chain{}: every hash matches",
                report.verified,
                report.chains,
                if report.chains == 1 { "" } else { "s" }
            ))
        })
    })
}

/// Prints a new master key entry on stdout (the only place the key appears) and how to use
/// it on stderr. Needs no database.
fn generate_key(id: Option<String>) -> anyhow::Result<()> {
    let id = id.unwrap_or_else(|| format!("k{}", chrono::Utc::now().format("%Y%m%d-%H%M%S")));
    anyhow::ensure!(
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "key id '{id}' must be letters, digits, '-' or '_'"
    );
    let entry = Keyring::generate_entry(&id);
    println!("{}", entry.expose_secret());
    eprintln!(
        "New master key '{id}'. Prepend it to SWITCHBOARD_MASTER_KEYS (SWITCHBOARD_MASTER_KEYS=<it>,<current keys>), \
         restart Switchboard, run `switchboard keys rotate`, then remove the old keys."
    );
    Ok(())
}

/// `keys rotate`: progress on stderr every 100 secrets and at the end, the count on stdout.
fn rotate_keys(batch: i64) -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let report = keys::rotate(state, &Caller::operator(None), batch, |at| {
                if at.done() % 100 == 0 || at.done() == at.total {
                    let skipped = match at.skipped {
                        0 => String::new(),
                        n => format!(" ({n} skipped)"),
                    };
                    eprintln!("rotated {}/{}{skipped}", at.rotated, at.total);
                }
            })
            .await
            .map_err(line)?;
            Ok(format!(
                "rotated {} secrets to master key '{}' ({} skipped because they changed meanwhile, \
                 {} already under it)",
                report.rotated, report.key_id, report.skipped, report.already
            ))
        })
    })
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config).await?;
    let result = async {
        let app = Application::build(config.clone(), &db.url, Options::default()).await?;
        let base = config
            .public_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{}:{}", config.bind.ip(), app.port()));
        tracing::info!(address = %base, "Switchboard is listening");
        if let Some(token) = app.setup_token() {
            // Printed to stdout, not the log: it is a one-time secret for the operator.
            println!("No users yet. Create the first admin and org at: {base}/setup?token={token}");
        }
        app.run_until_stopped().await?;
        tracing::info!("server stopped");
        anyhow::Ok(())
    }
    .await;
    db.close().await;
    result
}
