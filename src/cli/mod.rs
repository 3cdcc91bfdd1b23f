//! The command line: `serve` (default), `migrate`, and the operator commands (one file per
//! group: `people` for users, orgs and memberships, `tokens`, `keys` for master keys and the
//! audit trail). Each command only translates into an operation and out of it. Errors are
//! one clear line and a non-zero exit.

mod keys;
mod people;
mod plumbing;
mod tokens;
mod trust;

pub use keys::{AuditCommand, KeysCommand};
pub use people::{MemberCommand, OrgCommand, UserCommand};
pub use tokens::{Lifetime, TokenCommand};

use keys::{generate_key, rotate_keys};
use people::{member_command, org_command, user_command};
use plumbing::{line, with_state};
use tokens::token_command;

use clap::{Parser, Subcommand};

use crate::{
    config::Config,
    db::{self, Database},
    ops::setup::StartupSetup,
    startup::{Application, Options},
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
    /// Print a new first-run setup URL (valid 24 h, once), voiding the previous one;
    /// refused once a user exists.
    SetupUrl,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = Database::open(config.database_url.as_ref(), &config.data_dir).await?;
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
            command:
                AuditCommand::Verify {
                    org,
                    checkpoints,
                    public_key,
                },
        } => with_state(config, trust::verify(org, checkpoints, public_key)).await,
        Command::Audit {
            command: AuditCommand::MarkRestore,
        } => with_state(config, trust::mark_restore()).await,
        Command::Audit {
            command: AuditCommand::PublicKey,
        } => trust::public_key(&config),
        Command::Keys {
            command: KeysCommand::Generate { id, audit: true },
        } => trust::generate(id),
        Command::Keys {
            command: KeysCommand::Generate { id, audit: false },
        } => generate_key(id),
        Command::Keys {
            command: KeysCommand::Rotate { batch },
        } => with_state(config, rotate_keys(batch)).await,
        Command::SetupUrl => {
            let base = base_url(&config, config.bind.port());
            with_state(
                config,
                Box::new(move |state| {
                    Box::pin(async move {
                        let token = crate::ops::setup::new_token(state).await.map_err(line)?;
                        Ok(setup_line(&base, &token))
                    })
                }),
            )
            .await
        }
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

/// The address operators reach the console at: `SWITCHBOARD_PUBLIC_URL`, else the bind
/// address with `port`.
fn base_url(config: &Config, port: u16) -> String {
    config
        .public_url
        .as_ref()
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("http://{}:{}", config.bind.ip(), port))
}

/// The line that hands the operator a setup URL.
fn setup_line(base: &str, token: &str) -> String {
    format!(
        "No users yet. Create the first admin and org at: {base}/setup?token={token} \
         (valid for 24 hours, once)"
    )
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let db = Database::open(config.database_url.as_ref(), &config.data_dir).await?;
    let result = async {
        let app = Application::build(config.clone(), &db.url, Options::default()).await?;
        let base = base_url(&config, app.port());
        tracing::info!(address = %base, "Switchboard is listening");
        match app.setup() {
            // Printed to stdout, not the log: it is a one-time secret for the operator.
            StartupSetup::Issued(token) => println!("{}", setup_line(&base, token)),
            StartupSetup::PrintedElsewhere => println!(
                "No users yet. A setup URL was printed by another instance (or an earlier \
                 start); `switchboard setup-url` prints a new one and voids the old."
            ),
            StartupSetup::Done => {}
        }
        app.run_until_stopped().await?;
        tracing::info!("server stopped");
        anyhow::Ok(())
    }
    .await;
    db.close().await;
    result
}
