//! The console's URLs, spelled once. Handlers and view structs call these; templates get
//! the finished strings.

use crate::ops::Scope;

/// The tabs of the AI settings, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Provider,
    Skills,
    Insights,
    Advanced,
    Audit,
}

impl Tab {
    /// The tabs that exist, in order.
    pub const ALL: [Tab; 5] = [
        Tab::Provider,
        Tab::Skills,
        Tab::Insights,
        Tab::Advanced,
        Tab::Audit,
    ];

    /// The URL segment.
    pub fn slug(self) -> &'static str {
        match self {
            Tab::Provider => "provider",
            Tab::Skills => "skills",
            Tab::Insights => "insights",
            Tab::Advanced => "advanced",
            Tab::Audit => "audit",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Tab::Provider => "Provider",
            Tab::Skills => "Skills",
            Tab::Insights => "Insights",
            Tab::Advanced => "Advanced",
            Tab::Audit => "Audit",
        }
    }

    /// The scope a caller needs to see the tab at all.
    pub(super) fn needs(self) -> Scope {
        match self {
            Tab::Provider => Scope::AiProvidersList,
            Tab::Skills => Scope::SkillsList,
            Tab::Insights => Scope::SettingsGet,
            Tab::Advanced => Scope::SettingsGet,
            Tab::Audit => Scope::AuditRead,
        }
    }
}

/// `/orgs/{org}/settings/ai`: the AI settings (redirects to the first tab).
pub fn ai_settings(org: &str) -> String {
    format!("/orgs/{org}/settings/ai")
}

/// A settings tab.
pub fn tab(org: &str, tab: Tab) -> String {
    format!("/orgs/{org}/settings/ai/{}", tab.slug())
}

/// The members page.
pub fn members(org: &str) -> String {
    format!("/orgs/{org}/settings/members")
}

/// A member action: `role` or `remove`.
pub fn member_action(org: &str, user_id: i64, action: &str) -> String {
    format!("/orgs/{org}/settings/members/{user_id}/{action}")
}

/// The org's invitations (POST creates one).
pub fn invitations(org: &str) -> String {
    format!("/orgs/{org}/settings/members/invitations")
}

/// Revokes an invitation (POST).
pub fn revoke_invitation(org: &str, id: i64) -> String {
    format!("/orgs/{org}/settings/members/invitations/{id}/revoke")
}

/// The public page of an invitation link. The token is in the query string, which the
/// request log leaves out (as for `/setup?token=`); it is URL-safe base64 already.
pub fn invitation(token: &str) -> String {
    format!("{INVITATION}?token={token}")
}

/// The invitation page; its forms post to `{INVITATION}/accept|log-in|sign-up`.
pub const INVITATION: &str = "/invitations";

/// The Provider tab.
pub fn provider_tab(org: &str) -> String {
    tab(org, Tab::Provider)
}

/// The org's providers (POST creates one).
pub fn providers(org: &str) -> String {
    format!("/orgs/{org}/settings/ai/providers")
}

/// One provider (POST updates it).
pub fn provider(org: &str, id: &str) -> String {
    format!("/orgs/{org}/settings/ai/providers/{id}")
}

/// A provider action: `test`, `activate`, `delete` or `remove-key`.
pub fn provider_action(org: &str, id: &str, action: &str) -> String {
    format!("/orgs/{org}/settings/ai/providers/{id}/{action}")
}

/// Back to the platform default (POST).
pub fn deactivate(org: &str) -> String {
    format!("/orgs/{org}/settings/ai/provider/deactivate")
}

/// A feature's route: its preview (GET) and the change (POST).
pub fn feature_route(org: &str, feature: &str) -> String {
    format!("/orgs/{org}/settings/ai/provider/features/{feature}/route")
}

/// The routing policy switch (POST).
pub fn routing_policy(org: &str) -> String {
    format!("/orgs/{org}/settings/ai/provider/routing-policy")
}

/// The add-provider form, for `kind` when given (a catalog slug, so nothing to escape).
pub fn new_provider_form(org: &str, kind: Option<&str>) -> String {
    match kind {
        Some(kind) => format!("/orgs/{org}/settings/ai/provider/new?kind={kind}"),
        None => format!("/orgs/{org}/settings/ai/provider/new"),
    }
}

/// The edit form of a provider.
pub fn edit_provider(org: &str, id: &str) -> String {
    format!("/orgs/{org}/settings/ai/providers/{id}/edit")
}

/// The org's skills (POST adds one).
pub fn skills(org: &str) -> String {
    format!("/orgs/{org}/settings/ai/skills")
}

/// The add-skill form.
pub fn new_skill(org: &str) -> String {
    format!("/orgs/{org}/settings/ai/skills/new")
}

/// One skill (POST saves an edit).
pub fn skill(org: &str, id: &str) -> String {
    format!("/orgs/{org}/settings/ai/skills/{id}")
}

/// A skill action: `edit`, `enabled` or `delete`.
pub fn skill_action(org: &str, id: &str, action: &str) -> String {
    format!("/orgs/{org}/settings/ai/skills/{id}/{action}")
}

/// `path?query` from query-string pairs (URL-encoded), or `path` when there are none.
pub fn with_query(path: &str, pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    format!("{path}?{query}")
}

/// The export of the Audit tab as `format` (`csv` or `jsonl`).
pub fn audit_export(org: &str, format: &str) -> String {
    format!("/orgs/{org}/settings/ai/audit/export.{format}")
}

/// The API tokens page (POST creates one).
pub fn tokens(org: &str) -> String {
    format!("/orgs/{org}/settings/tokens")
}

/// Revokes an API token (POST).
pub fn revoke_token(org: &str, id: i64) -> String {
    format!("/orgs/{org}/settings/tokens/{id}/revoke")
}
