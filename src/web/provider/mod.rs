//! The Provider tab: which LLM provider serves the org now (the platform default or one of
//! the org's own), a card per configured provider, and — for admins — the actions on them
//! (test, activate, deactivate, remove key, delete). The add/edit form is in [`form`].
//! Every rule lives in `ops::providers`; these handlers only translate.

mod actions;
mod activation;
mod drafts;
mod feature_route;
mod form;
mod form_input;
mod form_view;
mod health;
mod matrix;
mod models;

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;

pub use actions::{
    activate_provider, confirm_deactivate, confirm_delete, confirm_remove_key, deactivate_provider,
    delete_provider, remove_key, set_routing_policy, test_provider,
};
pub use activation::activation_preview;
pub use feature_route::{route_preview, set_feature_route};
pub use form::{create_provider, edit_provider_form, new_provider_form, update_provider};
pub use models::{load_models_edit, load_models_new};

use super::{Chrome, OrgHeader, Tab, confirm::Confirm, frame::org_frame, tab, urls};
use crate::{
    auth::{Flash, context::OrgContext},
    error::AppResult,
    models::provider::CheckStatus,
    ops::{
        Scope,
        providers::{self, KeyDisplay, ProviderList, ProviderView, RouteChoice},
    },
    providers::{ProviderKind, Tools},
    routing::{Feature, Policy},
    state::AppState,
};
use matrix::{MatrixRow, Platform, PolicyChoice};

/// The provider in the path (`/orgs/{org}/settings/ai/providers/{id}/…`).
type ProviderPath = web::Path<(String, String)>;

/// How times are shown on the tab.
const TIME: &str = "%Y-%m-%d %H:%M UTC";
/// A check this recent reads "Checked just now" on its card.
const JUST_NOW_SECS: i64 = 120;

/// Which provider serves the org's AI features now.
pub struct ModeView {
    /// The active provider's name; `None`: the platform default serves.
    pub name: Option<String>,
    pub kind_label: String,
    pub model: String,
}

/// One line of a card's kind-specific details.
pub struct Detail {
    pub label: &'static str,
    pub value: String,
}

/// One provider as its card shows it. Holds no key: at most its masked preview.
pub struct CardView {
    pub id: String,
    pub name: String,
    /// The kind's slug: its mark's class (`mark-openai`).
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub model: String,
    pub base_url: String,
    pub details: Vec<Detail>,
    /// The masked preview (admins), "Key set" or "No key".
    pub key: String,
    pub has_key: bool,
    pub shared_with: Option<String>,
    pub check_status: &'static str,
    pub check_code: Option<String>,
    pub check_message: Option<String>,
    pub checked_at: Option<String>,
    /// Checked in the last two minutes: the card says "Checked just now".
    pub checked_just_now: bool,
    /// Its last 24 hours and whether it needs attention (the health loop).
    pub health: health::HealthView,
    pub active: bool,
    pub edit_href: String,
    pub test_action: String,
    /// The activation preview (GET) and the activation itself (POST).
    pub activate_action: String,
    /// The destructive actions, each asking first (`web::confirm`).
    pub remove_key: Confirm,
    pub delete: Confirm,
    /// Only on the active provider's card.
    pub deactivate: Option<Confirm>,
    /// Just saved: the card is highlighted briefly (and scrolled to).
    pub just_saved: bool,
    /// The outcome of what was just done to this provider, shown on its card.
    pub notice: Option<Flash>,
}

impl CardView {
    fn new(org: &str, p: ProviderView, now: chrono::DateTime<chrono::Utc>) -> Self {
        let entry = p.kind.entry();
        let mut details = Vec::new();
        for (label, value) in [
            ("Deployment", &p.deployment),
            ("API version", &p.api_version),
            ("Region", &p.region),
        ] {
            if let Some(value) = value {
                details.push(Detail {
                    label,
                    value: value.clone(),
                });
            }
        }
        if entry.tools == Tools::AdminSays {
            details.push(Detail {
                label: "Tool calling",
                value: if p.supports_tools { "yes" } else { "no" }.to_owned(),
            });
        }
        let (key, has_key) = match p.key {
            KeyDisplay::None => ("No key".to_owned(), false),
            KeyDisplay::Set => ("Key set".to_owned(), true),
            KeyDisplay::Preview(preview) => (preview, true),
        };
        Self {
            health: health::HealthView::new(&p.health),
            edit_href: urls::edit_provider(org, &p.id),
            test_action: urls::provider_action(org, &p.id, "test"),
            activate_action: urls::provider_action(org, &p.id, "activate"),
            remove_key: Confirm::remove_key(
                org,
                &p.id,
                &p.name,
                p.active,
                !p.shared_with.is_empty(),
            ),
            delete: Confirm::delete_provider(org, &p.id, &p.name, p.active),
            deactivate: p.active.then(|| Confirm::deactivate(org, &p.name)),
            id: p.id,
            name: p.name,
            kind: p.kind.as_str(),
            kind_label: entry.label,
            model: p.default_model,
            base_url: p
                .effective_base_url
                .unwrap_or_else(|| "(the provider's default)".to_owned()),
            details,
            key,
            has_key,
            shared_with: (!p.shared_with.is_empty()).then(|| p.shared_with.join(", ")),
            check_status: p.last_check.status.as_str(),
            check_code: p.last_check.code,
            check_message: p.last_check.message,
            // A save without verifying records a time but ran no check.
            checked_just_now: p.last_check.status != CheckStatus::Unverified
                && p.last_check
                    .checked_at
                    .is_some_and(|t| (now - t).num_seconds().abs() < JUST_NOW_SECS),
            checked_at: p.last_check.checked_at.map(|t| t.format(TIME).to_string()),
            active: p.active,
            just_saved: false,
            notice: None,
        }
    }
}

