//! Organisations: the tenants whose AI settings Switchboard manages.

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::schema::{org_ai_settings, orgs};

/// An org row.
#[derive(Queryable, Selectable, Identifiable, Debug, Clone)]
#[diesel(table_name = orgs, check_for_backend(diesel::pg::Pg))]
pub struct Org {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An org to insert.
#[derive(Insertable)]
#[diesel(table_name = orgs)]
pub struct NewOrg<'a> {
    pub slug: &'a str,
    pub name: &'a str,
}

/// Checks a slug: lower-case letters, digits and dashes, 1–63 characters, not starting with a dash.
pub fn validate_slug(slug: &str) -> Result<(), &'static str> {
    let ok = (1..=63).contains(&slug.len())
        && !slug.starts_with('-')
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err("the slug must be 1–63 lower-case letters, digits or dashes, not starting with a dash")
    }
}

/// Checks an org or user display name.
pub fn validate_name(name: &str) -> Result<(), &'static str> {
    // Also the CLI's guard: HTTP input never gets here with one (web::edge refuses it).
    if name.chars().any(char::is_control) {
        return Err("the name may not contain control characters");
    }
    match name.trim().chars().count() {
        0 => Err("the name may not be empty"),
        1..=200 => Ok(()),
        _ => Err("the name must be at most 200 characters"),
    }
}

impl NewOrg<'_> {
    /// Inserts the org and its default AI settings; run inside the caller's transaction.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<Org> {
        let org: Org = diesel::insert_into(orgs::table)
            .values(self)
            .returning(Org::as_returning())
            .get_result(conn)
            .await?;
        diesel::insert_into(org_ai_settings::table)
            .values(org_ai_settings::org_id.eq(org.id))
            .execute(conn)
            .await?;
        Ok(org)
    }
}

impl Org {
    /// The org with `id`.
    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Org>> {
        orgs::table
            .find(id)
            .select(Org::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub async fn find_by_slug(
        conn: &mut AsyncPgConnection,
        slug: &str,
    ) -> QueryResult<Option<Org>> {
        orgs::table
            .filter(orgs::slug.eq(slug))
            .select(Org::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Every org, by name (support staff's list).
    pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Org>> {
        orgs::table
            .order(orgs::name.asc())
            .select(Org::as_select())
            .load(conn)
            .await
    }
}
