//! Destructive actions ask first (issue 17, item 3). Each one is described once, as a
//! [`Confirm`]: the question, its consequence and the button that confirms it. The page
//! renders it as a link to the action's confirmation page (`GET …/delete` and the like):
//! without JavaScript that page is the question, and its form POSTs. With JavaScript
//! `static/confirm.js` opens the same question in a `<dialog>` instead of following the
//! link, and its confirm button POSTs the same form. The POST routes themselves are
//! unchanged (API-like clients and the tests post them directly): what never happens is a
//! destructive action one press away in the console.

use std::fmt;

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode};
use askama::Template;

use super::{Chrome, OrgHeader, Tab, frame::org_frame, tab, urls};
use crate::{auth::context::OrgContext, error::AppResult};

/// One destructive action, as the console asks about it.
pub struct Confirm {
    /// What the trigger shows ("Delete").
    pub button: &'static str,
    /// Said to screen readers after `button`, naming the thing (" OpenAI prod").
    pub hidden: String,
    /// The trigger's class: `danger` or `secondary`.
    pub class: &'static str,
    /// The question ("Delete the skill Tone?").
    pub question: String,
    /// What follows from it, in the words of the person asked.
    pub consequence: String,
    /// The confirm button, naming the action ("Delete Tone").
    pub label: String,
    /// The confirmation page (GET): the trigger's link without JavaScript.
    pub page_href: String,
    /// The action itself (POST).
    pub action: String,
    /// Whether the page answers the POST for htmx into `#content` (the settings tabs and
    /// the tokens page); the members page answers with a 303 only.
    pub htmx: bool,
    /// Set when the action would be refused as things stand ("deactivate it first"):
    /// said instead of asking, with no button that would only meet the refusal.
    pub refusal: Option<String>,
}

impl Confirm {
    /// Deleting a provider; refused while it is active.
    pub fn delete_provider(org: &str, id: &str, name: &str, active: bool) -> Self {
        Self {
            button: "Delete",
            hidden: format!(" {name}"),
            class: "danger",
            question: format!("Delete {name}?"),
            consequence: format!(
                "Its settings are deleted for good, and its key too unless another provider shares it. Add it again to use {name} later."
            ),
            label: format!("Delete {name}"),
            page_href: urls::provider_action(org, id, "delete"),
            action: urls::provider_action(org, id, "delete"),
            htmx: true,
            refusal: active.then(|| {
                format!(
                    "{name} is the active provider, so it cannot be deleted: deactivate it (or activate another provider) first."
                )
            }),
        }
    }

    /// Removing a provider's key; on the active provider the org goes back to the
    /// platform default.
    pub fn remove_key(org: &str, id: &str, name: &str, active: bool, shared: bool) -> Self {
        let (question, mut consequence) = match active {
            true => (
                format!("Remove the key of the active provider {name}?"),
                "The org goes back to the platform default at once; enter a key and activate it again to switch back.".to_owned(),
            ),
            false => (
                format!("Remove the key of {name}?"),
                format!("{name} cannot be tested or activated until a key is entered again."),
            ),
        };
        if shared {
            consequence.push_str(" The key stays stored for the other providers that share it.");
        }
        Self {
            button: "Remove key",
            hidden: format!(" of {name}"),
            class: "secondary",
            question,
            consequence,
            label: format!("Remove the key of {name}"),
            page_href: urls::provider_action(org, id, "remove-key"),
            action: urls::provider_action(org, id, "remove-key"),
            htmx: true,
            refusal: None,
        }
    }

    /// Deactivating the active provider `name`.
    pub fn deactivate(org: &str, name: &str) -> Self {
        Self {
            button: "Deactivate",
            hidden: format!(" {name}"),
            class: "secondary",
            question: format!("Deactivate {name}?"),
            consequence: format!(
                "The org goes back to the platform default at once, with platform quotas; {name} is kept and can be activated again."
            ),
            label: format!("Deactivate {name}"),
            page_href: urls::deactivate(org),
            action: urls::deactivate(org),
            htmx: true,
            refusal: None,
        }
    }

