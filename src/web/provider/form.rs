//! The add/edit provider form, built from the catalog: which fields a kind needs, whether
//! its key is required and how it starts, where requests go without a base URL, example
//! models. One template serves add and edit, as a full page (no JavaScript) or as the
//! fragment htmx swaps in; a refused save comes back with the admin's input — never the
//! key — and each error next to its field.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use secrecy::{SecretString, zeroize::Zeroize as _};
use serde::{Deserialize, Deserializer};

use super::{ProviderPath, answer_saved};
use crate::{
    auth::{Flash, context::OrgContext},
    error::{AppError, AppResult},
    models::provider::CheckStatus,
    ops::{
        OpError, Scope,
        providers::{self, KeyDisplay, KeyInput, ProviderInput, ProviderView},
    },
    providers::{
        CheckOutcome, FailureCode, ProviderKind, catalog,
        catalog::{BaseUrlSpec, FieldType},
    },
    state::AppState,
    web::{Chrome, OrgHeader, Tab, frame::org_frame, tab, urls},
};

/// What the admin typed (never the key), to fill the form again.
#[derive(Default)]
struct Values {
    name: String,
    default_model: String,
    base_url: String,
    deployment: String,
    api_version: String,
    region: String,
    link_from: String,
    supports_tools: bool,
    save_unverified: bool,
}

impl Values {
    fn of(p: &ProviderView) -> Self {
        Self {
            name: p.name.clone(),
            default_model: p.default_model.clone(),
            base_url: p.base_url.clone().unwrap_or_default(),
            deployment: p.deployment.clone().unwrap_or_default(),
            api_version: p.api_version.clone().unwrap_or_default(),
            region: p.region.clone().unwrap_or_default(),
            link_from: String::new(),
            supports_tools: p.supports_tools,
            save_unverified: false,
        }
    }

    fn text(&self, field: &str) -> &str {
        match field {
            "name" => &self.name,
            "default_model" => &self.default_model,
            "base_url" => &self.base_url,
            "deployment" => &self.deployment,
            "api_version" => &self.api_version,
            "region" => &self.region,
            _ => "",
        }
    }
}

/// A failed live check as the form shows it: code, message, the scrubbed excerpt.
pub struct CheckView {
    pub code: &'static str,
    pub message: String,
    pub excerpt: Option<String>,
}

/// Why a save was refused: messages by field (`None`: the form as a whole) and the check.
#[derive(Default)]
struct Errors {
    messages: Vec<(Option<&'static str>, String)>,
    check: Option<CheckView>,
}

impl Errors {
    fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            messages: vec![(Some(field), message.into())],
            check: None,
        }
    }

    fn on(&self, field: &str) -> Option<String> {
        let found: Vec<&str> = self
            .messages
            .iter()
            .filter(|(f, _)| *f == Some(field))
            .map(|(_, m)| m.as_str())
            .collect();
        (!found.is_empty()).then(|| found.join(" "))
    }
}

/// The field a failed check points at, so its message also shows next to that field.
fn check_field(kind: ProviderKind, code: FailureCode) -> Option<&'static str> {
    Some(match code {
        FailureCode::AuthRejected => "api_key",
        FailureCode::ModelNotFound if kind == ProviderKind::Azure => "deployment",
        FailureCode::ModelNotFound => "default_model",
        FailureCode::BadApiVersion => "api_version",
        FailureCode::Unreachable
        | FailureCode::Timeout
        | FailureCode::Tls
        | FailureCode::BlockedAddress
        | FailureCode::BadResponse => "base_url",
        FailureCode::RateLimited | FailureCode::QuotaExhausted => return None,
    })
}

/// The status and errors of a refused save; anything else stays an error.
fn refused(e: OpError, kind: ProviderKind) -> Result<(StatusCode, Errors), OpError> {
    Ok(match e {
        OpError::Invalid { field, message } => (
            StatusCode::BAD_REQUEST,
            Errors {
                messages: vec![(field, message)],
                check: None,
            },
        ),
        OpError::Unprocessable { field, message } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Errors {
                messages: vec![(field, message)],
                check: None,
            },
        ),
        OpError::CheckFailed(outcome) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            check_errors(kind, outcome),
        ),
        OpError::Conflict(message) => (
            StatusCode::CONFLICT,
            Errors {
                messages: vec![(None, message)],
                check: None,
            },
        ),
        other => return Err(other),
    })
}

