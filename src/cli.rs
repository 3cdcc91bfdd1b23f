//! The command line: `serve` (default), `migrate`, and the operator commands that create
//! users, orgs and memberships. Errors are one clear line and a non-zero exit.

use std::io::BufRead as _;

use clap::{Parser, Subcommand};
use secrecy::SecretString;

use crate::{
    config::Config,
    crypto::{keyring::Keyring, password},
    db::Database,
    models::{
        audit::{Actor, NewEvent, RequestMeta},
        membership::{self, Role},
        org::{self, NewOrg, Org},
        user::{self, NewUser, User},
    },
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

/// Runs the parsed command line.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let db = Database::open(&config).await?;
            println!("database is up to date");
            db.close().await;
            Ok(())
        }
        Command::User { command } => {
            with_db(&config, |conn| Box::pin(user_command(conn, command))).await
        }
        Command::Org { command } => {
            with_db(&config, |conn| Box::pin(org_command(conn, command))).await
        }
        Command::Member { command } => {
            with_db(&config, |conn| Box::pin(member_command(conn, command))).await
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

/// A provider check that did not pass; it has already printed why.
#[derive(Debug, thiserror::Error)]
#[error("provider check did not pass")]
pub struct ProviderCheckFailed(pub std::process::ExitCode);

type Conn = diesel_async::AsyncPgConnection;
type BoxFut<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<String>> + 'a>>;

async fn with_db(
    config: &Config,
    f: impl for<'c> FnOnce(&'c mut Conn) -> BoxFut<'c>,
) -> anyhow::Result<()> {
    use diesel_async::AsyncConnection as _;
    let db = Database::open(config).await?;
    let result = async {
        let mut conn = Conn::establish(&db.url).await?;
        f(&mut conn).await
    }
    .await;
    db.close().await;
    println!("{}", result?);
    Ok(())
}

/// Reads a new password from the first line of standard input and hashes it.
async fn password_from_stdin(password_stdin: bool) -> anyhow::Result<String> {
    anyhow::ensure!(
        password_stdin,
        "pass --password-stdin and the password on standard input"
    );
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    user::validate_password(&password).map_err(anyhow::Error::msg)?;
    Ok(
        tokio::task::spawn_blocking(move || password::hash_blocking(&SecretString::from(password)))
            .await?,
    )
}

