//! API tokens: how scripts, MCP clients and the platform's AI services act on an org.
//!
//! - A token is `swb_` + 256 random bits, returned once by [`create_token`] and stored only
//!   as its SHA-256 (and its first characters, to recognise it in the list).
//! - It acts for one org, in the name of the user who created it, with the scopes it was
//!   given **cut at every use** to what that user's current access allows: a creator who is
//!   demoted to member keeps only the read scopes, one who is removed keeps none, one who is
//!   disabled makes the token fail to authenticate.
//! - A **service token** (kind `service`, DESIGN.md "Platform services") belongs to the
//!   org instead: its scopes are its own, not cut to its creator's access, so it keeps
//!   working when the admin who made it leaves, is demoted or disabled. It carries only the
//!   service scopes ([`SERVICE_SCOPES`]); the creator stays on record (every use is
//!   attributable) and any admin of the org may revoke it. `ai:release` (the key in route
//!   answers) is granted only by an operator on the CLI, and only to a service token.
//! - Creation and revocation are audited with the kind; the token itself is never in the
//!   trail.

use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::AsyncConnection as _;
use secrecy::{ExposeSecret as _, SecretString};

mod authenticate;
mod grants;

pub use authenticate::{authenticate, caller_of, presented_hash};
pub use grants::{DEFAULT_LIFETIME, MAX_LIFETIME, grantable, parse_lifetime, parse_scopes};

use super::{
    Access, Action, Actor, Caller, Change, OpError, OpResult, Scope, ScopeSet, Target, audit,
};
use crate::{
    models::{
        api_token::{self, ApiToken, NewApiToken},
        user::{self, User},
    },
    state::AppState,
};
use grants::check_lifetime;

/// What every token starts with.
pub const TOKEN_PREFIX: &str = "swb_";
/// Random bytes in a token (43 characters of URL-safe base64).
const TOKEN_BYTES: usize = 32;
/// Characters of the token kept to recognise it (`swb_` and four more).
const SHOWN_CHARS: usize = 8;
/// Longest token name.
pub const MAX_NAME_CHARS: usize = 100;
/// The scopes a service token may carry (docs/DECISIONS.md "Service tokens"): what a
/// platform service needs, nothing that administers the org.
pub const SERVICE_SCOPES: [Scope; 3] = [Scope::AiResolve, Scope::AiRelay, Scope::AiRelease];

/// Whose a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenKind {
    /// Acts in its creator's name, cut at every use to what they may still do.
    #[default]
    Personal,
    /// The org's, for a platform service: keeps working whatever becomes of its creator.
    Service,
}

impl TokenKind {
    /// The stored and shown form: `personal` or `service`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Personal => "personal",
            TokenKind::Service => "service",
        }
    }

    /// Parses the stored form (a form's value too).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "personal" => Some(TokenKind::Personal),
            "service" => Some(TokenKind::Service),
            _ => None,
        }
    }
}

/// A token to create.
#[derive(Debug, Clone)]
pub struct TokenInput {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// `None` = never expires.
    pub expires_in: Option<TimeDelta>,
    /// Whose token it is: an operator (CLI) names the user; a console user creates their own.
    pub owner_email: Option<String>,
}

/// A token as the Tokens page lists it (never the token itself).
#[derive(Debug, Clone)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub kind: TokenKind,
    /// The first characters, e.g. `swb_AbCd`.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub owner_email: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenView {
    fn of(t: ApiToken, owner_email: String) -> Self {
        Self {
            id: t.id,
            // The column's CHECK admits only the two kinds.
            kind: TokenKind::parse(&t.kind).unwrap_or_default(),
            name: t.name,
            prefix: t.prefix,
            scopes: t.scopes,
            owner_email,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }

    /// Whether the token still works (not revoked, not expired at `now`).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status(now) == TokenStatus::Live
    }

    /// Whether the token works at `now`, and if not why (revocation wins over expiry).
    pub fn status(&self, now: DateTime<Utc>) -> TokenStatus {
        if self.revoked_at.is_some() {
            TokenStatus::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            TokenStatus::Expired
        } else {
            TokenStatus::Live
        }
    }
}

/// Whether a token works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Live,
    Expired,
    Revoked,
}

/// A new token and its secret: the only time the secret leaves this module.
#[derive(Debug)]
pub struct CreatedToken {
    pub token: TokenView,
    pub secret: SecretString,
}

fn check_input(caller: &Caller, input: &TokenInput, kind: TokenKind) -> OpResult<String> {
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        return Err(OpError::invalid("name", "Give the token a name."));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(OpError::invalid(
            "name",
            format!("The name must be at most {MAX_NAME_CHARS} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(OpError::invalid(
            "name",
            "The name contains control characters.",
        ));
    }
    super::names::refuse_invisible("name", "name", &name)?;
    if input.scopes.is_empty() {
        return Err(OpError::invalid("scopes", "Choose at least one scope."));
    }
    if let Some(s) = input
        .scopes
        .iter()
        .find(|s| **s != Scope::AiRelease && !grantable().any(|g| g == **s))
    {
        return Err(OpError::invalid(
            "scopes",
            format!("{s} is for the console only; a token cannot carry it."),
        ));
    }
    if input.scopes.contains(&Scope::AiRelease) {
        if !matches!(caller.actor, Actor::Operator) {
            return Err(OpError::Forbidden(
                "ai:release (the key itself in route answers) is granted only by an operator \
                 on the CLI: switchboard token create … --service."
                    .to_owned(),
            ));
        }
        if kind != TokenKind::Service {
            return Err(OpError::invalid(
                "scopes",
                "ai:release is granted only to a service token (--service).",
            ));
        }
    }
    if kind == TokenKind::Service
        && let Some(s) = input.scopes.iter().find(|s| !SERVICE_SCOPES.contains(s))
    {
        return Err(OpError::invalid(
            "scopes",
            format!(
                "A service token carries only ai:resolve, ai:relay and ai:release; {s} \
                 belongs on a personal token."
            ),
        ));
    }
    check_lifetime(input.expires_in)?;
    Ok(name)
}