fn check_errors(kind: ProviderKind, outcome: CheckOutcome) -> Errors {
    let field = outcome.code.and_then(|c| check_field(kind, c));
    Errors {
        messages: field
            .map(|f| (Some(f), outcome.message.clone()))
            .into_iter()
            .collect(),
        check: Some(CheckView {
            code: outcome.code.map_or("failed", FailureCode::as_str),
            message: outcome.message,
            excerpt: outcome.excerpt,
        }),
    }
}

/// A text-like input (text, url, password).
pub struct FieldView {
    pub name: &'static str,
    pub id: String,
    pub label: String,
    pub input_type: &'static str,
    pub value: String,
    pub required: bool,
    pub placeholder: Option<String>,
    pub help: Option<String>,
    pub error: Option<String>,
    /// The id of a `<datalist>` of suggestions.
    pub list: Option<&'static str>,
}

impl FieldView {
    fn new(name: &'static str, label: impl Into<String>, errors: &Errors) -> Self {
        Self {
            name,
            id: format!("pf-{name}"),
            label: label.into(),
            input_type: "text",
            value: String::new(),
            required: false,
            placeholder: None,
            help: None,
            error: errors.on(name),
            list: None,
        }
    }

    /// The ids of the help line and the error, for `aria-describedby`.
    pub fn described_by(&self) -> Option<String> {
        described_by(&self.id, self.help.is_some(), self.error.is_some())
    }
}

fn described_by(id: &str, help: bool, error: bool) -> Option<String> {
    match (help, error) {
        (true, true) => Some(format!("{id}-help {id}-error")),
        (true, false) => Some(format!("{id}-help")),
        (false, true) => Some(format!("{id}-error")),
        (false, false) => None,
    }
}

/// A checkbox.
pub struct CheckboxView {
    pub name: &'static str,
    pub id: String,
    pub label: &'static str,
    pub checked: bool,
    pub help: Option<&'static str>,
    pub error: Option<String>,
}

impl CheckboxView {
    /// The ids of the help line and the error, for `aria-describedby`.
    pub fn described_by(&self) -> Option<String> {
        described_by(&self.id, self.help.is_some(), self.error.is_some())
    }
}

/// An option of a `<select>`.
pub struct OptionView {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A line of the error summary, linking to its field when the form shows it.
pub struct SummaryItem {
    pub message: String,
    pub href: Option<String>,
}

/// Everything the form template shows.
pub struct FormView {
    pub heading: String,
    pub action: String,
    /// Where the kind switch GETs the form for another kind.
    pub switch_action: String,
    pub cancel_href: String,
    pub submit_label: &'static str,
    pub kind: &'static str,
    pub kinds: Vec<OptionView>,
    pub kind_error: Option<String>,
    pub lock_version: Option<i32>,
    pub fields: Vec<FieldView>,
    pub models: &'static [&'static str],
    /// Other providers of the org whose key may be linked (empty: no select).
    pub link_options: Vec<OptionView>,
    pub link_error: Option<String>,
    pub checkboxes: Vec<CheckboxView>,
    pub summary: Vec<SummaryItem>,
    pub check: Option<CheckView>,
}

#[derive(Template)]
#[template(path = "provider/form_page.html", blocks = ["content"])]
pub struct FormPage {
    chrome: Chrome,
    org: OrgHeader,
    form: FormView,
}

