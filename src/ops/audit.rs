//! The typed audit vocabulary: one enum of actions, one target type, and before/after
//! values that can only hold plain settings and masked key previews. [`record`] appends an
//! event inside the operation's transaction; nothing outside `ops` writes the trail.

use std::fmt;

use diesel_async::AsyncPgConnection;
use serde_json::{Map, Value};

use super::caller::{Actor, Caller};
use crate::{crypto::secret::KeyPreview, db::prelude::QueryResult, models::audit::NewAuditEvent};

/// Everything the trail can say happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OrgCreated,
    MemberAdded,
    MemberRoleChanged,
    MemberRemoved,
    InvitationCreated,
    InvitationRevoked,
    InvitationAccepted,
    /// Every session of a user ended (demotion, removal).
    SessionRevoked,
    InsightsEnabled,
    InsightsDisabled,
    RoutingPolicyChanged,
    /// A feature's route was set (provider, platform or off).
    FeatureRouteSet,
    /// A feature's route went back to `inherit`.
    FeatureRouteCleared,
    SupportViewed,
    AuditExported,
    LoginFailed,
    UserPasswordChanged,
    UserPasswordReset,
    UserDisabled,
    UserEnabled,
    ProviderCreated,
    ProviderUpdated,
    ProviderTested,
    ProviderCheckFailed,
    /// Its calls failed and the immediate re-check failed too (the health loop).
    ProviderNeedsAttention,
    /// A check passed again after it needed attention.
    ProviderAttentionCleared,
    ProviderActivated,
    ProviderDeactivated,
    ProviderKeyRemoved,
    ProviderDeleted,
    SecretRotated,
    SkillCreated,
    SkillUpdated,
    SkillEnabled,
    SkillDisabled,
    SkillDeleted,
    TokenCreated,
    TokenRevoked,
    /// A provider's key was handed to the platform's AI services (`ai/route`).
    CredentialReleased,
}

impl Action {
    /// The stored form, e.g. `provider.activated`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::OrgCreated => "org.created",
            Action::MemberAdded => "member.added",
            Action::MemberRoleChanged => "member.role_changed",
            Action::MemberRemoved => "member.removed",
            Action::InvitationCreated => "invitation.created",
            Action::InvitationRevoked => "invitation.revoked",
            Action::InvitationAccepted => "invitation.accepted",
            Action::SessionRevoked => "session.revoked",
            Action::InsightsEnabled => "insights.enabled",
            Action::InsightsDisabled => "insights.disabled",
            Action::RoutingPolicyChanged => "routing_policy.changed",
            Action::FeatureRouteSet => "feature_route.set",
            Action::FeatureRouteCleared => "feature_route.cleared",
            Action::SupportViewed => "support.viewed",
            Action::AuditExported => "audit.exported",
            Action::LoginFailed => "login.failed",
            Action::UserPasswordChanged => "user.password_changed",
            Action::UserPasswordReset => "user.password_reset",
            Action::UserDisabled => "user.disabled",
            Action::UserEnabled => "user.enabled",
            Action::ProviderCreated => "provider.created",
            Action::ProviderUpdated => "provider.updated",
            Action::ProviderTested => "provider.tested",
            Action::ProviderCheckFailed => "provider.check_failed",
            Action::ProviderNeedsAttention => "provider.needs_attention",
            Action::ProviderAttentionCleared => "provider.attention_cleared",
            Action::ProviderActivated => "provider.activated",
            Action::ProviderDeactivated => "provider.deactivated",
            Action::ProviderKeyRemoved => "provider.key_removed",
            Action::ProviderDeleted => "provider.deleted",
            Action::SecretRotated => "secret.rotated",
            Action::SkillCreated => "skill.created",
            Action::SkillUpdated => "skill.updated",
            Action::SkillEnabled => "skill.enabled",
            Action::SkillDisabled => "skill.disabled",
            Action::SkillDeleted => "skill.deleted",
            Action::TokenCreated => "token.created",
            Action::TokenRevoked => "token.revoked",
            Action::CredentialReleased => "credential.released",
        }
    }
}

impl Action {
    /// Every action, for reading stored events back (`parse`) and for the family filter.
    /// A new variant must be added here too; its family and sentence are exhaustive
    /// matches in `ops::trail::describe`, so the compiler asks for those.
    pub const ALL: &[Action] = &[
        Action::OrgCreated,
        Action::MemberAdded,
        Action::MemberRoleChanged,
        Action::MemberRemoved,
        Action::InvitationCreated,
        Action::InvitationRevoked,
        Action::InvitationAccepted,
        Action::SessionRevoked,
        Action::InsightsEnabled,
        Action::InsightsDisabled,
        Action::RoutingPolicyChanged,
        Action::FeatureRouteSet,
        Action::FeatureRouteCleared,
        Action::SupportViewed,
        Action::AuditExported,
        Action::LoginFailed,
        Action::UserPasswordChanged,
        Action::UserPasswordReset,
        Action::UserDisabled,
        Action::UserEnabled,
        Action::ProviderCreated,
        Action::ProviderUpdated,
        Action::ProviderTested,
        Action::ProviderCheckFailed,
        Action::ProviderNeedsAttention,
        Action::ProviderAttentionCleared,
        Action::ProviderActivated,
        Action::ProviderDeactivated,
        Action::ProviderKeyRemoved,
        Action::ProviderDeleted,
        Action::SecretRotated,
        Action::SkillCreated,
        Action::SkillUpdated,
        Action::SkillEnabled,
        Action::SkillDisabled,
        Action::SkillDeleted,
        Action::TokenCreated,
        Action::TokenRevoked,
        Action::CredentialReleased,
    ];

