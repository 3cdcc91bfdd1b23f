//! `/orgs/{org}/settings/tokens`: admins create API tokens (name, scopes grouped by
//! resource, expiry) and revoke them. The token itself is shown in the answer to the
//! creation form and nowhere else: not through a redirect and a flash (which would put it
//! in the session store), never again on the page. The rules live in `ops::tokens`; the
//! page needs `tokens:manage`, so members and support staff get 403.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret as _;

use super::{
    Chrome, OrgHeader,
    confirm::{self, Confirm},
    frame::org_frame,
    see_other, tab, urls, wants_fragment,
};
use crate::{
    auth::{Flash, context::OrgContext, set_flash},
    error::{AppError, AppResult},
    ops::{
        OpError, Scope,
        tokens::{self, TokenInput, TokenKind, TokenStatus, TokenView},
    },
    state::AppState,
};

/// One checkbox of the scope picker.
pub struct ScopeBox {
    /// The scope's name, the checkbox's value (`aiProviders:list`).
    pub value: &'static str,
    /// The element id (`scope-aiProviders-list`: no `:` to escape in CSS selectors).
    pub id: String,
    /// What the scope lets a token do.
    pub hint: &'static str,
    pub checked: bool,
}

/// The scopes of one resource, a `<fieldset>` of the form.
pub struct ScopeGroup {
    pub legend: &'static str,
    pub boxes: Vec<ScopeBox>,
}

/// One option of the expiry select.
pub struct ExpiryOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// The expiry choices: what the select offers, as `ops::tokens::parse_lifetime` reads it.
const EXPIRIES: [(&str, &str); 5] = [
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("90d", "90 days"),
    ("365d", "1 year"),
    ("never", "never"),
];
/// The preselected expiry ([`tokens::DEFAULT_LIFETIME`]).
const DEFAULT_EXPIRY: &str = "90d";

/// One token as listed (never the token: only its first characters).
pub struct TokenRow {
    pub name: String,
    /// `Personal` or `Service token`.
    pub kind: &'static str,
    /// The owner's email, or for a service token "the org (created by …)".
    pub owner: String,
    pub scopes: Vec<String>,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
    /// The expiry, or `expired` / `revoked`.
    pub expires: String,
    /// `live`, `expired` or `revoked` (a class for the row).
    pub status: &'static str,
    /// For a live token: its Revoke button, which asks first.
    pub revoke: Option<Confirm>,
}

/// The token just created: only in the answer to the form.
pub struct CreatedView {
    pub name: String,
    pub secret: String,
    pub scopes: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "tokens/page.html", blocks = ["content"])]
struct TokensPage {
    chrome: Chrome,
    org: OrgHeader,
    tokens: Vec<TokenRow>,
    created: Option<CreatedView>,
    create_action: String,
    /// The form's values (kept after a refusal).
    name: String,
    /// Whether the form's kind is `service`.
    service: bool,
    max_name: usize,
    groups: Vec<ScopeGroup>,
    expiries: Vec<ExpiryOption>,
}

/// A time as the page shows it: to the minute, as `last_used_at` is kept.
fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The legend of a resource's scopes.
fn legend(resource: &str) -> &'static str {
    match resource {
        "aiProviders" => "AI providers (aiProviders)",
        "settings" => "AI settings (settings)",
        "skills" => "Skills (skills)",
        "audit" => "Audit trail (audit)",
        "tokens" => "API tokens (tokens)",
        "ai" => "Route resolution (ai)",
        _ => "Other",
    }
}

/// What a scope lets a token do.
fn hint(scope: Scope) -> &'static str {
    match scope {
        Scope::AiProvidersList => "list the providers",
        Scope::AiProvidersGet => "read one provider",
        Scope::AiProvidersCreate => "add providers",
        Scope::AiProvidersUpdate => "edit providers and their keys",
        Scope::AiProvidersDelete => "delete providers",
        Scope::AiProvidersActivate => "activate and deactivate providers",
        Scope::AiProvidersTest => "run live checks",
        Scope::SettingsGet => "read the AI settings",
        Scope::SettingsUpdate => "change the AI settings",
        Scope::SkillsList => "list the skills",
        Scope::SkillsGet => "read one skill",
        Scope::SkillsCreate => "add skills",
        Scope::SkillsUpdate => "edit skills",
        Scope::SkillsDelete => "delete skills",
        Scope::AuditRead => "read the audit trail",
        Scope::TokensManage => "list and revoke API tokens",
        Scope::AiResolve => "resolve which provider serves a feature, with its decrypted key",
        Scope::AiRelay => "call the serving provider through the relay",
        Scope::AiRelease => "operator only (CLI)",
        Scope::MembersList | Scope::MembersManage => "console only",
    }
}