/// Creates a token for the caller's org (scope `tokens:manage`). A console user's token is
/// their own; an operator names the owner, who must be a member, and the scopes must be
/// within what the owner's role allows.
pub async fn create_token(
    state: &AppState,
    caller: &Caller,
    input: TokenInput,
) -> OpResult<CreatedToken> {
    create_token_of_kind(state, caller, input, TokenKind::Personal).await
}

/// Creates a token of `kind` (see [`create_token`]). A service token's creator is its
/// creator of record; its scopes must be service scopes within what the creator's role
/// allows, and `ai:release` only an operator grants.
pub async fn create_token_of_kind(
    state: &AppState,
    caller: &Caller,
    input: TokenInput,
    kind: TokenKind,
) -> OpResult<CreatedToken> {
    let org = caller.require(Scope::TokensManage)?;
    let name = check_input(caller, &input, kind)?;
    let secret = SecretString::from(format!(
        "{TOKEN_PREFIX}{}",
        crate::crypto::random_token(TOKEN_BYTES)
    ));
    let token_hash = crate::crypto::sha256(secret.expose_secret().as_bytes());
    let prefix: String = secret.expose_secret().chars().take(SHOWN_CHARS).collect();
    let now = state.clock.now();
    let mut scopes: Vec<Scope> = input.scopes.clone();
    scopes.sort_by_key(|s| *s as u8);
    scopes.dedup();
    let scope_names: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let mut conn = state.pool.get().await?;
    let token = conn
        .transaction::<_, OpError, _>(async |conn| {
            let owner = owner(conn, caller, input.owner_email.as_deref()).await?;
            let role = crate::models::membership::role_in(conn, org.id, owner.id)
                .await?
                .ok_or_else(|| {
                    OpError::invalid(
                        "email",
                        format!("{} is not a member of this org.", owner.email),
                    )
                })?;
            let allowed = Access::of(Some(role), false).map_or(ScopeSet::EMPTY, Access::scopes);
            if let Some(s) = scopes.iter().find(|s| !allowed.contains(**s)) {
                return Err(OpError::invalid(
                    "scopes",
                    format!(
                        "{} is a {}: a token of theirs cannot carry {s}.",
                        owner.email,
                        role.as_str()
                    ),
                ));
            }
            let token = NewApiToken {
                org_id: org.id,
                user_id: owner.id,
                name: &name,
                scopes: &scope_names,
                token_hash: &token_hash,
                prefix: &prefix,
                created_at: now,
                expires_at: input.expires_in.map(|d| now + d),
                kind: kind.as_str(),
            }
            .insert(conn)
            .await?;
            audit::record(
                conn,
                caller,
                Action::TokenCreated,
                Target::Token(token.id),
                None,
                Some(
                    Change::new()
                        .text("name", &name)
                        .text("kind", kind.as_str())
                        .text("owner", &owner.email)
                        .text("scopes", scope_names.join(" "))
                        .text("prefix", &prefix)
                        .opt_text(
                            "expiresAt",
                            token.expires_at.map(|t| t.to_rfc3339()).as_deref(),
                        ),
                ),
            )
            .await?;
            Ok(TokenView::of(token, owner.email))
        })
        .await?;
    Ok(CreatedToken { token, secret })
}

/// Who will own a new token.
async fn owner(
    conn: &mut diesel_async::AsyncPgConnection,
    caller: &Caller,
    email: Option<&str>,
) -> OpResult<User> {
    match (&caller.actor, email) {
        (Actor::User { id, .. }, None) => User::find(conn, *id).await?.ok_or(OpError::NotFound),
        (Actor::Operator, Some(email)) => {
            let email = user::normalize_email(email).map_err(|e| OpError::invalid("email", e))?;
            User::find_by_email(conn, &email).await?.ok_or_else(|| {
                OpError::invalid("email", format!("No account has the email {email}."))
            })
        }
        (Actor::Operator, None) => Err(OpError::invalid(
            "email",
            "Name the user the token acts for.",
        )),
        _ => Err(OpError::Forbidden(
            "Tokens are created by a signed-in admin or an operator.".to_owned(),
        )),
    }
}

/// The org's tokens, newest first, revoked and expired ones included (scope
/// `tokens:manage`).
pub async fn list_tokens(state: &AppState, caller: &Caller) -> OpResult<Vec<TokenView>> {
    let org = caller.require(Scope::TokensManage)?;
    let mut conn = state.pool.get().await?;
    Ok(api_token::for_org(&mut conn, org.id)
        .await?
        .into_iter()
        .map(|(t, email)| TokenView::of(t, email))
        .collect())
}

/// Revokes a token of the caller's org (scope `tokens:manage`): it stops working at once.
/// `NotFound` for another org's or an already revoked token.
pub async fn revoke_token(state: &AppState, caller: &Caller, id: i64) -> OpResult<TokenView> {
    let org = caller.require(Scope::TokensManage)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let token = api_token::revoke(conn, org.id, id, caller.user_id(), now)
            .await?
            .ok_or(OpError::NotFound)?;
        audit::record(
            conn,
            caller,
            Action::TokenRevoked,
            Target::Token(token.id),
            Some(
                Change::new()
                    .text("name", &token.name)
                    .text("kind", &token.kind)
                    .text("prefix", &token.prefix),
            ),
            None,
        )
        .await?;
        let email = User::find(conn, token.user_id)
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        Ok(TokenView::of(token, email))
    })
    .await
}
