//! Skills: an org's own AI instructions (Markdown), unique by name per org whatever the
//! case, optimistically locked through `lock_version`.

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel::{AsChangeset, dsl::sql, sql_types::Text};
use diesel_async::AsyncPgConnection;

use crate::db::schema::skills;

/// A new skill id: `skl_` + a ULID.
pub fn new_id() -> String {
    format!("skl_{}", ulid::Ulid::new())
}

/// A stored skill.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = skills, check_for_backend(diesel::pg::Pg))]
pub struct Skill {
    pub id: String,
    pub org_id: i64,
    pub name: String,
    pub description: String,
    pub instructions: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
    pub lock_version: i32,
}

/// A skill to insert.
#[derive(Insertable, Debug)]
#[diesel(table_name = skills)]
pub struct NewSkill<'a> {
    pub id: &'a str,
    pub org_id: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub instructions: &'a str,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
}

impl NewSkill<'_> {
    /// Inserts it; a duplicate name is a unique violation on `skills_org_name`.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<Skill> {
        diesel::insert_into(skills::table)
            .values(self)
            .returning(Skill::as_returning())
            .get_result(conn)
            .await
    }
}

/// The editable fields.
#[derive(AsChangeset, Debug)]
#[diesel(table_name = skills)]
pub struct SkillChanges<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub instructions: &'a str,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<i64>,
}

/// A skill as the list shows it: everything but the instructions, whose length is enough.
#[derive(Queryable, Debug, Clone)]
pub struct SkillSummary {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub lock_version: i32,
    /// Characters in the instructions.
    pub chars: i32,
}

/// The org's skills by name (case-insensitively), without their instructions.
pub async fn list_for_org(
    conn: &mut AsyncPgConnection,
    org_id: i64,
) -> QueryResult<Vec<SkillSummary>> {
    skills::table
        .filter(skills::org_id.eq(org_id))
        .order((sql::<Text>("lower(name)"), skills::id))
        .select((
            skills::id,
            skills::name,
            skills::description,
            skills::enabled,
            skills::lock_version,
            skills::instructions_chars.assume_not_null(),
        ))
        .load(conn)
        .await
}

/// The org's enabled skills by name.
pub async fn enabled_for_org(conn: &mut AsyncPgConnection, org_id: i64) -> QueryResult<Vec<Skill>> {
    skills::table
        .filter(skills::org_id.eq(org_id))
        .filter(skills::enabled.eq(true))
        .order((sql::<Text>("lower(name)"), skills::id))
        .select(Skill::as_select())
        .load(conn)
        .await
}

/// Skill `id` of org `org_id`; another org's is `None`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
) -> QueryResult<Option<Skill>> {
    skills::table
        .filter(skills::org_id.eq(org_id))
        .filter(skills::id.eq(id))
        .select(Skill::as_select())
        .first(conn)
        .await
        .optional()
}

/// The same, locked for the rest of the transaction.
pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
) -> QueryResult<Option<Skill>> {
    skills::table
        .filter(skills::org_id.eq(org_id))
        .filter(skills::id.eq(id))
        .select(Skill::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Writes `changes` if the row is still at `expected`, bumping `lock_version`; `None`
/// when it moved on (or is gone).
pub async fn update_if(
    conn: &mut AsyncPgConnection,
    org_id: i64,
    id: &str,
    expected: i32,
    changes: &SkillChanges<'_>,
) -> QueryResult<Option<Skill>> {
    diesel::update(
        skills::table
            .filter(skills::org_id.eq(org_id))
            .filter(skills::id.eq(id))
            .filter(skills::lock_version.eq(expected)),
    )
    .set((changes, skills::lock_version.eq(skills::lock_version + 1)))
    .returning(Skill::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Deletes skill `id` of the org; whether a row went.
pub async fn delete(conn: &mut AsyncPgConnection, org_id: i64, id: &str) -> QueryResult<bool> {
    let n = diesel::delete(
        skills::table
            .filter(skills::org_id.eq(org_id))
            .filter(skills::id.eq(id)),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}