/// Builds the form for `kind` from the catalog. `editing` is the stored provider on edit;
/// `others` the org's providers (for the link select).
fn build(
    slug: &str,
    kind: ProviderKind,
    values: &Values,
    editing: Option<&ProviderView>,
    lock_version: Option<i32>,
    others: &[ProviderView],
    errors: Errors,
) -> FormView {
    let entry = kind.entry();
    let mut fields = Vec::new();

    let mut name = FieldView::new("name", "Name", &errors);
    name.required = true;
    name.help = Some("How the console and the audit trail call this provider.".to_owned());
    fields.push(name);

    let mut model = FieldView::new("default_model", "Default model", &errors);
    model.required = true;
    model.placeholder = entry.example_models.first().map(|m| (*m).to_owned());
    model.help = Some(format!("For example {}.", entry.example_models.join(", ")));
    model.list = Some("pf-models");
    fields.push(model);

    let mut base = FieldView::new("base_url", "Base URL", &errors);
    base.input_type = "url";
    let again = " Changing it requires entering the key again.";
    let help = match entry.base_url {
        BaseUrlSpec::Default { url } => {
            base.placeholder = Some(url.to_owned());
            format!("Leave blank for {url}.")
        }
        BaseUrlSpec::Required => {
            base.required = true;
            "The address of your endpoint.".to_owned()
        }
        BaseUrlSpec::FromRegion { template } => {
            format!("Leave blank for {template}, with your region.")
        }
    };
    base.help = Some(if editing.is_some() {
        help + again
    } else {
        help
    });
    fields.push(base);

    let mut checkboxes = Vec::new();
    for extra in entry.extra_fields {
        match extra.field_type {
            FieldType::Text => {
                let mut f = FieldView::new(extra.name, extra.label, &errors);
                f.required = extra.required;
                f.help = Some(extra.help.to_owned());
                fields.push(f);
            }
            FieldType::Bool => checkboxes.push(CheckboxView {
                name: extra.name,
                id: format!("pf-{}", extra.name),
                label: extra.label,
                checked: values.supports_tools,
                help: Some(extra.help),
                error: errors.on(extra.name),
            }),
            // Gateway extra headers are not stored yet: no field for them.
            FieldType::HeaderNames => {}
        }
    }
    for field in &mut fields {
        field.value = values.text(field.name).to_owned();
    }

    let mut key = FieldView::new("api_key", "API key", &errors);
    key.input_type = "password";
    let stored = editing.and_then(|p| match &p.key {
        KeyDisplay::None => None,
        KeyDisplay::Set => Some("the stored key".to_owned()),
        KeyDisplay::Preview(preview) => Some(format!("the stored key, {preview}")),
    });
    let needs = match (entry.key.required, entry.key.prefix) {
        (true, Some(prefix)) => format!("Required; it starts with {prefix}."),
        (true, None) => "Required.".to_owned(),
        (false, _) => "Optional: only if your endpoint asks for one.".to_owned(),
    };
    key.help = Some(match stored {
        Some(stored) => format!(
            "Leave blank to keep the stored key ({stored}). Changing the kind or base URL requires entering it again."
        ),
        None => needs,
    });
    fields.push(key);

    let editing_id = editing.map(|p| p.id.as_str());
    let mut link_options: Vec<OptionView> = others
        .iter()
        .filter(|p| Some(p.id.as_str()) != editing_id)
        .filter_map(|p| {
            let key = match &p.key {
                KeyDisplay::None => return None,
                KeyDisplay::Set => String::new(),
                KeyDisplay::Preview(preview) => format!(", {preview}"),
            };
            Some(OptionView {
                label: format!("{} ({}{key})", p.name, p.kind.entry().label),
                selected: values.link_from == p.id,
                value: p.id.clone(),
            })
        })
        .collect();
    if !link_options.is_empty() {
        link_options.insert(
            0,
            OptionView {
                value: String::new(),
                label: "None".to_owned(),
                selected: values.link_from.is_empty(),
            },
        );
    }

    checkboxes.push(CheckboxView {
        name: "save_unverified",
        id: "pf-save_unverified".to_owned(),
        label: "Save without verifying",
        checked: values.save_unverified,
        help: Some("Save even if the live check fails; the provider is marked unverified."),
        error: errors.on("save_unverified"),
    });

    let mut shown: Vec<&str> = fields.iter().map(|f| f.name).collect();
    shown.extend(checkboxes.iter().map(|c| c.name));
    shown.push("kind");
    if !link_options.is_empty() {
        shown.push("link_from");
    }
    let summary = errors
        .messages
        .iter()
        .map(|(field, message)| SummaryItem {
            message: message.clone(),
            href: field
                .filter(|f| shown.contains(f))
                .map(|f| format!("#pf-{f}")),
        })
        .collect();

    let (heading, action, switch_action, submit_label) = match editing {
        Some(p) => (
            format!("Edit {}", p.name),
            urls::provider(slug, &p.id),
            urls::edit_provider(slug, &p.id),
            "Save changes",
        ),
        None => (
            "Add a provider".to_owned(),
            urls::providers(slug),
            urls::new_provider_form(slug, None),
            "Add provider",
        ),
    };
    FormView {
        heading,
        action,
        switch_action,
        cancel_href: urls::provider_tab(slug),
        submit_label,
        kind: entry.slug,
        kinds: catalog()
            .iter()
            .map(|e| OptionView {
                value: e.slug.to_owned(),
                label: e.label.to_owned(),
                selected: e.kind == kind,
            })
            .collect(),
        kind_error: errors.on("kind"),
        lock_version,
        fields,
        models: entry.example_models,
        link_options,
        link_error: errors.on("link_from"),
        checkboxes,
        summary,
        check: errors.check,
    }
}

