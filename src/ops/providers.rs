//! TEMP contract stub: the real operation layer for providers is being written on main.
//! This file is replaced by main's version on merge.

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::{Caller, OpResult};
use crate::{
    models::provider::CheckStatus,
    providers::{CheckOutcome, ProviderKind},
    state::AppState,
};

pub enum KeyDisplay {
    None,
    Set,
    Preview(String),
}

pub struct LastCheck {
    pub status: CheckStatus,
    pub code: Option<String>,
    pub message: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
}

pub struct ProviderView {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
    pub default_model: String,
    pub base_url: Option<String>,
    pub effective_base_url: Option<String>,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
    pub region: Option<String>,
    pub supports_tools: bool,
    pub secret_id: Option<String>,
    pub key: KeyDisplay,
    pub shared_with: Vec<String>,
    pub last_check: LastCheck,
    pub active: bool,
    pub lock_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct ProviderList {
    pub active: Option<String>,
    pub providers: Vec<ProviderView>,
}

pub enum KeyInput {
    Keep,
    New(SecretString),
    LinkFrom(String),
}

pub struct ProviderInput {
    pub kind: ProviderKind,
    pub name: String,
    pub default_model: String,
    pub base_url: Option<String>,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
    pub region: Option<String>,
    pub supports_tools: bool,
    pub key: KeyInput,
    pub save_unverified: bool,
}

pub async fn list_providers(_state: &AppState, _caller: &Caller) -> OpResult<ProviderList> {
    unimplemented!()
}

pub async fn get_provider(
    _state: &AppState,
    _caller: &Caller,
    _id: &str,
) -> OpResult<ProviderView> {
    unimplemented!()
}

pub async fn create_provider(
    _state: &AppState,
    _caller: &Caller,
    _input: ProviderInput,
) -> OpResult<ProviderView> {
    unimplemented!()
}

pub async fn update_provider(
    _state: &AppState,
    _caller: &Caller,
    _id: &str,
    _lock_version: i32,
    _input: ProviderInput,
) -> OpResult<ProviderView> {
    unimplemented!()
}

pub async fn test_provider(
    _state: &AppState,
    _caller: &Caller,
    _id: &str,
) -> OpResult<(ProviderView, CheckOutcome)> {
    unimplemented!()
}

pub async fn activate_provider(
    _state: &AppState,
    _caller: &Caller,
    _id: &str,
) -> OpResult<ProviderView> {
    unimplemented!()
}

pub async fn deactivate(_state: &AppState, _caller: &Caller) -> OpResult<bool> {
    unimplemented!()
}

pub async fn remove_key(_state: &AppState, _caller: &Caller, _id: &str) -> OpResult<ProviderView> {
    unimplemented!()
}

pub async fn delete_provider(_state: &AppState, _caller: &Caller, _id: &str) -> OpResult<()> {
    unimplemented!()
}
