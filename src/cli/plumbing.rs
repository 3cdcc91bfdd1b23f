//! What every operator command shares: opening the database and the state, running one
//! operation as the operator, and turning its error into one line.

use std::io::BufRead as _;

use secrecy::SecretString;

use crate::{
    clock::Clock,
    config::Config,
    db::{self, Database},
    models::org::Org,
    ops::OpError,
    state::AppState,
};

pub(super) type BoxFut<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<String>> + 'a>>;
pub(super) type StateCommand = Box<dyn for<'s> FnOnce(&'s AppState) -> BoxFut<'s>>;

/// Opens the database (embedded or `DATABASE_URL`), builds the state operations need, runs
/// `command` as an operator and prints its one-line result.
pub(super) async fn with_state(config: Config, command: StateCommand) -> anyhow::Result<()> {
    let db = Database::open(config.database_url.as_ref(), &config.data_dir).await?;
    let result = async {
        let pool = db::pool(&db.url, 2)?;
        let state = AppState::new(config, pool, Clock::default(), 1).await?;
        crate::ops::master_keys::check_configured(&state).await?;
        command(&state).await
    }
    .await;
    db.close().await;
    println!("{}", result?);
    Ok(())
}

/// An operation's error as one line for the operator.
pub(super) fn line(e: OpError) -> anyhow::Error {
    match e {
        OpError::Internal(cause) => cause,
        other => anyhow::anyhow!("{other}"),
    }
}

/// Reads a password from the first line of standard input.
pub(super) fn password_from_stdin(password_stdin: bool) -> anyhow::Result<SecretString> {
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
pub(super) async fn org_by_slug(state: &AppState, slug: &str) -> anyhow::Result<Org> {
    let mut conn = state.pool.get().await?;
    Org::find_by_slug(&mut conn, slug)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no org with slug {slug}"))
}
