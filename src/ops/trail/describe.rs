//! How a stored event reads: its action family (for the filter), who did it, a sentence
//! saying what happened, and a before → after diff per field with key previews shown only
//! to callers who may see them. Both mappings are exhaustive matches on [`Action`], so a new
//! action does not compile until it is given a family and a sentence.

use serde_json::{Map, Value};

use crate::{
    models::audit::AuditEvent,
    ops::audit::{Action, SECRET_FIELDS},
};

/// A group of actions the Audit tab filters by (`?family=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Org,
    Member,
    Auth,
    Provider,
    Keys,
    Insights,
    Support,
    Audit,
    Skills,
    Api,
}

impl Family {
    /// Every family, in the order the filter lists them.
    pub const ALL: [Family; 10] = [
        Family::Provider,
        Family::Skills,
        Family::Api,
        Family::Keys,
        Family::Insights,
        Family::Member,
        Family::Auth,
        Family::Support,
        Family::Audit,
        Family::Org,
    ];

    /// The query-string form.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Org => "org",
            Family::Member => "member",
            Family::Auth => "auth",
            Family::Provider => "provider",
            Family::Keys => "keys",
            Family::Insights => "insights",
            Family::Support => "support",
            Family::Audit => "audit",
            Family::Skills => "skills",
            Family::Api => "api",
        }
    }

    /// What the filter shows.
    pub fn label(self) -> &'static str {
        match self {
            Family::Org => "Organisation",
            Family::Member => "Members and invitations",
            Family::Auth => "Sign-in and accounts",
            Family::Provider => "Providers and routing",
            Family::Keys => "Keys",
            Family::Insights => "Insights",
            Family::Support => "Support access",
            Family::Audit => "Audit trail",
            Family::Skills => "Skills",
            Family::Api => "API tokens and credential releases",
        }
    }

    /// Parses the query-string form.
    pub fn parse(s: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The stored action names of this family.
    pub fn actions(self) -> Vec<&'static str> {
        Action::ALL
            .iter()
            .filter(|a| a.family() == self)
            .map(|a| a.as_str())
            .collect()
    }
}

impl Action {
    /// The family of the action (exhaustive: every new action must be placed).
    pub fn family(self) -> Family {
        match self {
            Action::OrgCreated => Family::Org,
            Action::MemberAdded
            | Action::MemberRoleChanged
            | Action::MemberRemoved
            | Action::InvitationCreated
            | Action::InvitationRevoked
            | Action::InvitationAccepted
            | Action::SessionRevoked => Family::Member,
            Action::InsightsEnabled | Action::InsightsDisabled => Family::Insights,
            Action::SupportViewed => Family::Support,
            Action::AuditExported => Family::Audit,
            Action::LoginFailed
            | Action::UserPasswordChanged
            | Action::UserPasswordReset
            | Action::UserDisabled
            | Action::UserEnabled => Family::Auth,
            Action::ProviderCreated
            | Action::ProviderUpdated
            | Action::ProviderTested
            | Action::ProviderCheckFailed
            | Action::ProviderNeedsAttention
            | Action::ProviderAttentionCleared
            | Action::ProviderActivated
            | Action::ProviderDeactivated
            | Action::ProviderKeyRemoved
            | Action::ProviderDeleted
            | Action::RoutingPolicyChanged
            | Action::FeatureRouteSet
            | Action::FeatureRouteCleared => Family::Provider,
            Action::SecretRotated => Family::Keys,
            Action::SkillCreated
            | Action::SkillUpdated
            | Action::SkillEnabled
            | Action::SkillDisabled
            | Action::SkillDeleted => Family::Skills,
            Action::TokenCreated | Action::TokenRevoked | Action::CredentialReleased => Family::Api,
        }
    }

