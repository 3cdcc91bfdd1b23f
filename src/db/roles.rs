//! The database role the application connects as (DESIGN.md "Audit trail trust"): not a
//! superuser, owner of its tables — except the audit trail's, which stay with the role that
//! migrates (the superuser of the embedded cluster). The application may read the trail and
//! append to it (the chain trigger runs with its owner's rights), but its own connection
//! can neither update, delete or truncate events, nor disable the append-only triggers
//! (only a table's owner may), nor read the server's files.

use diesel::sql_types::Bool;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};

/// The application's role in the embedded cluster.
pub const APP_ROLE: &str = "switchboard_app";

/// The trail's tables: owned by the migrating role, never by [`APP_ROLE`].
pub const TRAIL_TABLES: &[&str] = &[
    "audit_events",
    "audit_chain_heads",
    "audit_signed_checkpoints",
];

/// Creates [`APP_ROLE`] (if missing) in the cluster behind `admin_url` — a superuser's
/// connection to the migrated database — and gives it that database's tables, all but the
/// trail's, on which it may only read and append. Idempotent; run after every migration.
pub async fn grant_app_role(admin_url: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(admin_url).await?;
    let trail = TRAIL_TABLES
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let statements = [
        format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN \
                 CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS; \
               END IF; \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ),
        format!(
            "DO $$ BEGIN EXECUTE format('GRANT CONNECT, TEMP ON DATABASE %I TO {APP_ROLE}', current_database()); END $$"
        ),
        format!("GRANT USAGE ON SCHEMA public TO {APP_ROLE}"),
        format!(
            "DO $$ DECLARE r record; BEGIN \
               FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' \
                   AND tablename NOT IN ({trail}, '__diesel_schema_migrations') LOOP \
                 EXECUTE format('ALTER TABLE public.%I OWNER TO {APP_ROLE}', r.tablename); \
               END LOOP; END $$"
        ),
        // Free-standing sequences (no owning column, e.g. `feature_route_versions`): a table's
        // own sequences follow the table above, these need their owner set on their own.
        format!(
            "DO $$ DECLARE r record; BEGIN \
               FOR r IN SELECT c.relname FROM pg_class c \
                   JOIN pg_namespace n ON n.oid = c.relnamespace \
                   WHERE c.relkind = 'S' AND n.nspname = 'public' \
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d \
                       WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) LOOP \
                 EXECUTE format('ALTER SEQUENCE public.%I OWNER TO {APP_ROLE}', r.relname); \
               END LOOP; END $$"
        ),
        format!("GRANT SELECT, INSERT ON audit_events, audit_signed_checkpoints TO {APP_ROLE}"),
        format!("GRANT SELECT ON audit_chain_heads, __diesel_schema_migrations TO {APP_ROLE}"),
        format!(
            "GRANT USAGE ON SEQUENCE audit_events_id_seq, audit_signed_checkpoints_id_seq TO {APP_ROLE}"
        ),
    ];
    for sql in statements {
        diesel::sql_query(&sql)
            .execute(&mut conn)
            .await
            .map_err(|e| anyhow::anyhow!("setting up the role {APP_ROLE}: {e}"))?;
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Super {
    #[diesel(sql_type = Bool)]
    rolsuper: bool,
}

/// Whether the role `url` connects as is a superuser.
pub async fn is_superuser(url: &str) -> anyhow::Result<bool> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    let row: Super =
        diesel::sql_query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            .get_result(&mut conn)
            .await?;
    Ok(row.rolsuper)
}