#[derive(Template)]
#[template(path = "provider/tab.html", blocks = ["content"])]
pub struct ProviderTabPage {
    chrome: Chrome,
    org: OrgHeader,
    mode: ModeView,
    cards: Vec<CardView>,
    /// The providers that need attention: (id, name) for the tab's banner.
    attention: Vec<(String, String)>,
    add_href: String,
    matrix: Vec<MatrixRow>,
    policy: Policy,
    policy_choices: Vec<PolicyChoice>,
    policy_action: String,
    settings_lock_version: i32,
}

/// Who serves the platform default: `SWITCHBOARD_PLATFORM_PROVIDER` is `kind:model`; a
/// kind the catalog doesn't know is shown as configured.
fn platform(state: &AppState) -> Platform {
    let (kind, model) = providers::platform_default(state);
    let kind_label = kind
        .parse::<ProviderKind>()
        .map_or(kind, |k| k.entry().label.to_owned());
    Platform { kind_label, model }
}

fn mode(platform: &Platform, list: &ProviderList) -> ModeView {
    match list.active_provider() {
        Some(p) => ModeView {
            name: Some(p.name.clone()),
            kind_label: p.kind.entry().label.to_owned(),
            model: p.default_model.clone(),
        },
        None => ModeView {
            name: None,
            kind_label: platform.kind_label.clone(),
            model: platform.model.clone(),
        },
    }
}

/// The choices of a row's route control, `current` selected.
fn route_options(list: &ProviderList, current: &RouteChoice) -> Vec<matrix::RouteOption> {
    let mut options = vec![
        (
            "inherit".to_owned(),
            "Inherit".to_owned(),
            RouteChoice::Inherit,
        ),
        (
            "platform".to_owned(),
            "Platform default".to_owned(),
            RouteChoice::Platform,
        ),
        ("off".to_owned(), "Off".to_owned(), RouteChoice::Off),
    ];
    for p in &list.providers {
        let selected_model = match current {
            RouteChoice::Provider { id, model } if id == &p.id => model.clone(),
            _ => None,
        };
        options.push((
            format!("provider:{}", p.id),
            format!("{} ({})", p.name, p.kind.entry().label),
            RouteChoice::Provider {
                id: p.id.clone(),
                model: selected_model,
            },
        ));
    }
    options
        .into_iter()
        .map(|(value, label, choice)| matrix::RouteOption {
            selected: match (&choice, current) {
                (RouteChoice::Provider { id: a, .. }, RouteChoice::Provider { id: b, .. }) => {
                    a == b
                }
                (a, b) => a == b,
            },
            value,
            label,
        })
        .collect()
}

/// Renders the tab (page or fragment) with `flash` shown in place of any queued message:
/// on the card of the provider it is about (which is highlighted), else at the top.
async fn render_tab(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    code: StatusCode,
    flash: Option<Flash>,
) -> AppResult<HttpResponse> {
    let list = providers::list_providers(state, &ctx.caller).await?;
    let slug = &ctx.org().slug;
    let platform = platform(state);
    let mode = mode(&platform, &list);
    let mut matrix = matrix::rows(&list.routing(), &platform);
    for (row, feature) in matrix.iter_mut().zip(Feature::ALL) {
        let choice = list
            .route_of(feature)
            .map_or(RouteChoice::Inherit, |r| r.choice.clone());
        row.route = matrix::describe(&list, &choice);
        row.route_action = urls::feature_route(slug, feature.id());
        if let RouteChoice::Provider {
            model: Some(model), ..
        } = &choice
        {
            row.route_model = model.clone();
        }
        if ctx.caller.may(Scope::SettingsUpdate) {
            row.options = route_options(&list, &choice);
        }
    }
    let (policy, settings_lock_version) = (list.policy, list.settings_lock_version);
    let now = state.clock.now();
    let mut cards: Vec<CardView> = list
        .providers
        .into_iter()
        .map(|p| CardView::new(slug, p, now))
        .collect();
    let (chrome, org) = org_frame(session, ctx, "Provider", Some(Tab::Provider))?;
    let mut chrome = chrome.with_flash(flash);
    let about = chrome.flash.as_ref().and_then(|f| f.about.clone());
    if let Some(card) = cards
        .iter_mut()
        .find(|c| about.as_deref() == Some(c.id.as_str()))
    {
        card.just_saved = true;
        card.notice = chrome.flash.take();
    }
    let attention = cards
        .iter()
        .filter(|c| c.health.attention_since.is_some())
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let page = ProviderTabPage {
        chrome,
        org,
        mode,
        cards,
        attention,
        add_href: urls::new_provider_form(slug, None),
        matrix,
        policy,
        policy_choices: matrix::policy_choices(policy),
        policy_action: urls::routing_policy(slug),
        settings_lock_version,
    };
    tab(req, code, &page, page.as_content())
}

/// `GET /orgs/{org}/settings/ai/provider`.
pub async fn show_provider_tab(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    render_tab(&req, &ctx, &session, &state, StatusCode::OK, None).await
}
