//! The page frame every console page shares: the chrome (title, CSRF token, user, flash),
//! the org header with its tab bar, and the helpers that answer with a page, a tab (full
//! page or htmx fragment from one template) or a redirect.

use actix_session::Session;
use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
};
use askama::Template;

use super::urls::{self, Tab};
use crate::{
    auth::{Flash, context::OrgContext},
    error::AppResult,
    models::user::User,
    ops::Scope,
};

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

    /// Shows `flash` in place of any queued message (an htmx answer shows it at once).
    pub fn with_flash(mut self, flash: Option<Flash>) -> Self {
        if flash.is_some() {
            self.flash = flash;
        }
        self
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
    /// Whether the caller may change settings (forms and buttons are shown).
    pub is_admin: bool,
    pub settings_href: String,
    /// The members page, for callers who may see it.
    pub members_href: Option<String>,
    /// The API tokens page, for callers who may manage tokens.
    pub tokens_href: Option<String>,
    pub tabs: Vec<TabLink>,
    /// For admins, when the org's active provider failed its last check: what to say.
    pub attention: Option<String>,
    /// Support staff are reading: the pages say so (a banner) and speak of "this org"
    /// rather than "your".
    pub support: bool,
}

impl OrgHeader {
    pub fn new(ctx: &OrgContext, active: Option<Tab>) -> Self {
        let org = ctx.org();
        let tabs = Tab::ALL
            .into_iter()
            .filter(|t| ctx.caller.may(t.needs()))
            .map(|t| TabLink {
                slug: t.slug(),
                label: t.label(),
                href: urls::tab(&org.slug, t),
                active: Some(t) == active,
            })
            .collect();
        Self {
            slug: org.slug.clone(),
            name: org.name.clone(),
            access_label: ctx.access().label(),
            is_admin: ctx.caller.scopes.can_write(),
            settings_href: urls::ai_settings(&org.slug),
            members_href: ctx
                .caller
                .may(Scope::MembersManage)
                .then(|| urls::members(&org.slug)),
            tokens_href: ctx
                .caller
                .may(Scope::TokensManage)
                .then(|| urls::tokens(&org.slug)),
            tabs,
            support: ctx.access() == crate::ops::Access::Support,
            attention: ctx
                .attention
                .as_ref()
                .filter(|_| ctx.caller.may(Scope::AiProvidersActivate))
                .map(|(name, message)| match message {
                    Some(m) => format!(
                        "Your active provider {name} failed its last live check: {m} The features it serves fail until it passes again; test it, fix it or deactivate it on the Provider tab."
                    ),
                    None => format!(
                        "Your active provider {name} failed its last live check. The features it serves fail until it passes again; test it, fix it or deactivate it on the Provider tab."
                    ),
                }),
        }
    }
}

/// The chrome and org header of a page of `ctx`'s org titled `what · org name`.
pub fn org_frame(
    session: &Session,
    ctx: &OrgContext,
    what: &str,
    active: Option<Tab>,
) -> AppResult<(Chrome, OrgHeader)> {
    let chrome = Chrome::new(
        session,
        format!("{what} · {}", ctx.org().name),
        Some(&ctx.user),
    )?;
    Ok((chrome, OrgHeader::new(ctx, active)))
}

/// The first tab `ctx`'s caller may see.
pub fn first_tab(ctx: &OrgContext) -> Tab {
    Tab::ALL
        .into_iter()
        .find(|t| ctx.caller.may(t.needs()))
        .unwrap_or(Tab::Provider)
}

/// Moves the address bar (htmx's `HX-Push-Url`) to `url`, e.g. from a form's URL back to
/// its tab after a save answered in place.
pub fn push_url(res: &mut HttpResponse, url: &str) {
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(url) {
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("hx-push-url"),
            value,
        );
    }
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
