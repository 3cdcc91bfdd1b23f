//! The server-rendered console: one module per page or tab (handlers + their askama view
//! structs), the shared page chrome, and the one route table.

pub mod account;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod errors;
pub mod health;
pub mod home;
pub mod insights;
pub mod members;

use actix_session::Session;
use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use askama::Template;

use crate::{
    auth::{
        Flash,
        context::resolve_org,
        context::{Access, OrgContext},
    },
    error::AppResult,
    models::user::User,
};

/// The route table: reads like the URL map in DESIGN.md.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/static/{file}", web::get().to(assets::serve))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::log_in))
        .route("/logout", web::post().to(auth::log_out))
        .route("/setup", web::get().to(auth::setup_form))
        .route("/setup", web::post().to(auth::set_up))
        .route("/account/password", web::get().to(account::password_form))
        .route(
            "/account/password",
            web::post().to(account::change_password),
        )
        .route("/", web::get().to(home::org_picker))
        .route("/support/orgs", web::get().to(home::support_orgs))
        .service(
            web::scope("/orgs/{org}")
                .wrap(actix_web::middleware::from_fn(resolve_org))
                .route("/settings/ai", web::get().to(insights::default_tab))
                .route(
                    "/settings/ai/insights",
                    web::get().to(insights::show_insights),
                )
                .route(
                    "/settings/ai/insights",
                    web::post().to(insights::update_insights),
                )
                .route("/settings/ai/audit", web::get().to(audit::show_audit))
                .route("/settings/members", web::get().to(members::list_members))
                .route("/settings/members", web::post().to(members::add_member))
                .route(
                    "/settings/members/{user_id}/role",
                    web::post().to(members::change_role),
                )
                .route(
                    "/settings/members/{user_id}/remove",
                    web::post().to(members::remove_member),
                ),
        )
        .default_service(web::to(errors::not_found));
}

/// What every page's layout shows.
pub struct Chrome {
    pub title: String,
    pub csrf_token: String,
    pub user_label: Option<String>,
    pub flash: Option<Flash>,
}

impl Chrome {
    /// The chrome for a page, taking any queued flash message.
    pub fn new(
        session: &Session,
        title: impl Into<String>,
        user: Option<&User>,
    ) -> AppResult<Self> {
        Ok(Self {
            title: title.into(),
            csrf_token: crate::auth::csrf_token(session)?,
            user_label: user.map(|u| u.display_name().to_owned()),
            flash: crate::auth::take_flash(session),
        })
    }
}

/// The tabs of the AI settings that exist so far, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Insights,
    Audit,
}

impl Tab {
    pub const BUILT: [Tab; 2] = [Tab::Insights, Tab::Audit];

    fn slug(self) -> &'static str {
        match self {
            Tab::Insights => "insights",
            Tab::Audit => "audit",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Tab::Insights => "Insights",
            Tab::Audit => "Audit",
        }
    }
}

/// One link in the tab bar.
pub struct TabLink {
    pub slug: &'static str,
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

/// The org header and tab bar of the settings pages.
pub struct OrgHeader {
    pub slug: String,
    pub name: String,
    pub access_label: &'static str,
    pub is_admin: bool,
    pub tabs: Vec<TabLink>,
}

impl OrgHeader {
    pub fn new(ctx: &OrgContext, active: Option<Tab>) -> Self {
        let tabs = Tab::BUILT
            .iter()
            .map(|&t| TabLink {
                slug: t.slug(),
                label: t.label(),
                href: tab_url(&ctx.org.slug, t),
                active: Some(t) == active,
            })
            .collect();
        Self {
            slug: ctx.org.slug.clone(),
            name: ctx.org.name.clone(),
            access_label: match ctx.access {
                Access::Admin => "admin",
                Access::Member => "member · read-only",
                Access::Support => "support · read-only",
            },
            is_admin: ctx.can_edit(),
            tabs,
        }
    }
}

/// The URL of a settings tab.
pub fn tab_url(org_slug: &str, tab: Tab) -> String {
    format!("/orgs/{org_slug}/settings/ai/{}", tab.slug())
}

/// Whether the request wants just the fragment (an htmx request that is not restoring history).
pub fn wants_fragment(req: &HttpRequest) -> bool {
    let h = req.headers();
    h.get("hx-request").is_some_and(|v| v == "true")
        && h.get("hx-history-restore-request").is_none()
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// A full page.
pub fn page(status: StatusCode, tpl: &impl Template) -> AppResult<HttpResponse> {
    Ok(html(status, tpl.render()?))
}

/// A tab: the whole page, or for htmx just its `content` block — one template either way.
pub fn tab(
    req: &HttpRequest,
    status: StatusCode,
    full: &impl Template,
    fragment: impl Template,
) -> AppResult<HttpResponse> {
    let body = if wants_fragment(req) {
        fragment.render()?
    } else {
        full.render()?
    };
    let mut res = html(status, body);
    res.headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("HX-Request"));
    Ok(res)
}

/// 303 See Other to `location` (the answer to a plain form post).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