    /// The action stored as `s`, if this build knows it.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.as_str() == s)
    }
}

/// The before/after fields that hold masked key previews ([`Change::masked`]). Pages show
/// them to admins only; support staff and exports for them see "set" / "none".
pub const SECRET_FIELDS: &[&str] = &["key"];

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Org(String),
    User(String),
    Provider(String),
    Secret(String),
    Skill(String),
    /// An API token, by its id.
    Token(i64),
    /// A page that was looked at (support views).
    Page(String),
    /// An AI feature of the org, by its id (its route).
    Feature(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Org(slug) => write!(f, "org:{slug}"),
            Target::User(email) => write!(f, "user:{email}"),
            Target::Provider(id) => write!(f, "provider:{id}"),
            Target::Secret(id) => write!(f, "secret:{id}"),
            Target::Skill(id) => write!(f, "skill:{id}"),
            Target::Token(id) => write!(f, "token:{id}"),
            Target::Page(path) => f.write_str(path),
            Target::Feature(id) => write!(f, "feature:{id}"),
        }
    }
}

/// A before or after value: a JSON object whose fields are plain values or masked key
/// previews. There is no way to put a key in it: previews are only made when sealing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change(Map<String, Value>);

impl Change {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.insert(name.to_owned(), Value::String(value.into()));
        self
    }

    /// Adds an optional text field (`null` when absent).
    pub fn opt_text(mut self, name: &str, value: Option<&str>) -> Self {
        let value = value.map_or(Value::Null, |v| Value::String(v.to_owned()));
        self.0.insert(name.to_owned(), value);
        self
    }

    /// Adds a boolean field.
    pub fn flag(mut self, name: &str, value: bool) -> Self {
        self.0.insert(name.to_owned(), Value::Bool(value));
        self
    }

    /// Adds a masked key preview (or `null` for "no key").
    pub fn masked(mut self, name: &str, preview: Option<&KeyPreview>) -> Self {
        debug_assert!(
            SECRET_FIELDS.contains(&name),
            "masked field {name} must be listed in SECRET_FIELDS"
        );
        let value = preview.map_or(Value::Null, |p| Value::String(p.as_str().to_owned()));
        self.0.insert(name.to_owned(), value);
        self
    }

    /// Adds a field holding settings that contain no secret (a provider's `config`, whose
    /// extra header *values* are secrets stored elsewhere).
    pub fn settings(mut self, name: &str, value: &Value) -> Self {
        self.0.insert(name.to_owned(), value.clone());
        self
    }

    fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// Appends one event for `caller` (its org, actor and request) inside the caller's
/// transaction.
pub async fn record(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    action: Action,
    target: Target,
    before: Option<Change>,
    after: Option<Change>,
) -> QueryResult<()> {
    event(caller, action, target, before, after)
        .insert(conn)
        .await
}

/// The row [`record`] appends, for an operation that appends it under a condition of its
/// own (`models::release::insert_if_unchanged`). Built only from the typed vocabulary.
pub fn event(
    caller: &Caller,
    action: Action,
    target: Target,
    before: Option<Change>,
    after: Option<Change>,
) -> NewAuditEvent<'_> {
    let (kind, id, label) = match &caller.actor {
        Actor::User { id, email, .. } => ("user", Some(*id), email.as_str()),
        Actor::Token { id, label, .. } => ("token", Some(*id), label.as_str()),
        Actor::System => ("system", None, "system"),
        // Recorded as the system acting: an operator at the server is not a console user.
        Actor::Operator => ("system", None, "operator"),
        Actor::Anonymous { label } => ("anonymous", None, label.as_str()),
    };
    NewAuditEvent {
        org_id: caller.org.as_ref().map(|o| o.id),
        actor_kind: kind,
        actor_id: id,
        actor_label: label,
        action: action.as_str(),
        target: target.to_string(),
        before: before.map(Change::into_value),
        after: after.map(Change::into_value),
        request_id: caller.meta.request_id.as_deref(),
        ip: caller.meta.ip.as_deref(),
    }
}

/// The caller's org's events, newest first (scope `audit:read`).
pub async fn list_events(
    state: &crate::state::AppState,
    caller: &Caller,
    limit: i64,
) -> super::OpResult<Vec<crate::models::audit::AuditEvent>> {
    let org = caller.require(super::Scope::AuditRead)?;
    let mut conn = state.pool.get().await?;
    Ok(crate::models::audit::for_org(&mut conn, org.id, limit).await?)
}
