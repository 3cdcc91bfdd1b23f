//! Orgs: first-run setup (first admin and org), operators creating orgs, the lists of orgs
//! a user may open, and recording support staff's views.

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use secrecy::{ExposeSecret as _, SecretString};
use subtle::ConstantTimeEq as _;

use super::{
    Access, Action, Caller, Change, OpError, OpResult, RequestMeta, Target, audit, members,
};
use crate::{
    models::{
        membership::{self, Role},
        org::{self, NewOrg, Org},
        user::{self, NewUser, User},
    },
    state::AppState,
};

/// A new org as entered.
#[derive(Debug, Clone)]
pub struct NewOrgInput {
    pub slug: String,
    pub name: String,
}

fn check_org(input: &NewOrgInput) -> OpResult<()> {
    org::validate_slug(&input.slug).map_err(|e| OpError::invalid("org_slug", e))?;
    org::validate_name(&input.name).map_err(|e| OpError::invalid("org_name", e))?;
    Ok(())
}

/// Inserts the org and records `org.created` (one shape, whoever creates it).
async fn insert_org(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: &NewOrgInput,
) -> OpResult<Org> {
    if Org::find_by_slug(conn, &input.slug).await?.is_some() {
        return Err(OpError::Conflict(format!(
            "An org with slug {} already exists.",
            input.slug
        )));
    }
    let org = NewOrg {
        slug: &input.slug,
        name: input.name.trim(),
    }
    .insert(conn)
    .await?;
    let in_org = Caller {
        org: Some(org.clone()),
        ..caller.clone()
    };
    audit::record(
        conn,
        &in_org,
        Action::OrgCreated,
        Target::Org(org.slug.clone()),
        None,
        Some(
            Change::new()
                .text("slug", &org.slug)
                .text("name", &org.name),
        ),
    )
    .await?;
    Ok(org)
}

/// Creates an org with no members (operators only).
pub async fn create_org(state: &AppState, caller: &Caller, input: NewOrgInput) -> OpResult<Org> {
    caller.require_operator()?;
    check_org(&input)?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| insert_org(conn, caller, &input).await)
        .await
}

/// The first-run form.
#[derive(Debug)]
pub struct FirstRun {
    pub name: String,
    pub email: String,
    pub password: SecretString,
    pub org: NewOrgInput,
}

/// Whether `token` is the one-time setup token (while no user exists).
pub fn setup_token_valid(state: &AppState, token: &str) -> bool {
    let current = state.setup_token.lock().expect("setup token lock poisoned");
    current
        .as_deref()
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(token.as_bytes())))
}

/// Creates the first admin and org in one transaction, then retires the setup token.
/// `NotFound` when the token is wrong or a user exists already.
pub async fn set_up(
    state: &AppState,
    token: &str,
    input: FirstRun,
    meta: RequestMeta,
) -> OpResult<(User, Org)> {
    if !setup_token_valid(state, token) {
        return Err(OpError::NotFound);
    }
    org::validate_name(&input.name).map_err(|e| OpError::invalid("name", e))?;
    let email = user::normalize_email(&input.email).map_err(|e| OpError::invalid("email", e))?;
    user::validate_password(input.password.expose_secret())
        .map_err(|e| OpError::invalid("password", e))?;
    check_org(&input.org)?;
    let hash = state.hasher.hash(input.password).await;
    let mut conn = state.pool.get().await?;
    let created = conn
        .transaction::<_, OpError, _>(async |conn| {
            // Serialise concurrent setups; the loser finds a user and stops.
            diesel::sql_query("SELECT pg_advisory_xact_lock(7401)")
                .execute(conn)
                .await?;
            if User::any_exists(conn).await? {
                return Ok(None);
            }
            let user = NewUser {
                email: &email,
                name: input.name.trim(),
                password_hash: &hash,
                support: false,
            }
            .insert(conn)
            .await?;
            let org = insert_org(conn, &Caller::account(&user, meta.clone()), &input.org).await?;
            let caller = Caller::in_org(&user, org.clone(), Access::Admin, meta.clone());
            members::add_locked(conn, &caller, &org, &user, Role::Admin).await?;
            // Joining bumped the new user's session epoch: log in under the stored one.
            let user = User::find(conn, user.id).await?.ok_or(OpError::NotFound)?;
            Ok(Some((user, org)))
        })
        .await?;
    state
        .setup_token
        .lock()
        .expect("setup token lock poisoned")
        .take();
    created.ok_or(OpError::NotFound)
}

/// The orgs `user` belongs to, by name, with their role in each.
pub async fn orgs_of_user(state: &AppState, user: &User) -> OpResult<Vec<(Org, Role)>> {
    let mut conn = state.pool.get().await?;
    Ok(membership::orgs_of_user(&mut conn, user.id).await?)
}

/// Every org (support staff only; anyone else is told there is nothing here).
pub async fn all_orgs(state: &AppState, user: &User) -> OpResult<Vec<Org>> {
    if !user.support {
        return Err(OpError::NotFound);
    }
    let mut conn = state.pool.get().await?;
    Ok(Org::all(&mut conn).await?)
}

/// Records that support staff looked at `path` of the caller's org.
pub async fn record_support_view(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    path: &str,
) -> OpResult<()> {
    if caller.access != Some(Access::Support) {
        return Ok(());
    }
    audit::record(
        conn,
        caller,
        Action::SupportViewed,
        Target::Page(path.to_owned()),
        None,
        None,
    )
    .await?;
    Ok(())
}
