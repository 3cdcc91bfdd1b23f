//! The tools for what the REST API has beyond providers and settings: the catalog, skills
//! get/create/update/delete and the audit events (paged). Each is a thin translation of one
//! operation, answering the REST API's own JSON type.

use rmcp::{Json, schemars::JsonSchema, tool, tool_router};
use serde::Deserialize;

use super::{
    io::{DeletedOutput, RecordId},
    schema::{Out, Parameters},
    tools::{Authenticated, Switchboard, ToolError},
};
use crate::{
    api::{
        audit::{AuditEventJson, AuditPage},
        catalog::Catalog,
        skills::{SkillJson, SkillList, SkillListItem},
    },
    ops::{
        skill_patch::{SkillPatch, patch_skill},
        skills::{self, SkillInput},
        trail::{self, Filter, TrailQuery},
    },
};

/// A new skill.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateSkill {
    /// Unique in the org (whatever the case), at most 100 characters.
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// At most 500 characters.
    #[serde(default)]
    #[schemars(length(max = 500))]
    pub description: String,
    /// Markdown, at most 20 000 characters, appended to the AI features' prompt while
    /// the skill is enabled.
    #[schemars(length(min = 1, max = 20000))]
    pub instructions: String,
    /// Default `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A change to a skill: fields left out keep their value.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateSkill {
    /// The skill's id (`skl_…`).
    #[schemars(length(min = 1))]
    pub id: String,
    /// The `lockVersion` you saw; a skill changed since is a conflict. Leave out to change
    /// the current version.
    pub lock_version: Option<i32>,
    #[schemars(length(min = 1, max = 100))]
    pub name: Option<String>,
    #[schemars(length(max = 500))]
    pub description: Option<String>,
    #[schemars(length(min = 1, max = 20000))]
    pub instructions: Option<String>,
    pub enabled: Option<bool>,
}

/// Which audit events: a page of them, newest first, optionally filtered.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditQuery {
    /// `nextCursor` of the previous page; leave out for the newest events.
    pub cursor: Option<String>,
    /// Events per page (default 50).
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<i64>,
    /// Only this action family: provider, skills, api, keys, insights, member, auth,
    /// support, audit, org.
    pub family: Option<String>,
    /// Only this actor (an email, a token's label, system, operator).
    pub actor: Option<String>,
    /// First day (YYYY-MM-DD, UTC).
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD, UTC); at most a year after `from`.
    pub to: Option<String>,
}

#[tool_router(router = record_tools, vis = "pub(super)")]
impl Switchboard {
    #[tool(
        name = "get-catalog",
        description = "The provider kinds Switchboard knows, each with its key rules, base URL rules, the config fields it takes (named as create-ai-provider takes them), example models and tool-calling support. Scope: none (any token may read it).",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_catalog(&self, _who: Authenticated) -> Result<Json<Out<Catalog>>, ToolError> {
        Ok(Json(Out(Catalog::all())))
    }

    #[tool(
        name = "list-skills",
        description = "The org's skills (instructions appended to the AI features' prompt while enabled), by name, without their instructions (get-skill has them). Scope skills:list.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_skills(&self, who: Authenticated) -> Result<Json<Out<SkillList>>, ToolError> {
        let list = skills::list_skills(&who.state, &who.caller).await?;
        Ok(Json(Out(SkillList {
            skills: list.into_iter().map(SkillListItem::from).collect(),
        })))
    }

    #[tool(
        name = "get-skill",
        description = "One skill of the org, with its instructions and lockVersion. Scope skills:get.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_skill(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<RecordId>,
    ) -> Result<Json<Out<SkillJson>>, ToolError> {
        let skill = skills::get_skill(&who.state, &who.caller, &input?.id).await?;
        Ok(Json(Out(skill.into())))
    }

    #[tool(
        name = "create-skill",
        description = "Adds a skill to the org (names are unique whatever the case). Scope skills:create.",
        annotations(
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn create_skill(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<CreateSkill>,
    ) -> Result<Json<Out<SkillJson>>, ToolError> {
        let input = input?;
        let input = SkillInput {
            name: input.name,
            description: input.description,
            instructions: input.instructions,
            enabled: input.enabled,
        };
        let skill = skills::create_skill(&who.state, &who.caller, input).await?;
        Ok(Json(Out(skill.into())))
    }

    #[tool(
        name = "update-skill",
        description = "Changes a skill: fields left out keep their value; only `enabled` switches it on or off. Scopes skills:get and skills:update.",
        annotations(
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn update_skill(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<UpdateSkill>,
    ) -> Result<Json<Out<SkillJson>>, ToolError> {
        let input = input?;
        let patch = SkillPatch {
            name: input.name,
            description: input.description,
            instructions: input.instructions,
            enabled: input.enabled,
            lock_version: input.lock_version,
        };
        let skill = patch_skill(&who.state, &who.caller, &input.id, patch).await?;
        Ok(Json(Out(skill.into())))
    }

    #[tool(
        name = "delete-skill",
        description = "Deletes a skill. Scope skills:delete.",
        annotations(
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn delete_skill(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<RecordId>,
    ) -> Result<Json<Out<DeletedOutput>>, ToolError> {
        let id = input?.id;
        skills::delete_skill(&who.state, &who.caller, &id).await?;
        Ok(Json(Out(DeletedOutput { id, deleted: true })))
    }

    #[tool(
        name = "list-audit-events",
        description = "One page of the org's audit events, newest first (secret values masked). Pass the answer's nextCursor as cursor for the next, older page; no nextCursor: the last page. Scope audit:read.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_audit_events(
        &self,
        who: Authenticated,
        Parameters(input): Parameters<AuditQuery>,
    ) -> Result<Json<Out<AuditPage>>, ToolError> {
        let q = input?;
        let filter = Filter::parse(
            &TrailQuery {
                family: q.family,
                actor: q.actor,
                from: q.from,
                to: q.to,
                cursor: None,
            },
            who.state.clock.now().date_naive(),
        )?;
        let cursor = trail::parse_cursor(q.cursor.as_ref())?;
        let limit = trail::parse_limit(q.limit.map(|n| n.to_string()).as_ref())?;
        let page = trail::page_of(&who.state, &who.caller, &filter, cursor, limit).await?;
        Ok(Json(Out(AuditPage {
            events: page.events.into_iter().map(AuditEventJson::from).collect(),
            next_cursor: page.older.map(|c| c.to_string()),
        })))
    }
}
