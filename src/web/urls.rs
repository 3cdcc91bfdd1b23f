//! The console's URLs, spelled once. Handlers and view structs call these; templates get
//! the finished strings.

use super::frame::Tab;

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