/// Which form to render.
struct FormSpec {
    /// The kind whose fields to show; `None`: the edited provider's kind (or the first).
    kind: Option<ProviderKind>,
    values: Values,
    /// The id of the provider being edited.
    editing: Option<String>,
    lock_version: Option<i32>,
    errors: Errors,
}

/// Renders the form (page or fragment) with status `code`.
async fn render_form(
    req: &HttpRequest,
    ctx: &OrgContext,
    session: &Session,
    state: &AppState,
    code: StatusCode,
    spec: FormSpec,
) -> AppResult<HttpResponse> {
    let list = providers::list_providers(state, &ctx.caller).await?;
    let editing = match &spec.editing {
        Some(id) => Some(
            list.providers
                .iter()
                .find(|p| &p.id == id)
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let kind = spec
        .kind
        .or(editing.map(|p| p.kind))
        .unwrap_or(ProviderKind::ALL[0]);
    let lock_version = spec.lock_version.or(editing.map(|p| p.lock_version));
    let form = build(
        &ctx.org().slug,
        kind,
        &spec.values,
        editing,
        lock_version,
        &list.providers,
        spec.errors,
    );
    let (chrome, org) = org_frame(session, ctx, &form.heading, Some(Tab::Provider))?;
    let page = FormPage { chrome, org, form };
    tab(req, code, &page, page.as_content())
}

/// The query of the form pages: the kind to show, and the name typed so far (the kind
/// switch sends it along so it survives the swap).
#[derive(Deserialize)]
pub struct FormQuery {
    kind: Option<String>,
    name: Option<String>,
}

impl FormQuery {
    fn kind(&self) -> AppResult<Option<ProviderKind>> {
        match self.kind.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(slug) => slug
                .parse()
                .map(Some)
                .map_err(|e: catalog::UnknownKind| AppError::Validation(e.to_string())),
        }
    }
}

/// `GET /orgs/{org}/settings/ai/provider/new?kind=…`.
pub async fn new_provider_form(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<FormQuery>,
) -> AppResult<HttpResponse> {
    ctx.caller.require(Scope::AiProvidersCreate)?;
    let spec = FormSpec {
        kind: query.kind()?,
        values: Values {
            name: query.name.clone().unwrap_or_default(),
            ..Values::default()
        },
        editing: None,
        lock_version: None,
        errors: Errors::default(),
    };
    render_form(&req, &ctx, &session, &state, StatusCode::OK, spec).await
}

/// `GET /orgs/{org}/settings/ai/providers/{id}/edit?kind=…`.
pub async fn edit_provider_form(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
    query: web::Query<FormQuery>,
) -> AppResult<HttpResponse> {
    ctx.caller.require(Scope::AiProvidersUpdate)?;
    let view = providers::get_provider(&state, &ctx.caller, &path.1).await?;
    let mut values = Values::of(&view);
    if let Some(name) = &query.name {
        values.name = name.clone();
    }
    let spec = FormSpec {
        kind: query.kind()?,
        values,
        editing: Some(view.id),
        lock_version: None,
        errors: Errors::default(),
    };
    render_form(&req, &ctx, &session, &state, StatusCode::OK, spec).await
}

/// The posted form. No `Debug`: it holds the key.
#[derive(Deserialize)]
pub struct ProviderForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    default_model: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    deployment: String,
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    supports_tools: Option<String>,
    #[serde(default)]
    save_unverified: Option<String>,
    #[serde(default, deserialize_with = "secret")]
    api_key: Option<SecretString>,
    #[serde(default)]
    link_from: String,
    #[serde(default)]
    lock_version: Option<String>,
}

/// A non-blank key, straight into a `SecretString` (the buffer it came in is wiped).
fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    let mut raw = String::deserialize(d)?;
    let key = raw.trim();
    let key = (!key.is_empty()).then(|| SecretString::from(key));
    raw.zeroize();
    Ok(key)
}

