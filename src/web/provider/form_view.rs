//! The provider form as its template shows it, built from the catalog for one kind: which
//! fields the kind needs, whether its key is required and how it starts, where requests go
//! without a base URL, example models; each error next to its field and in the summary.

use askama::Template;

use super::form_input::{CheckView, Errors, Values};
use crate::{
    ops::providers::{KeyDisplay, ProviderView},
    providers::{
        ProviderKind,
        catalog::{BaseUrlSpec, CatalogEntry, FieldType, catalog},
    },
    web::{Chrome, OrgHeader, urls},
};

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
    /// After an edit conflict: what the admin typed here, where it differs from the
    /// saved value the field now holds.
    pub typed: Option<String>,
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
            typed: None,
        }
    }

    /// The ids of the help line, the error and what was typed, for `aria-describedby`.
    pub fn described_by(&self) -> Option<String> {
        let ids = described_by(&self.id, self.help.is_some(), self.error.is_some());
        match (ids, &self.typed) {
            (ids, None) => ids,
            (None, Some(_)) => Some(format!("{}-typed", self.id)),
            (Some(ids), Some(_)) => Some(format!("{ids} {}-typed", self.id)),
        }
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

/// The extra headers' fieldset (kinds whose catalog entry has them): stored headers by name
/// with a value field (blank keeps) and "Remove", then blank rows for new ones. Values are
/// never filled in.
pub struct HeadersView {
    pub legend: &'static str,
    pub help: &'static str,
    pub error: Option<String>,
    pub rows: Vec<HeaderRowView>,
}

/// One row of [`HeadersView`]; `index` numbers its fields (`hdr_name_{index}`, …).
pub struct HeaderRowView {
    pub index: usize,
    pub name: String,
    pub stored: bool,
    pub remove: bool,
}

/// Blank rows offered for new headers.
const BLANK_HEADER_ROWS: usize = 2;

fn headers_view(
    extra: &crate::providers::catalog::ExtraField,
    values: &Values,
    errors: &Errors,
) -> HeadersView {
    let blanks = std::iter::repeat_with(Default::default).take(BLANK_HEADER_ROWS);
    let rows = values
        .headers
        .iter()
        .cloned()
        .chain(blanks)
        .take(super::form_input::MAX_HEADER_ROWS)
        .enumerate()
        .map(|(index, row)| HeaderRowView {
            index,
            name: row.name,
            stored: row.stored,
            remove: row.remove,
        })
        .collect();
    HeadersView {
        legend: extra.label,
        help: extra.help,
        error: errors.on(extra.name),
        rows,
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
    /// The datalist of the model field: the endpoint's models once loaded, else the
    /// catalog's examples.
    pub models: Vec<String>,
    /// Where "Load models" posts the form (`None`: the kind's endpoint lists none).
    pub models_action: Option<String>,
    /// What the last "Load models" came to.
    pub models_status: Option<ModelsStatus>,
    /// The key typed into an earlier failed save, kept as a draft.
    pub key_draft: Option<KeyDraftView>,
    /// Other providers of the org whose key may be linked (empty: no select).
    pub link_options: Vec<OptionView>,
    pub link_error: Option<String>,
    pub checkboxes: Vec<CheckboxView>,
    /// The extra headers (gateway), when the kind has them.
    pub headers: Option<HeadersView>,
    pub summary: Vec<SummaryItem>,
    pub check: Option<CheckView>,
}

#[derive(Template)]
#[template(path = "provider/form_page.html", blocks = ["content"])]
pub struct FormPage {
    pub chrome: Chrome,
    pub org: OrgHeader,
    pub form: FormView,
}

/// "Using the key you typed (…WXYZ)" and the draft's id for the hidden field.
pub struct KeyDraftView {
    pub id: String,
    pub label: String,
}

/// The outcome of "Load models", shown under the model field.
pub struct ModelsStatus {
    pub failed: bool,
    pub message: String,
}

/// What the form shows besides the catalog and the values: a kept key draft, and a model
/// listing (its models, and what it came to).
#[derive(Default)]
pub struct Extras {
    /// Why a save was refused.
    pub errors: Errors,
    pub draft: Option<crate::ops::providers::drafts::DraftHint>,
    pub models: Option<Vec<String>>,
    pub models_status: Option<ModelsStatus>,
    /// After an edit conflict: what the admin typed (the form shows the saved values).
    pub typed: Option<Values>,
}

/// Builds the form for `kind` from the catalog. `editing` is the stored provider on edit;
/// `others` the org's providers (for the link select).
pub fn build(
    slug: &str,
    kind: ProviderKind,
    values: &Values,
    editing: Option<&ProviderView>,
    lock_version: Option<i32>,
    others: &[ProviderView],
    mut extras: Extras,
) -> FormView {
    let errors = std::mem::take(&mut extras.errors);
    let entry = kind.entry();
    let mut fields = endpoint_fields(entry, editing.is_some(), &errors);
    let mut checkboxes = Vec::new();
    extra_fields(entry, values, &errors, &mut fields, &mut checkboxes);
    let headers = entry
        .extra_fields
        .iter()
        .find(|f| f.field_type == FieldType::HeaderNames)
        .map(|extra| headers_view(extra, values, &errors));
    for field in &mut fields {
        field.value = values.text(field.name).to_owned();
        if let Some(typed) = &extras.typed {
            let mine = typed.text(field.name);
            field.typed = (mine.trim() != field.value.trim()).then(|| mine.to_owned());
        }
    }
    fields.push(key_field(
        entry,
        kind,
        editing,
        &errors,
        extras.draft.is_some(),
    ));
    let link_options = link_options(kind, values, editing.map(|p| p.id.as_str()), others);
    checkboxes.push(CheckboxView {
        name: "save_unverified",
        id: "pf-save_unverified".to_owned(),
        label: "Save without verifying",
        checked: values.save_unverified,
        help: Some("Save even if the live check fails; the provider is marked unverified."),
        error: errors.on("save_unverified"),
    });
    let mut summary = error_summary(&errors, &fields, &checkboxes, !link_options.is_empty());
    if headers.is_some() {
        for item in &mut summary {
            let on_headers = errors
                .messages
                .iter()
                .any(|(f, m)| *f == Some("extra_headers") && *m == item.message);
            if on_headers {
                item.href = Some("#pf-extra_headers".to_owned());
            }
        }
    }

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
        models: extras.models.unwrap_or_else(|| {
            entry
                .example_models
                .iter()
                .map(|m| (*m).to_owned())
                .collect()
        }),
        models_action: crate::providers::check::lists_models(kind).then(|| match editing {
            Some(p) => urls::provider_action(slug, &p.id, "models"),
            None => format!("/orgs/{slug}/settings/ai/provider/models"),
        }),
        models_status: extras.models_status,
        key_draft: extras.draft.map(|d| KeyDraftView {
            label: match d.last4.as_str() {
                "" => "Using the key you typed".to_owned(),
                last4 => format!("Using the key you typed (…{last4})"),
            },
            id: d.id,
        }),
        link_options,
        link_error: errors.on("link_from"),
        checkboxes,
        headers,
        summary,
        check: errors.check,
    }
}

/// Name, default model and base URL, with the kind's help.
fn endpoint_fields(entry: &CatalogEntry, editing: bool, errors: &Errors) -> Vec<FieldView> {
    let mut name = FieldView::new("name", "Name", errors);
    name.required = true;
    name.help = Some("How the console and the audit trail call this provider.".to_owned());

    let mut model = FieldView::new("default_model", "Default model", errors);
    model.required = true;
    model.placeholder = entry.example_models.first().map(|m| (*m).to_owned());
    model.help = Some(format!("For example {}.", entry.example_models.join(", ")));
    model.list = Some("pf-models");

    let mut base = FieldView::new("base_url", "Base URL", errors);
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
    base.help = Some(if editing { help + again } else { help });
    vec![name, model, base]
}

/// The kind's own fields: text fields into `fields`, flags into `checkboxes`.
fn extra_fields(
    entry: &CatalogEntry,
    values: &Values,
    errors: &Errors,
    fields: &mut Vec<FieldView>,
    checkboxes: &mut Vec<CheckboxView>,
) {
    for extra in entry.extra_fields {
        match extra.field_type {
            FieldType::Text => {
                let mut f = FieldView::new(extra.name, extra.label, errors);
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
            // A fieldset of their own (`headers_view`).
            FieldType::HeaderNames => {}
        }
    }
}

/// The key field: never filled in; its help says whether a stored key is kept.
/// The key field: required where the kind needs a key and neither a stored key (of the
/// same kind) nor a kept draft stands in for it.
fn key_field(
    entry: &CatalogEntry,
    kind: ProviderKind,
    editing: Option<&ProviderView>,
    errors: &Errors,
    has_draft: bool,
) -> FieldView {
    let mut key = FieldView::new("api_key", "API key", errors);
    key.input_type = "password";
    let stored = editing.and_then(|p| match &p.key {
        KeyDisplay::None => None,
        KeyDisplay::Set => Some(String::new()),
        KeyDisplay::Preview(preview) => Some(format!(" ({preview})")),
    });
    let needs = match (entry.key.required, entry.key.prefix) {
        (true, Some(prefix)) => format!("Required; it starts with {prefix}."),
        (true, None) => "Required.".to_owned(),
        (false, _) => "Optional: only if your endpoint asks for one.".to_owned(),
    };
    // The stored key can't go to another kind of API: switching kind needs the key again.
    let stored = stored.filter(|_| editing.is_some_and(|p| p.kind == kind));
    key.required = entry.key.required && stored.is_none() && !has_draft;
    key.help = Some(match (has_draft, stored) {
        (true, _) => "Type a new key here to use it instead.".to_owned(),
        (false, Some(preview)) => format!(
            "Leave blank to keep the stored key{preview}. Changing the kind or base URL requires entering it again."
        ),
        (false, None) => needs,
    });
    key
}

/// The org's other providers of the same kind whose key may be linked ("None" first);
/// empty when there are none.
fn link_options(
    kind: ProviderKind,
    values: &Values,
    editing_id: Option<&str>,
    others: &[ProviderView],
) -> Vec<OptionView> {
    let mut options: Vec<OptionView> = others
        .iter()
        // Sharing needs the same kind (and base URL, which the operation checks).
        .filter(|p| Some(p.id.as_str()) != editing_id && p.kind == kind)
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
    if !options.is_empty() {
        options.insert(
            0,
            OptionView {
                value: String::new(),
                label: "None".to_owned(),
                selected: values.link_from.is_empty(),
            },
        );
    }
    options
}

/// The error summary at the top: each message, linked to its field when the form shows it.
fn error_summary(
    errors: &Errors,
    fields: &[FieldView],
    checkboxes: &[CheckboxView],
    has_link: bool,
) -> Vec<SummaryItem> {
    let mut shown: Vec<&str> = fields.iter().map(|f| f.name).collect();
    shown.extend(checkboxes.iter().map(|c| c.name));
    shown.push("kind");
    if has_link {
        shown.push("link_from");
    }
    errors
        .messages
        .iter()
        .map(|(field, message)| SummaryItem {
            message: message.clone(),
            href: field
                .filter(|f| shown.contains(f))
                .map(|f| format!("#pf-{f}")),
        })
        .collect()
}