/// The scope picker: the grantable scopes grouped by resource (the part before `:`), in
/// the order of the scope table, with `checked` ticked.
fn scope_groups(checked: &[String]) -> Vec<ScopeGroup> {
    let mut groups: Vec<(&'static str, ScopeGroup)> = Vec::new();
    // `grantable` leaves out `ai:release`: only an operator on the CLI grants it.
    for scope in tokens::grantable() {
        let name = scope.as_str();
        let (resource, action) = name.split_once(':').unwrap_or((name, ""));
        let item = ScopeBox {
            value: name,
            id: format!("scope-{resource}-{action}"),
            hint: hint(scope),
            checked: checked.iter().any(|c| c == name),
        };
        match groups.iter_mut().find(|(r, _)| *r == resource) {
            Some((_, group)) => group.boxes.push(item),
            None => groups.push((
                resource,
                ScopeGroup {
                    legend: legend(resource),
                    boxes: vec![item],
                },
            )),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

fn expiry_options(selected: &str) -> Vec<ExpiryOption> {
    let selected = if EXPIRIES.iter().any(|(v, _)| *v == selected) {
        selected
    } else {
        DEFAULT_EXPIRY
    };
    EXPIRIES
        .into_iter()
        .map(|(value, label)| ExpiryOption {
            value,
            label,
            selected: value == selected,
        })
        .collect()
}

fn row(slug: &str, t: TokenView, now: DateTime<Utc>) -> TokenRow {
    let status = t.status(now);
    TokenRow {
        expires: match (status, t.expires_at) {
            (TokenStatus::Revoked, _) => "revoked".to_owned(),
            (TokenStatus::Expired, _) => "expired".to_owned(),
            (TokenStatus::Live, Some(at)) => when(at),
            (TokenStatus::Live, None) => "never".to_owned(),
        },
        status: match status {
            TokenStatus::Live => "live",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
        },
        revoke: (status == TokenStatus::Live)
            .then(|| Confirm::revoke_token(slug, t.id, &t.name, &t.prefix)),
        created: when(t.created_at),
        last_used: t.last_used_at.map_or("never".to_owned(), when),
        name: t.name,
        kind: match t.kind {
            TokenKind::Personal => "Personal",
            TokenKind::Service => "Service token",
        },
        owner: match t.kind {
            TokenKind::Personal => t.owner_email,
            TokenKind::Service => format!("the org (created by {})", t.owner_email),
        },
        scopes: t.scopes,
        prefix: t.prefix,
    }
}

/// The creation form as submitted.
#[derive(Default)]
struct TokenForm {
    name: String,
    /// `personal` (the default) or `service`.
    kind: String,
    scopes: Vec<String>,
    expires: String,
}

impl TokenForm {
    /// Reads the form's pairs: `scope` may repeat (one per ticked box); `name` and
    /// `expires` may not. Other fields (`csrf_token`) are the guards' business.
    fn parse(pairs: Vec<(String, String)>) -> Result<Self, AppError> {
        let mut form = TokenForm::default();
        let (mut name, mut expires, mut kind) = (None, None, None);
        for (key, value) in pairs {
            let slot = match key.as_str() {
                "scope" => {
                    form.scopes.push(value);
                    continue;
                }
                "name" => &mut name,
                "expires" => &mut expires,
                "kind" => &mut kind,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(AppError::Validation(format!("{key} is given twice")));
            }
        }
        form.name = name.unwrap_or_default();
        form.kind = kind.unwrap_or_else(|| TokenKind::Personal.as_str().to_owned());
        form.expires = expires.unwrap_or_else(|| DEFAULT_EXPIRY.to_owned());
        Ok(form)
    }
}

/// What an answer adds to the page.
struct Answer {
    status: StatusCode,
    flash: Option<Flash>,
    created: Option<CreatedView>,
    /// The form's values after a refusal.
    form: TokenForm,
}

impl Answer {
    fn plain(status: StatusCode, flash: Option<Flash>) -> Self {
        Self {
            status,
            flash,
            created: None,
            form: TokenForm::default(),
        }
    }
}

/// Renders the page: the full page, or its content for htmx. The list comes first: it is
/// the operation that checks `tokens:manage`, so nothing is rendered for anyone else.
async fn render(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    answer: Answer,
) -> AppResult<HttpResponse> {
    let listed = tokens::list_tokens(state, &ctx.caller).await?;
    let Answer {
        status,
        flash,
        created,
        form,
    } = answer;
    let slug = &ctx.org().slug;
    let now = state.clock.now();
    let (chrome, org) = org_frame(session, ctx, "API tokens", None)?;
    let page = TokensPage {
        chrome: chrome.with_flash(flash),
        org,
        tokens: listed.into_iter().map(|t| row(slug, t, now)).collect(),
        created,
        create_action: urls::tokens(slug),
        name: form.name,
        service: form.kind == TokenKind::Service.as_str(),
        max_name: tokens::MAX_NAME_CHARS,
        groups: scope_groups(&form.scopes),
        expiries: expiry_options(&form.expires),
    };
    tab(req, status, &page, page.as_content())
}

/// `GET /orgs/{org}/settings/tokens`.
pub async fn list_tokens(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    render(
        &req,
        &ctx,
        &session,
        &state,
        Answer::plain(StatusCode::OK, None),
    )
    .await
}

/// `POST /orgs/{org}/settings/tokens`: 201 with the token in this very answer (the page,
/// or its content for htmx; `no-store` like every page) — never through a redirect, so it
/// is never stored, not even in the session. A refusal is 400 with the form as typed.
pub async fn create_token(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    body: web::Form<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let form = TokenForm::parse(body.into_inner())?;
    let kind = TokenKind::parse(&form.kind)
        .ok_or_else(|| AppError::Validation("kind must be personal or service".to_owned()))?;
    let input = tokens::parse_scopes(&form.scopes).and_then(|scopes| {
        Ok(TokenInput {
            name: form.name.clone(),
            scopes,
            expires_in: tokens::parse_lifetime(&form.expires)?,
            owner_email: None,
        })
    });
    let created = match input {
        Ok(input) => tokens::create_token_of_kind(&state, &ctx.caller, input, kind).await,
        Err(e) => Err(e),
    };
    let answer = match created {
        Ok(created) => {
            let t = created.token;
            Answer {
                status: StatusCode::CREATED,
                flash: Some(Flash::ok(format!("Token {} created.", t.name))),
                created: Some(CreatedView {
                    secret: created.secret.expose_secret().to_owned(),
                    scopes: t.scopes.join(" "),
                    expires: t.expires_at.map_or("never".to_owned(), when),
                    name: t.name,
                }),
                form: TokenForm::default(),
            }
        }
        // ai:release asked of the console: 403 with the form as typed and why.
        Err(OpError::Forbidden(message)) if ctx.caller.may(Scope::TokensManage) => Answer {
            status: StatusCode::FORBIDDEN,
            flash: Some(Flash::error(message)),
            created: None,
            form,
        },
        Err(OpError::Invalid { message, .. }) => Answer {
            status: StatusCode::BAD_REQUEST,
            flash: Some(Flash::error(message)),
            created: None,
            form,
        },
        Err(other) => return Err(other.into()),
    };
    render(&req, &ctx, &session, &state, answer).await
}

/// `POST /orgs/{org}/settings/tokens/{id}/revoke`: htmx gets the page content with the
/// message; a plain post 303 back to the page.
pub async fn revoke_token(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    let gone = tokens::revoke_token(&state, &ctx.caller, path.1).await?;
    let flash = Flash::ok(format!(
        "Revoked the token {} ({}…): it no longer works.",
        gone.name, gone.prefix
    ));
    if wants_fragment(&req) {
        render(
            &req,
            &ctx,
            &session,
            &state,
            Answer::plain(StatusCode::OK, Some(flash)),
        )
        .await
    } else {
        set_flash(&session, flash);
        Ok(see_other(&urls::tokens(&ctx.org().slug)))
    }
}

/// `GET /orgs/{org}/settings/tokens/{id}/revoke`: the question, without JavaScript
/// (`web::confirm`); a revoked or unknown token is a 404.
pub async fn confirm_revoke_token(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let t = tokens::list_tokens(&state, &ctx.caller)
        .await?
        .into_iter()
        .find(|t| t.id == path.1 && t.revoked_at.is_none())
        .ok_or(AppError::NotFound)?;
    let slug = &ctx.org().slug;
    let mut c = Confirm::revoke_token(slug, t.id, &t.name, &t.prefix);
    if !t.is_live(now) {
        c.consequence =
            "It has expired already; revoking it keeps it from ever working again.".to_owned();
    }
    confirm::page(&req, &ctx, &session, None, &c, &urls::tokens(slug))
}