fn ticked(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| !matches!(v, "" | "false" | "off" | "0"))
}

fn optional(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

impl ProviderForm {
    fn values(&self) -> Values {
        Values {
            name: self.name.clone(),
            default_model: self.default_model.clone(),
            base_url: self.base_url.clone(),
            deployment: self.deployment.clone(),
            api_version: self.api_version.clone(),
            region: self.region.clone(),
            link_from: self.link_from.clone(),
            supports_tools: ticked(&self.supports_tools),
            save_unverified: ticked(&self.save_unverified),
        }
    }

    fn kind(&self) -> Result<ProviderKind, Errors> {
        self.kind
            .trim()
            .parse()
            .map_err(|e: catalog::UnknownKind| Errors::field("kind", e.to_string()))
    }

    fn lock_version(&self) -> AppResult<i32> {
        self.lock_version
            .as_deref()
            .unwrap_or_default()
            .trim()
            .parse()
            .map_err(|_| AppError::Validation("lock_version must be a number.".to_owned()))
    }

    /// The operation's input: blanks are `None`; a typed key wins over a linked one, and
    /// neither keeps the stored key.
    fn into_input(self, kind: ProviderKind) -> ProviderInput {
        let key = match (self.api_key, optional(&self.link_from)) {
            (Some(key), _) => KeyInput::New(key),
            (None, Some(id)) => KeyInput::LinkFrom(id),
            (None, None) => KeyInput::Keep,
        };
        ProviderInput {
            kind,
            name: self.name.trim().to_owned(),
            default_model: self.default_model.trim().to_owned(),
            base_url: optional(&self.base_url),
            deployment: optional(&self.deployment),
            api_version: optional(&self.api_version),
            region: optional(&self.region),
            supports_tools: ticked(&self.supports_tools),
            key,
            save_unverified: ticked(&self.save_unverified),
        }
    }
}

/// "Saved {name}." — or "… without verifying." when it was saved unverified.
fn saved(view: &ProviderView) -> Flash {
    Flash::ok(match view.last_check.status {
        CheckStatus::Unverified => format!("Saved {} without verifying.", view.name),
        _ => format!("Saved {}.", view.name),
    })
}

/// `POST /orgs/{org}/settings/ai/providers`.
pub async fn create_provider(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<ProviderForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let values = form.values();
    let (kind, result) = match form.kind() {
        Ok(kind) => {
            let result = providers::create_provider(&state, &ctx.caller, form.into_input(kind));
            (Some(kind), result.await.map_err(|e| refused(e, kind)))
        }
        Err(errors) => (None, Err(Ok((StatusCode::BAD_REQUEST, errors)))),
    };
    let (code, errors) = match result {
        Ok(view) => return answer_saved(&req, &ctx, &session, &state, saved(&view)).await,
        Err(refusal) => refusal?,
    };
    let spec = FormSpec {
        kind,
        values,
        editing: None,
        lock_version: None,
        errors,
    };
    render_form(&req, &ctx, &session, &state, code, spec).await
}

/// `POST /orgs/{org}/settings/ai/providers/{id}`: carries the `lock_version` it was
/// edited at, so a concurrent change is a 409 rather than a silent overwrite.
pub async fn update_provider(
    req: HttpRequest,
    ctx: OrgContext,
    session: Session,
    state: web::Data<AppState>,
    path: ProviderPath,
    form: web::Form<ProviderForm>,
) -> AppResult<HttpResponse> {
    let id = &path.1;
    let form = form.into_inner();
    let lock_version = form.lock_version()?;
    let values = form.values();
    let (kind, result) = match form.kind() {
        Ok(kind) => {
            let input = form.into_input(kind);
            let result = providers::update_provider(&state, &ctx.caller, id, lock_version, input);
            (Some(kind), result.await.map_err(|e| refused(e, kind)))
        }
        Err(errors) => (None, Err(Ok((StatusCode::BAD_REQUEST, errors)))),
    };
    let (code, errors) = match result {
        Ok(view) => return answer_saved(&req, &ctx, &session, &state, saved(&view)).await,
        Err(refusal) => refusal?,
    };
    let spec = FormSpec {
        kind,
        values,
        editing: Some(id.clone()),
        // The version the admin edited: saving again without reloading conflicts again.
        lock_version: Some(lock_version),
        errors,
    };
    render_form(&req, &ctx, &session, &state, code, spec).await
}