async fn existing_user(conn: &mut Conn, email: &str) -> anyhow::Result<User> {
    let email = user::normalize_email(email).map_err(anyhow::Error::msg)?;
    User::find_by_email(conn, &email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user with email {email}"))
}

/// An operator's change to a user account, audited with no org.
fn account_event<'a>(user: &User, action: &'a str, meta: &'a RequestMeta) -> NewEvent<'a> {
    NewEvent {
        org_id: None,
        actor: &SYSTEM,
        action,
        target: format!("user:{}", user.email),
        before: None,
        after: None,
        meta,
    }
}

/// The CLI acts as the system: an operator at the server, not a console user.
static SYSTEM: Actor = Actor::System;

async fn user_command(conn: &mut Conn, command: UserCommand) -> anyhow::Result<String> {
    use diesel_async::AsyncConnection as _;
    let meta = RequestMeta::default();
    match command {
        UserCommand::Create {
            email,
            name,
            support,
            password_stdin,
        } => {
            let email = user::normalize_email(&email).map_err(anyhow::Error::msg)?;
            if !name.is_empty() {
                org::validate_name(&name).map_err(anyhow::Error::msg)?;
            }
            let hash = password_from_stdin(password_stdin).await?;
            if User::find_by_email(conn, &email).await?.is_some() {
                anyhow::bail!("a user with email {email} already exists");
            }
            let user = NewUser {
                email: &email,
                name: name.trim(),
                password_hash: &hash,
                support,
            }
            .insert(conn)
            .await?;
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
            let user = existing_user(conn, &email).await?;
            let hash = password_from_stdin(password_stdin).await?;
            conn.transaction::<_, anyhow::Error, _>(async |conn| {
                User::set_password_hash(conn, user.id, &hash).await?;
                account_event(&user, "user.password_reset", &meta)
                    .record(conn)
                    .await?;
                Ok(())
            })
            .await?;
            Ok(format!(
                "set a new password for {}; their sessions have ended",
                user.email
            ))
        }
        UserCommand::Disable { ref email } | UserCommand::Enable { ref email } => {
            let disable = matches!(command, UserCommand::Disable { .. });
            let user = existing_user(conn, email).await?;
            let changed = conn
                .transaction::<_, anyhow::Error, _>(async |conn| {
                    let changed = User::set_disabled(conn, user.id, disable).await?;
                    if changed {
                        let action = if disable {
                            "user.disabled"
                        } else {
                            "user.enabled"
                        };
                        account_event(&user, action, &meta).record(conn).await?;
                    }
                    Ok(changed)
                })
                .await?;
            Ok(match (disable, changed) {
                (true, true) => format!("disabled {}; their sessions have ended", user.email),
                (false, true) => format!("enabled {}", user.email),
                (true, false) => format!("{} was already disabled", user.email),
                (false, false) => format!("{} was not disabled", user.email),
            })
        }
    }
}

async fn org_command(conn: &mut Conn, command: OrgCommand) -> anyhow::Result<String> {
    use diesel_async::AsyncConnection as _;
    let OrgCommand::Create { slug, name } = command;
    org::validate_slug(&slug).map_err(anyhow::Error::msg)?;
    org::validate_name(&name).map_err(anyhow::Error::msg)?;
    if Org::find_by_slug(conn, &slug).await?.is_some() {
        anyhow::bail!("an org with slug {slug} already exists");
    }
    let org = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            let org = NewOrg {
                slug: &slug,
                name: name.trim(),
            }
            .insert(conn)
            .await?;
            NewEvent {
                org_id: Some(org.id),
                actor: &SYSTEM,
                action: "org.created",
                target: format!("org:{}", org.slug),
                before: None,
                after: Some(serde_json::json!({ "slug": org.slug, "name": org.name })),
                meta: &RequestMeta::default(),
            }
            .record(conn)
            .await?;
            Ok(org)
        })
        .await?;
    Ok(format!("created org {} ({})", org.slug, org.name))
}

async fn member_command(conn: &mut Conn, command: MemberCommand) -> anyhow::Result<String> {
    use diesel_async::AsyncConnection as _;
    let MemberCommand::Add { org, email, role } = command;
    let role = Role::parse(&role).ok_or_else(|| anyhow::anyhow!("role must be admin or member"))?;
    let email = user::normalize_email(&email).map_err(anyhow::Error::msg)?;
    let org = Org::find_by_slug(conn, &org)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no org with slug {org}"))?;
    let user = User::find_by_email(conn, &email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user with email {email}"))?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        let added =
            membership::add_with_event(conn, &org, &user, role, &SYSTEM, &RequestMeta::default())
                .await?;
        anyhow::ensure!(added, "{email} is already a member of {}", org.slug);
        Ok(())
    })
    .await?;
    Ok(format!(
        "added {email} to {} as {}",
        org.slug,
        role.as_str()
    ))
}

/// Loads the master keyring: `SWITCHBOARD_MASTER_KEYS`, or `data_dir/master.key` (created
/// on first run, with a warning that production should supply keys).
pub fn load_keyring(config: &Config) -> anyhow::Result<Keyring> {
    match &config.master_keys {
        Some(keys) => Ok(Keyring::parse(keys)?),
        None => {
            let path = config.data_dir.join("master.key");
            let (ring, created) = Keyring::load_or_create_file(&path)?;
            if created {
                tracing::warn!(
                    path = %path.display(),
                    "generated a master key; production should supply SWITCHBOARD_MASTER_KEYS instead"
                );
            } else {
                tracing::info!(path = %path.display(), "using the master key file; production should supply SWITCHBOARD_MASTER_KEYS");
            }
            Ok(ring)
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let _keyring = load_keyring(&config)?;
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
