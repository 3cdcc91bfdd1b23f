//! What came in from the provider form and why a save was refused: the posted fields
//! parsed into the operation's input (blanks are `None`, the key straight into a
//! `SecretString`), the values to fill the form again (never the key), and the errors by
//! field.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use secrecy::{SecretString, zeroize::Zeroize as _};
use serde::{Deserialize, Deserializer};

use crate::{
    error::{AppError, AppResult},
    ops::{
        OpError,
        providers::{
            HeadersInput, KeyInput, ProviderInput, ProviderView,
            drafts::{DraftRef, DraftScope, DraftTarget},
        },
    },
    providers::{FailureCode, ProviderKind, catalog},
};

/// One extra header row as the form shows it again: its name, never its value.
#[derive(Clone, Default)]
pub struct HeaderRow {
    pub name: String,
    /// A stored header (blank value keeps it) rather than one typed in now.
    pub stored: bool,
    /// "Remove" ticked.
    pub remove: bool,
}

/// Extra header rows a post may carry (`hdr_name_0` …): the stored ones and blank rows.
pub const MAX_HEADER_ROWS: usize = 16;

/// What the admin typed (never the key), to fill the form again.
#[derive(Default)]
pub struct Values {
    pub name: String,
    pub default_model: String,
    pub base_url: String,
    pub deployment: String,
    pub api_version: String,
    pub region: String,
    pub link_from: String,
    pub supports_tools: bool,
    pub save_unverified: bool,
    /// The extra header rows (names only).
    pub headers: Vec<HeaderRow>,
}

impl Values {
    pub fn of(p: &ProviderView) -> Self {
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
            headers: p
                .extra_header_names
                .iter()
                .map(|name| HeaderRow {
                    name: name.clone(),
                    stored: true,
                    remove: false,
                })
                .collect(),
        }
    }

    pub fn text(&self, field: &str) -> &str {
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
pub struct Errors {
    pub messages: Vec<(Option<&'static str>, String)>,
    pub check: Option<CheckView>,
    /// The field a failed check points at: its message shows there too (the summary
    /// shows it once, with the code and excerpt).
    pub check_on: Option<&'static str>,
}

impl Errors {
    pub fn of(field: Option<&'static str>, message: impl Into<String>) -> Self {
        Self {
            messages: vec![(field, message.into())],
            ..Self::default()
        }
    }

    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self::of(Some(field), message)
    }

    pub fn on(&self, field: &str) -> Option<String> {
        let mut found: Vec<&str> = self
            .messages
            .iter()
            .filter(|(f, _)| *f == Some(field))
            .map(|(_, m)| m.as_str())
            .collect();
        if let Some(check) = &self.check
            && self.check_on == Some(field)
        {
            found.push(&check.message);
        }
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
pub fn refused(e: OpError, kind: ProviderKind) -> Result<(StatusCode, Errors), OpError> {
    Ok(match e {
        OpError::Invalid { field, message } => {
            (StatusCode::BAD_REQUEST, Errors::of(field, message))
        }
        OpError::Unprocessable { field, message } => {
            (StatusCode::UNPROCESSABLE_ENTITY, Errors::of(field, message))
        }
        OpError::CheckFailed(outcome) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Errors {
                messages: Vec::new(),
                check_on: outcome.code.and_then(|c| check_field(kind, c)),
                check: Some(CheckView {
                    code: outcome.code.map_or("failed", FailureCode::as_str),
                    message: outcome.message,
                    excerpt: outcome.excerpt,
                }),
            },
        ),
        OpError::Conflict(message) => (StatusCode::CONFLICT, Errors::of(None, message)),
        OpError::Taken { field, message } => {
            (StatusCode::CONFLICT, Errors::of(Some(field), message))
        }
        other => return Err(other),
    })
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
    /// The id of the key draft the form shows ("Using the key you typed").
    #[serde(default)]
    key_draft: String,
    #[serde(default)]
    lock_version: Option<String>,
    /// Everything else: the extra header rows (`hdr_name_N`, `hdr_value_N`,
    /// `hdr_stored_N`, `hdr_remove_N`), the CSRF token.
    #[serde(flatten)]
    rest: HashMap<String, String>,
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
    pub fn values(&self) -> Values {
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
            headers: self.header_rows().into_iter().map(|(row, _)| row).collect(),
        }
    }

    /// The extra header rows posted (blank rows left out), each with its typed value.
    fn header_rows(&self) -> Vec<(HeaderRow, Option<SecretString>)> {
        let get = |what: &str, i: usize| self.rest.get(&format!("hdr_{what}_{i}"));
        (0..MAX_HEADER_ROWS)
            .filter_map(|i| {
                let name = get("name", i).map_or("", |n| n.trim()).to_owned();
                let value = get("value", i)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| SecretString::from(v.as_str()));
                if name.is_empty() && value.is_none() {
                    return None;
                }
                let row = HeaderRow {
                    name,
                    stored: ticked(&get("stored", i).cloned()),
                    remove: ticked(&get("remove", i).cloned()),
                };
                Some((row, value))
            })
            .collect()
    }

    /// The extra headers of this post: a stored row with a blank value keeps its value, a
    /// ticked "Remove" removes it; a new row needs both a name and a value (the operation
    /// says which is missing).
    fn headers_input(&self) -> HeadersInput {
        let mut input = HeadersInput::default();
        for (row, value) in self.header_rows() {
            match (row.stored && row.remove, value) {
                (true, _) => input.remove.push(row.name),
                (false, Some(value)) => input.set.push((row.name, value)),
                (false, None) if row.stored => {}
                (false, None) => input.set.push((row.name, SecretString::from(""))),
            }
        }
        input
    }

    pub fn kind(&self) -> Result<ProviderKind, Errors> {
        self.kind
            .trim()
            .parse()
            .map_err(|e: catalog::UnknownKind| Errors::field("kind", e.to_string()))
    }

    pub fn lock_version(&self) -> AppResult<i32> {
        self.lock_version
            .as_deref()
            .unwrap_or_default()
            .trim()
            .parse()
            .map_err(|_| AppError::Validation("lock_version must be a number.".to_owned()))
    }

    /// The key typed into this post, if any.
    pub fn typed_key(&self) -> Option<SecretString> {
        self.api_key.clone()
    }

    /// The draft this post names, in `scope`.
    pub fn draft(&self, scope: &DraftScope) -> Option<DraftRef> {
        optional(&self.key_draft).map(|id| DraftRef {
            id,
            scope: scope.clone(),
        })
    }

    /// What a key of this post is typed for: the kind, base URL and region entered.
    pub fn target(&self, kind: ProviderKind) -> DraftTarget {
        DraftTarget::entered(kind, Some(&self.base_url), Some(&self.region))
    }

    /// The operation's input: blanks are `None`; a typed key wins over a linked one, a
    /// linked one over the draft of an earlier failed save (`scope`: this session and form),
    /// and any of them over keeping the stored key.
    pub fn into_input(self, kind: ProviderKind, scope: &DraftScope) -> ProviderInput {
        let draft = self.draft(scope);
        let extra_headers = self.headers_input();
        let key = match (self.api_key, optional(&self.link_from), draft) {
            (Some(key), _, _) => KeyInput::New(key),
            (None, Some(id), _) => KeyInput::LinkFrom(id),
            (None, None, Some(draft)) => KeyInput::Draft(draft),
            (None, None, None) => KeyInput::Keep,
        };
        ProviderInput {
            kind,
            extra_headers,
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
