//! Orgs: first-run setup (first admin and org), operators creating orgs, the lists of orgs
//! a user may open, and recording support staff's views.

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use secrecy::{ExposeSecret as _, SecretString};

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
    super::names::refuse_invisible("org_name", "org's name", &input.name)?;
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

/// Creates the first admin and org in one transaction that also uses up the setup token
/// (`ops::setup`). `NotFound` when the token is wrong, used, expired or replaced, or a user
/// exists already.
pub async fn set_up(
    state: &AppState,
    token: &str,
    input: FirstRun,
    meta: RequestMeta,
) -> OpResult<(User, Org)> {
    if !super::setup::token_valid(state, token).await? {
        return Err(OpError::NotFound);
    }
    org::validate_name(&input.name).map_err(|e| OpError::invalid("name", e))?;
    super::names::refuse_invisible("name", "name", &input.name)?;
    let email = user::normalize_email(&input.email).map_err(|e| OpError::invalid("email", e))?;
    user::validate_password(input.password.expose_secret())
        .map_err(|e| OpError::invalid("password", e))?;
    check_org(&input.org)?;
    let hash = state.hasher.hash(input.password).await;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let created = conn
        .transaction::<_, OpError, _>(async |conn| {
            // Under the setup lock: of concurrent setups with one token, one uses it and
            // the others find it gone.
            if !super::setup::take(conn, token, now).await? || User::any_exists(conn).await? {
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

/// Records that support staff looked at `path` of the caller's org: at most one
/// `support.viewed` per org per session-hour. `session_id` names the support user's session;
/// a view is recorded when that session's last recorded view of the org is an hour old or
/// more (one row per (session, org) in `support_views`, updated atomically, so concurrent
/// page loads record once).
pub async fn record_support_view(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    path: &str,
    session_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> OpResult<()> {
    use diesel::sql_types::{BigInt, Text, Timestamptz};
    if caller.access != Some(Access::Support) {
        return Ok(());
    }
    let org = caller.org()?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let fresh = diesel::sql_query(
            "INSERT INTO support_views (session_id, org_id, last_recorded_at) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id, org_id) DO UPDATE SET last_recorded_at = excluded.last_recorded_at \
             WHERE support_views.last_recorded_at <= excluded.last_recorded_at - interval '1 hour'",
        )
        .bind::<Text, _>(session_id)
        .bind::<BigInt, _>(org.id)
        .bind::<Timestamptz, _>(now)
        .execute(conn)
        .await?;
        if fresh == 1 {
            audit::record(
                conn,
                caller,
                Action::SupportViewed,
                Target::Page(path.to_owned()),
                None,
                None,
            )
            .await?;
        }
        Ok(())
    })
    .await
}

/// One org in support staff's console.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct OrgOverview {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub slug: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    /// The active provider's kind and model; `None` = the platform default.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub active_kind: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub active_model: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub providers: i64,
    /// The newest event of its trail that changed something (views and exports left out).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub last_change: Option<chrono::DateTime<chrono::Utc>>,
}

/// How many orgs the support console lists at most (a search narrows it).
pub const OVERVIEW_LIMIT: usize = 200;

/// Every org whose name or slug contains `search` (case-insensitive), by name, with its
/// mode, provider count and last change; at most [`OVERVIEW_LIMIT`] + 1 rows, so the caller
/// can tell there are more. Support staff only; anyone else is told there is nothing here.
pub async fn support_overview(
    state: &AppState,
    user: &User,
    search: &str,
) -> OpResult<Vec<OrgOverview>> {
    use diesel::sql_types::{BigInt, Text};
    if !user.support {
        return Err(OpError::NotFound);
    }
    let search = search.trim();
    if search.chars().count() > 100 || search.chars().any(char::is_control) {
        return Err(OpError::invalid(
            "q",
            "Search for at most 100 characters of an org's name or slug.",
        ));
    }
    let pattern = format!(
        "%{}%",
        search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let mut conn = state.pool.get().await?;
    Ok(diesel::sql_query(
        "SELECT o.slug, o.name, p.kind AS active_kind, p.default_model AS active_model, \
           (SELECT count(*) FROM providers x WHERE x.org_id = o.id) AS providers, \
           (SELECT e.occurred_at FROM audit_events e WHERE e.org_id = o.id \
              AND e.action NOT IN ('support.viewed', 'audit.exported') \
              ORDER BY e.seq DESC LIMIT 1) AS last_change \
         FROM orgs o \
         LEFT JOIN org_ai_settings s ON s.org_id = o.id \
         LEFT JOIN providers p ON p.id = s.active_provider_id \
         WHERE o.name ILIKE $1 OR o.slug ILIKE $1 \
         ORDER BY lower(o.name), o.slug LIMIT $2",
    )
    .bind::<Text, _>(pattern)
    .bind::<BigInt, _>(i64::try_from(OVERVIEW_LIMIT).unwrap_or(200) + 1)
    .load(&mut conn)
    .await?)
}
