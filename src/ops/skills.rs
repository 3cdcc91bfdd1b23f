//! Skills: an org's own AI instructions (Markdown), appended to the system prompt of its AI
//! features while enabled. Admins create, edit, enable/disable and delete; members read.
//! Every change and its typed audit event are one transaction; edits are optimistically
//! locked. Rendering is [`crate::markdown::render`]'s (sanitised).

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::AsyncConnection as _;

use super::{Action, Caller, Change, OpError, OpResult, Scope, Target, audit};
use crate::{
    models::skill::{self, NewSkill, Skill, SkillChanges, SkillSummary},
    state::AppState,
};

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// The longest instructions, in characters (DESIGN.md "Domain").
pub const MAX_INSTRUCTIONS_CHARS: usize = 20_000;

/// What an admin submits.
#[derive(Debug, Clone)]
pub struct SkillInput {
    pub name: String,
    pub description: String,
    pub instructions: String,
    pub enabled: bool,
}

/// A validated input: trimmed name and description, instructions as written.
struct Valid<'a> {
    name: &'a str,
    description: &'a str,
    instructions: &'a str,
    enabled: bool,
}

impl SkillInput {
    /// Checks sizes and presence; the first problem is reported against its field.
    fn validate(&self) -> OpResult<Valid<'_>> {
        let name = self.name.trim();
        let description = self.description.trim();
        if name.is_empty() {
            return Err(OpError::invalid("name", "Give the skill a name."));
        }
        super::names::refuse_invisible("name", "name", name)?;
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(OpError::invalid(
                "name",
                format!(
                    "The name is {chars} characters long; at most {MAX_NAME_CHARS} are allowed."
                ),
            ));
        }
        let chars = description.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            return Err(OpError::invalid(
                "description",
                format!(
                    "The description is {chars} characters long; at most {MAX_DESCRIPTION_CHARS} are allowed."
                ),
            ));
        }
        if self.instructions.trim().is_empty() {
            return Err(OpError::invalid(
                "instructions",
                "Write the instructions the AI features should follow.",
            ));
        }
        let chars = self.instructions.chars().count();
        if chars > MAX_INSTRUCTIONS_CHARS {
            return Err(OpError::invalid(
                "instructions",
                format!(
                    "The instructions are {chars} characters long; at most {MAX_INSTRUCTIONS_CHARS} are allowed."
                ),
            ));
        }
        Ok(Valid {
            name,
            description,
            instructions: &self.instructions,
            enabled: self.enabled,
        })
    }
}

/// The audit value of a skill: every field (instructions hold no secret).
fn snapshot(name: &str, description: &str, instructions: &str, enabled: bool) -> Change {
    Change::new()
        .text("name", name)
        .text("description", description)
        .text("instructions", instructions)
        .flag("enabled", enabled)
}

fn snapshot_of(s: &Skill) -> Change {
    snapshot(&s.name, &s.description, &s.instructions, s.enabled)
}

/// Maps the unique-name index to a 409 on `name` (the org's state refuses the name, not
/// its form: docs/DECISIONS.md "What the server refuses, and with which status").
fn name_taken(e: DieselError, name: &str) -> OpError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => OpError::Taken {
            field: "name",
            message: format!("Another skill of this org is already called {name}."),
        },
        other => other.into(),
    }
}

/// The org's skills by name, without their instructions (scope `skills:list`).
pub async fn list_skills(state: &AppState, caller: &Caller) -> OpResult<Vec<SkillSummary>> {
    let org = caller.require(Scope::SkillsList)?;
    let mut conn = state.pool.get().await?;
    Ok(skill::list_for_org(&mut conn, org.id).await?)
}

/// The org's enabled skills by name, as they are appended to the prompt (scope
/// `settings:get`: the Advanced tab shows them).
pub async fn enabled_skills(state: &AppState, caller: &Caller) -> OpResult<Vec<Skill>> {
    let org = caller.require(Scope::SettingsGet)?;
    let mut conn = state.pool.get().await?;
    Ok(skill::enabled_for_org(&mut conn, org.id).await?)
}

/// Whether the caller may open the form for a new skill (scope `skills:create`): the
/// console asks before showing the form.
pub fn may_create(caller: &Caller) -> OpResult<()> {
    caller.require(Scope::SkillsCreate).map(drop)
}

/// The skill `id` for its edit form (scopes `skills:update` and `skills:get`).
pub async fn skill_to_edit(state: &AppState, caller: &Caller, id: &str) -> OpResult<Skill> {
    caller.require(Scope::SkillsUpdate)?;
    get_skill(state, caller, id).await
}

/// One skill (scope `skills:get`).
pub async fn get_skill(state: &AppState, caller: &Caller, id: &str) -> OpResult<Skill> {
    let org = caller.require(Scope::SkillsGet)?;
    let mut conn = state.pool.get().await?;
    skill::find(&mut conn, org.id, id)
        .await?
        .ok_or(OpError::NotFound)
}

