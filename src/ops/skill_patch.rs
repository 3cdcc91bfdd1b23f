//! A partial change to a skill, the one merge the REST API's `PATCH …/skills/{id}` and
//! MCP's `update-skill` share: only `enabled` is a switch (`skill.enabled|disabled`); any
//! other field is an edit of the whole (`skill.updated`) with the rest kept.

use super::{
    Caller, OpResult,
    skills::{SkillInput, get_skill, set_enabled, update_skill},
};
use crate::{models::skill::Skill, state::AppState};

/// Fields to change; `None` keeps the field.
#[derive(Debug, Default)]
pub struct SkillPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub instructions: Option<String>,
    pub enabled: Option<bool>,
    /// The version the change is based on; `None`: the current one.
    pub lock_version: Option<i32>,
}

/// Changes some of skill `id`'s fields (scopes `skills:get` and `skills:update`). A
/// `lock_version` other than the skill's is a conflict, and nothing changes.
pub async fn patch_skill(
    state: &AppState,
    caller: &Caller,
    id: &str,
    patch: SkillPatch,
) -> OpResult<Skill> {
    let current = get_skill(state, caller, id).await?;
    let version = patch.lock_version.unwrap_or(current.lock_version);
    match patch {
        SkillPatch {
            name: None,
            description: None,
            instructions: None,
            enabled: Some(on),
            ..
        } => set_enabled(state, caller, &current.id, version, on).await,
        SkillPatch {
            name,
            description,
            instructions,
            enabled,
            ..
        } => {
            let input = SkillInput {
                name: name.unwrap_or_else(|| current.name.clone()),
                description: description.unwrap_or_else(|| current.description.clone()),
                instructions: instructions.unwrap_or_else(|| current.instructions.clone()),
                enabled: enabled.unwrap_or(current.enabled),
            };
            update_skill(state, caller, &current.id, version, input).await
        }
    }
}