    /// A sentence about the event, `subject` being what it concerns (exhaustive).
    pub fn sentence(self, subject: &str) -> String {
        match self {
            Action::OrgCreated => format!("Created the organisation {subject}"),
            Action::MemberAdded => format!("Added member {subject}"),
            Action::MemberRoleChanged => format!("Changed the role of {subject}"),
            Action::MemberRemoved => format!("Removed member {subject}"),
            Action::InvitationCreated => format!("Invitation created for {subject}"),
            Action::InvitationRevoked => format!("Invitation revoked for {subject}"),
            Action::InvitationAccepted => {
                format!("Invitation accepted: {subject} joined the org")
            }
            Action::SessionRevoked => {
                format!("Signed {subject} out everywhere (sessions revoked)")
            }
            Action::RoutingPolicyChanged => "Changed the routing policy".to_owned(),
            Action::FeatureRouteSet => format!("Changed the route of feature {subject}"),
            Action::FeatureRouteCleared => {
                format!("Set feature {subject} back to inherit the active provider")
            }
            Action::ProviderCheckFailed => {
                format!("The active provider {subject} failed its scheduled check")
            }
            Action::ProviderNeedsAttention => format!(
                "Provider {subject} needs attention: its calls failed and a re-check failed too"
            ),
            Action::ProviderAttentionCleared => {
                format!("Provider {subject} passed a check again: no longer needs attention")
            }
            Action::SkillCreated => format!("Added skill {subject}"),
            Action::SkillUpdated => format!("Edited skill {subject}"),
            Action::SkillEnabled => format!("Enabled skill {subject}"),
            Action::SkillDisabled => format!("Disabled skill {subject}"),
            Action::SkillDeleted => format!("Deleted skill {subject}"),
            Action::TokenCreated => format!("Created API token {subject}"),
            Action::TokenRevoked => format!("Revoked API token {subject}"),
            Action::CredentialReleased => format!("Released the key of provider {subject}"),
            Action::InsightsEnabled => "Turned Proactive AI Insights on".to_owned(),
            Action::InsightsDisabled => "Turned Proactive AI Insights off".to_owned(),
            Action::SupportViewed => "Support viewed your settings".to_owned(),
            Action::AuditExported => "Exported the audit trail".to_owned(),
            Action::LoginFailed => format!("Failed login as {subject}"),
            Action::UserPasswordChanged => format!("{subject} changed their password"),
            Action::UserPasswordReset => format!("An operator set a new password for {subject}"),
            Action::UserDisabled => format!("Disabled the account {subject}"),
            Action::UserEnabled => format!("Re-enabled the account {subject}"),
            Action::ProviderCreated => format!("Added provider {subject}"),
            Action::ProviderUpdated => format!("Edited provider {subject}"),
            Action::ProviderTested => format!("Tested provider {subject}"),
            Action::ProviderActivated => format!("Activated provider {subject}"),
            Action::ProviderDeactivated => {
                "Switched back to the platform default provider".to_owned()
            }
            Action::ProviderKeyRemoved => format!("Removed the key of provider {subject}"),
            Action::ProviderDeleted => format!("Deleted provider {subject}"),
            Action::SecretRotated => format!("Re-encrypted key {subject} under a new master key"),
        }
    }
}