    /// Deleting a skill.
    pub fn delete_skill(org: &str, id: &str, name: &str) -> Self {
        Self {
            button: "Delete",
            hidden: format!(" {name}"),
            class: "danger",
            question: format!("Delete the skill {name}?"),
            consequence: "Its instructions stop being added to the org's AI features and are deleted for good. To pause it instead, disable it.".to_owned(),
            label: format!("Delete the skill {name}"),
            page_href: urls::skill_action(org, id, "delete"),
            action: urls::skill_action(org, id, "delete"),
            htmx: true,
            refusal: None,
        }
    }

    /// Removing a member (`label`) from the org `org_name`.
    pub fn remove_member(org: &str, org_name: &str, user_id: i64, label: &str) -> Self {
        Self {
            button: "Remove",
            hidden: format!(" {label}"),
            class: "danger",
            question: format!("Remove {label} from {org_name}?"),
            consequence: format!(
                "They lose access to {org_name} at once and are signed out everywhere; their API tokens stop working. To let them back in, invite them again."
            ),
            label: format!("Remove {label}"),
            page_href: urls::member_action(org, user_id, "remove"),
            action: urls::member_action(org, user_id, "remove"),
            htmx: false,
            refusal: None,
        }
    }

    /// Revoking the open invitation for `email`.
    pub fn revoke_invitation(org: &str, id: i64, email: &str) -> Self {
        Self {
            button: "Revoke",
            hidden: format!(" the invitation for {email}"),
            class: "danger",
            question: format!("Revoke the invitation for {email}?"),
            consequence: "Its link stops working at once. You can invite them again later."
                .to_owned(),
            label: "Revoke the invitation".to_owned(),
            page_href: urls::revoke_invitation(org, id),
            action: urls::revoke_invitation(org, id),
            htmx: false,
            refusal: None,
        }
    }

    /// Revoking the API token `name` (`prefix…`).
    pub fn revoke_token(org: &str, id: i64, name: &str, prefix: &str) -> Self {
        Self {
            button: "Revoke",
            hidden: format!(" the token {name} ({prefix}…)"),
            class: "danger",
            question: format!("Revoke the token {name} ({prefix}…)?"),
            consequence: "Every script or client using it is refused from now on. This cannot be undone; create a new token to replace it.".to_owned(),
            label: format!("Revoke {name}"),
            page_href: urls::revoke_token(org, id),
            action: urls::revoke_token(org, id),
            htmx: true,
            refusal: None,
        }
    }
}

/// The trigger: a link to the confirmation page that `confirm.js` turns into a dialog.
impl fmt::Display for Confirm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = super::errors::escape_html;
        write!(
            f,
            "<a class=\"button {class} confirm-trigger\" href=\"{href}\" data-confirm=\"{question}\" \
             data-confirm-detail=\"{detail}\" data-confirm-label=\"{label}\" data-confirm-action=\"{action}\"",
            class = self.class,
            href = e(&self.page_href),
            question = e(&self.question),
            detail = e(&self.consequence),
            label = e(&self.label),
            action = e(&self.action),
        )?;
        if self.htmx {
            f.write_str(" data-confirm-target=\"#content\"")?;
        }
        if let Some(refusal) = &self.refusal {
            write!(f, " data-confirm-refusal=\"{}\"", e(refusal))?;
        }
        write!(
            f,
            ">{}<span class=\"visually-hidden\">{}</span></a>",
            e(self.button),
            e(&self.hidden)
        )
    }
}

#[derive(Template)]
#[template(path = "confirm.html", blocks = ["content"])]
struct ConfirmPage<'a> {
    chrome: Chrome,
    org: OrgHeader,
    /// Whether the AI settings tab bar is shown (the members and tokens pages have none).
    tabs: bool,
    c: &'a Confirm,
    cancel_href: &'a str,
}

/// The confirmation page of `c` (`GET` of the action's URL): in the frame of the page it
/// belongs to, with Cancel back to `cancel_href`.
pub fn page(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    active: Option<Tab>,
    c: &Confirm,
    cancel_href: &str,
) -> AppResult<HttpResponse> {
    let (chrome, org) = org_frame(session, ctx, &c.label, active)?;
    let page = ConfirmPage {
        chrome,
        org,
        tabs: active.is_some(),
        c,
        cancel_href,
    };
    tab(req, StatusCode::OK, &page, page.as_content())
}
