//! Users: people who log in. Emails are stored lower-cased (unique case-insensitively).

use crate::db::prelude::*;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::schema::users;

/// A user row. `Debug` omits the password hash.
#[derive(Queryable, Selectable, Identifiable, Clone)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub support: bool,
    pub disabled: bool,
    pub session_epoch: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("support", &self.support)
            .field("disabled", &self.disabled)
            .field("session_epoch", &self.session_epoch)
            .finish_non_exhaustive()
    }
}

/// A user to insert; `email` must come from [`normalize_email`].
#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub support: bool,
}

/// Trims and lower-cases an email, or says why it is not one.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err("enter a valid email address")
    }
}

/// The name to show for a user: the display name, or the email when no name was given.
pub fn label<'a>(name: &'a str, email: &'a str) -> &'a str {
    if name.trim().is_empty() { email } else { name }
}

/// Checks a new password's length (NIST-style: length over composition rules).
pub fn validate_password(password: &str) -> Result<(), &'static str> {
    match password.chars().count() {
        0..=9 => Err("the password must be at least 10 characters"),
        10..=256 => Ok(()),
        _ => Err("the password must be at most 256 characters"),
    }
}

impl NewUser<'_> {
    /// Inserts the user; a duplicate email is a unique violation for the caller to map.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<User> {
        diesel::insert_into(users::table)
            .values(self)
            .returning(User::as_returning())
            .get_result(conn)
            .await
    }
}

impl User {
    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<User>> {
        users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// `email` must already be normalised.
    pub async fn find_by_email(
        conn: &mut AsyncPgConnection,
        email: &str,
    ) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email.eq(email))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Whether any user exists (first-run setup is open only while none does).
    pub async fn any_exists(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(users::table.select(users::id)))
            .get_result(conn)
            .await
    }

    /// Revokes every session of the user (disable, role change, password change).
    pub async fn bump_session_epoch(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
        diesel::update(users::table.find(id))
            .set((
                users::session_epoch.eq(users::session_epoch + 1),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await
            .map(drop)
    }

    /// Replaces the password hash and revokes every session of the user, in one statement.
    /// Returns the user as stored now (with the new epoch).
    pub async fn set_password_hash(
        conn: &mut AsyncPgConnection,
        id: i64,
        hash: &str,
    ) -> QueryResult<User> {
        diesel::update(users::table.find(id))
            .set((
                users::password_hash.eq(hash),
                users::session_epoch.eq(users::session_epoch + 1),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .returning(User::as_returning())
            .get_result(conn)
            .await
    }

    /// Disables or re-enables the user. Disabling revokes every session (epoch bump); a
    /// disabled user cannot log in. Returns whether anything changed.
    pub async fn set_disabled(
        conn: &mut AsyncPgConnection,
        id: i64,
        disabled: bool,
    ) -> QueryResult<bool> {
        diesel::update(users::table.find(id).filter(users::disabled.ne(disabled)))
            .set((
                users::disabled.eq(disabled),
                users::session_epoch.eq(users::session_epoch + 1),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await
            .map(|rows| rows == 1)
    }

    /// The name to show: the display name, or the email when no name was given.
    pub fn display_name(&self) -> &str {
        label(&self.name, &self.email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_omits_the_password_hash() {
        let user = User {
            id: 1,
            email: "ada@acme.test".into(),
            name: String::new(),
            password_hash: "$argon2id$canary-hash".into(),
            support: false,
            disabled: false,
            session_epoch: 0,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        assert!(!format!("{user:?}").contains("canary-hash"));
    }

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