/// One field of a before → after diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// An event as the Audit tab shows it.
#[derive(Debug, Clone)]
pub struct EventView {
    pub id: i64,
    pub seq: i64,
    /// `YYYY-MM-DD HH:MM:SS` UTC.
    pub at: String,
    /// RFC 3339, for `<time datetime>`.
    pub at_iso: String,
    pub who: String,
    pub who_kind: &'static str,
    /// The actor as stored (an email, a token's name, `system`, `operator`, …).
    pub actor_label: String,
    pub family: &'static str,
    pub action: String,
    /// What the event is about, as stored (`provider:aip_…`, `skill:skl_…`, …).
    pub target: String,
    pub what: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub changes: Vec<FieldChange>,
    /// The stored before/after values, key previews masked unless the caller sees them.
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Who acted, in words.
pub fn who(event: &AuditEvent) -> (String, &'static str) {
    match event.actor_kind.as_str() {
        "user" => (event.actor_label.clone(), "user"),
        "token" => (format!("API token {}", event.actor_label), "token"),
        "system" if event.actor_label == "operator" => {
            ("Operator (command line)".to_owned(), "operator")
        }
        "system" => ("Switchboard (system)".to_owned(), "system"),
        _ => (
            format!("{} (not logged in)", event.actor_label),
            "anonymous",
        ),
    }
}

/// The subject of the event's sentence: a provider's or member's name where the change
/// names it, else the target without its kind prefix.
fn subject(event: &AuditEvent) -> String {
    let name = [event.after.as_ref(), event.before.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|v| v.get("name").and_then(Value::as_str));
    let bare = event
        .target
        .split_once(':')
        .map_or(event.target.as_str(), |(_, rest)| rest);
    match name {
        Some(name)
            if ["provider:", "skill:", "token:"]
                .iter()
                .any(|kind| event.target.starts_with(kind)) =>
        {
            format!("“{name}” ({bare})")
        }
        _ => bare.to_owned(),
    }
}

/// A value as shown in a diff; secrets masked unless `previews`.
fn show(field: &str, value: Option<&Value>, previews: bool) -> Option<String> {
    let value = value?;
    if SECRET_FIELDS.contains(&field) && !previews {
        return Some(if value.is_null() { "none" } else { "set" }.to_owned());
    }
    Some(match value {
        Value::Null => "none".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The fields that differ between `before` and `after` (every field when one is absent).
pub fn diff(before: Option<&Value>, after: Option<&Value>, previews: bool) -> Vec<FieldChange> {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| b.get(*f) != a.get(*f))
        .map(|f| FieldChange {
            field: f.clone(),
            before: show(f, b.get(f), previews),
            after: show(f, a.get(f), previews),
        })
        .collect()
}

/// Replaces secret fields of a stored before/after value for callers without previews.
pub fn mask(value: Option<&Value>, previews: bool) -> Option<Value> {
    let mut value = value?.clone();
    if !previews && let Some(object) = value.as_object_mut() {
        for field in SECRET_FIELDS {
            if let Some(v) = object.get_mut(*field) {
                *v = Value::String(if v.is_null() { "none" } else { "set" }.to_owned());
            }
        }
    }
    Some(value)
}

/// The family's query form of a stored action (`other` for an action this build doesn't know).
pub fn family_of(action: &str) -> &'static str {
    Action::parse(action).map_or("other", |a| a.family().as_str())
}

/// The event as shown to a caller who sees key previews (`previews`) or not.
pub fn view(event: &AuditEvent, previews: bool) -> EventView {
    let (who, who_kind) = who(event);
    let what = match Action::parse(&event.action) {
        Some(action) => action.sentence(&subject(event)),
        None => format!("{} {}", event.action, event.target),
    };
    EventView {
        id: event.id,
        seq: event.seq,
        at: event.occurred_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        at_iso: event
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        who,
        who_kind,
        actor_label: event.actor_label.clone(),
        family: family_of(&event.action),
        action: event.action.clone(),
        target: event.target.clone(),
        what,
        ip: event.ip.clone(),
        request_id: event.request_id.clone(),
        changes: diff(event.before.as_ref(), event.after.as_ref(), previews),
        before: mask(event.before.as_ref(), previews),
        after: mask(event.after.as_ref(), previews),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_parses_back_and_has_a_family() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(*action));
            assert!(action.family().actions().contains(&action.as_str()));
        }
        for family in Family::ALL {
            assert_eq!(Family::parse(family.as_str()), Some(family));
        }
    }

    #[test]
    fn diffs_show_changed_fields_and_mask_keys_for_support() {
        let before = serde_json::json!({"name": "a", "key": "sk-...WXYZ", "same": 1});
        let after = serde_json::json!({"name": "b", "key": null, "same": 1});
        let admin = diff(Some(&before), Some(&after), true);
        assert_eq!(admin.len(), 2);
        assert_eq!(admin[0].before.as_deref(), Some("sk-...WXYZ"));
        let support = diff(Some(&before), Some(&after), false);
        assert_eq!(support[0].before.as_deref(), Some("set"));
        assert_eq!(support[0].after.as_deref(), Some("none"));
    }
}
