//! Who is asking, independent of the transport. The console's session guard builds a
//! [`Caller`] for every org request; the CLI builds an operator; the API's bearer guard
//! will build one from a token.

use crate::models::{membership::Role, org::Org, user::User};

use super::{
    OpError, OpResult,
    scopes::{Access, Scope, ScopeSet},
};

/// Who acted, as the audit trail records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A logged-in console user.
    User {
        id: i64,
        email: String,
        name: String,
    },
    /// An API token, acting for the user who created it (`user_id`).
    Token {
        id: i64,
        user_id: i64,
        label: String,
    },
    /// Switchboard itself (scheduled jobs).
    System,
    /// An operator at the server, through the CLI.
    Operator,
    /// Someone not logged in (a failed login), named by what they typed.
    Anonymous { label: String },
}

impl Actor {
    /// The actor of a logged-in user.
    pub fn user(user: &User) -> Self {
        Actor::User {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
        }
    }

    /// The name to show for the actor.
    pub fn label(&self) -> &str {
        match self {
            Actor::User { email, name, .. } => crate::models::user::label(name, email),
            Actor::Token { label, .. } | Actor::Anonymous { label } => label,
            Actor::System => "system",
            Actor::Operator => "operator",
        }
    }
}

/// Where the request came from, for the trail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

/// The caller of an operation: actor, org, access, scopes and request metadata.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    /// The org acted on; `None` for account operations and operator commands without one.
    pub org: Option<Org>,
    /// How the caller may use `org` (`None` outside an org).
    pub access: Option<Access>,
    /// What the caller may do in `org`.
    pub scopes: ScopeSet,
    pub meta: RequestMeta,
    /// For an API token: the org's epoch its token was judged at (`models::route_cache`), so
    /// rows this instance remembers from that epoch may answer for it. `None` otherwise.
    pub epoch: Option<i64>,
}

impl Caller {
    /// A console user in an org, with the scopes of their access.
    pub fn in_org(user: &User, org: Org, access: Access, meta: RequestMeta) -> Self {
        Self {
            actor: Actor::user(user),
            org: Some(org),
            access: Some(access),
            scopes: access.scopes(),
            meta,
            epoch: None,
        }
    }

    /// A signed-in user inside `org`, by their `role` there (the role → access table is
    /// [`Access::of`]); `None` when the org does not exist for them. A read-only caller
    /// asking to change something is refused here, once for every console page and form.
    pub fn for_session(
        user: &User,
        org: Org,
        role: Option<Role>,
        meta: RequestMeta,
        writing: bool,
    ) -> OpResult<Self> {
        let access = Access::of(role, user.support).ok_or(OpError::NotFound)?;
        if writing && !access.scopes().can_write() {
            return Err(OpError::Forbidden(
                "You can view this org's settings but not change them.".to_owned(),
            ));
        }
        Ok(Self::in_org(user, org, access, meta))
    }

    /// A logged-in user acting on their own account (no org).
    pub fn account(user: &User, meta: RequestMeta) -> Self {
        Self {
            actor: Actor::user(user),
            org: None,
            access: None,
            scopes: ScopeSet::EMPTY,
            meta,
            epoch: None,
        }
    }

    /// An operator at the server (CLI), optionally in an org: every scope.
    pub fn operator(org: Option<Org>) -> Self {
        Self {
            actor: Actor::Operator,
            org,
            access: Some(Access::Operator),
            scopes: Access::Operator.scopes(),
            meta: RequestMeta::default(),
            epoch: None,
        }
    }

    /// A background job of Switchboard's own acting in `org` (scheduled re-checks):
    /// recorded as the system, with the operator's scopes.
    pub fn system(org: Org) -> Self {
        Self {
            actor: Actor::System,
            org: Some(org),
            access: Some(Access::Operator),
            scopes: Access::Operator.scopes(),
            meta: RequestMeta::default(),
            epoch: None,
        }
    }

    /// Someone not logged in (login, first-run setup).
    pub fn anonymous(label: impl Into<String>, meta: RequestMeta) -> Self {
        Self {
            actor: Actor::Anonymous {
                label: label.into(),
            },
            org: None,
            access: None,
            scopes: ScopeSet::EMPTY,
            meta,
            epoch: None,
        }
    }

    /// The org acted on; an operation that needs one fails without it.
    pub fn org(&self) -> Result<&Org, OpError> {
        self.org.as_ref().ok_or(OpError::NotFound)
    }

    /// Fails with "forbidden" unless the caller holds `scope` in its org.
    pub fn require(&self, scope: Scope) -> Result<&Org, OpError> {
        let org = self.org()?;
        if self.scopes.contains(scope) {
            Ok(org)
        } else {
            Err(OpError::MissingScope(scope))
        }
    }

    /// Fails with "forbidden" unless an operator at the server is asking.
    pub fn require_operator(&self) -> Result<(), OpError> {
        match self.access {
            Some(Access::Operator) => Ok(()),
            _ => Err(OpError::Forbidden(
                "Only an operator can do this, with the switchboard command.".to_owned(),
            )),
        }
    }

    /// Whether the caller holds `scope`.
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }

    /// Whether the caller sees masked key previews.
    pub fn sees_key_preview(&self) -> bool {
        self.access.is_some_and(Access::sees_key_preview)
    }

    /// The id of the acting user, if a user acts (recorded as `updated_by`).
    pub fn user_id(&self) -> Option<i64> {
        match self.actor {
            Actor::User { id, .. } | Actor::Token { user_id: id, .. } => Some(id),
            _ => None,
        }
    }
}