/// Checks `input` without saving (scope `skills:create`): the editor's preview.
pub fn check_input(caller: &Caller, input: &SkillInput) -> OpResult<()> {
    if !(caller.may(Scope::SkillsCreate) || caller.may(Scope::SkillsUpdate)) {
        caller.require(Scope::SkillsCreate)?;
    }
    input.validate().map(|_| ())
}

/// Adds a skill and writes `skill.created` (scope `skills:create`).
pub async fn create_skill(state: &AppState, caller: &Caller, input: SkillInput) -> OpResult<Skill> {
    let org = caller.require(Scope::SkillsCreate)?;
    let valid = input.validate()?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let id = skill::new_id();
        let saved = NewSkill {
            id: &id,
            org_id: org.id,
            name: valid.name,
            description: valid.description,
            instructions: valid.instructions,
            enabled: valid.enabled,
            created_at: now,
            updated_at: now,
            created_by: caller.user_id(),
            updated_by: caller.user_id(),
        }
        .insert(conn)
        .await
        .map_err(|e| name_taken(e, valid.name))?;
        audit::record(
            conn,
            caller,
            Action::SkillCreated,
            Target::Skill(saved.id.clone()),
            None,
            Some(snapshot_of(&saved)),
        )
        .await?;
        Ok(saved)
    })
    .await
}

const STALE: &str = "Someone else changed this skill while you were editing it. Here is the current version; make your change again if you still want it.";

/// Edits skill `id` as of `lock_version` and writes `skill.updated` (scope
/// `skills:update`). A stale version is a conflict, never an overwrite; an edit that
/// changes nothing writes nothing.
pub async fn update_skill(
    state: &AppState,
    caller: &Caller,
    id: &str,
    lock_version: i32,
    input: SkillInput,
) -> OpResult<Skill> {
    let org = caller.require(Scope::SkillsUpdate)?;
    let valid = input.validate()?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let before = skill::find_for_update(conn, org.id, id)
            .await?
            .ok_or(OpError::NotFound)?;
        if before.lock_version != lock_version {
            return Err(OpError::Conflict(STALE.to_owned()));
        }
        if (
            before.name.as_str(),
            before.description.as_str(),
            before.instructions.as_str(),
            before.enabled,
        ) == (
            valid.name,
            valid.description,
            valid.instructions,
            valid.enabled,
        ) {
            return Ok(before);
        }
        let changes = SkillChanges {
            name: valid.name,
            description: valid.description,
            instructions: valid.instructions,
            enabled: valid.enabled,
            updated_at: now,
            updated_by: caller.user_id(),
        };
        let saved = skill::update_if(conn, org.id, id, lock_version, &changes)
            .await
            .map_err(|e| name_taken(e, valid.name))?
            .ok_or_else(|| OpError::Conflict(STALE.to_owned()))?;
        audit::record(
            conn,
            caller,
            Action::SkillUpdated,
            Target::Skill(saved.id.clone()),
            Some(snapshot_of(&before)),
            Some(snapshot_of(&saved)),
        )
        .await?;
        Ok(saved)
    })
    .await
}

/// Turns skill `id` on or off as of `lock_version` and writes `skill.enabled|disabled`
/// (scope `skills:update`). Already in that state: nothing written.
pub async fn set_enabled(
    state: &AppState,
    caller: &Caller,
    id: &str,
    lock_version: i32,
    enabled: bool,
) -> OpResult<Skill> {
    let org = caller.require(Scope::SkillsUpdate)?;
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let before = skill::find_for_update(conn, org.id, id)
            .await?
            .ok_or(OpError::NotFound)?;
        if before.lock_version != lock_version {
            return Err(OpError::Conflict(STALE.to_owned()));
        }
        if before.enabled == enabled {
            return Ok(before);
        }
        let changes = SkillChanges {
            name: &before.name,
            description: &before.description,
            instructions: &before.instructions,
            enabled,
            updated_at: now,
            updated_by: caller.user_id(),
        };
        let saved = skill::update_if(conn, org.id, id, lock_version, &changes)
            .await?
            .ok_or_else(|| OpError::Conflict(STALE.to_owned()))?;
        let action = match enabled {
            true => Action::SkillEnabled,
            false => Action::SkillDisabled,
        };
        let value = |on| Some(Change::new().text("name", &saved.name).flag("enabled", on));
        audit::record(
            conn,
            caller,
            action,
            Target::Skill(saved.id.clone()),
            value(!enabled),
            value(enabled),
        )
        .await?;
        Ok(saved)
    })
    .await
}

/// Deletes skill `id` and writes `skill.deleted` with what it was (scope `skills:delete`).
pub async fn delete_skill(state: &AppState, caller: &Caller, id: &str) -> OpResult<Skill> {
    let org = caller.require(Scope::SkillsDelete)?;
    let mut conn = state.pool.get().await?;
    conn.transaction::<_, OpError, _>(async |conn| {
        let before = skill::find_for_update(conn, org.id, id)
            .await?
            .ok_or(OpError::NotFound)?;
        skill::delete(conn, org.id, id).await?;
        audit::record(
            conn,
            caller,
            Action::SkillDeleted,
            Target::Skill(before.id.clone()),
            Some(snapshot_of(&before)),
            None,
        )
        .await?;
        Ok(before)
    })
    .await
}
