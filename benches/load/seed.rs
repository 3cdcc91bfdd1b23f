//! What the server holds before the load: the admin and the measured orgs through the CLI
//! (the way an operator creates them), then the providers with SQL straight into the
//! server's database: 100 000 through a CLI or the console would take minutes.

use std::time::Instant;

use anyhow::Context as _;
use chrono::{TimeDelta, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, SimpleAsyncConnection as _};
use secrecy::SecretString;
use switchboard::{
    crypto::{keyring::Keyring, secret as sealing},
    models::{
        org::Org,
        provider::{self, CheckStatus, NewProvider},
        secret::{self, NewSecret},
    },
};

use crate::server::Server;

pub const EMAIL: &str = "bench@example.com";
pub const PASSWORD: &str = "bench passphrase, long enough";
/// The id of the master key the bench hands the server (`SWITCHBOARD_MASTER_KEYS`).
pub const MASTER_KEY_ID: &str = "bench";
/// Orgs that are in the database but never requested, each with this many providers.
pub const FILLER_ORGS: u32 = 10_000;
/// Providers of every org, the measured ones included.
pub const PROVIDERS_PER_ORG: u32 = 10;

/// The slug of the org of connection `i`.
pub fn org_slug(i: usize) -> String {
    format!("bench-{i:02}")
}

/// One admin, and one org per connection so concurrent toggles never contend for a row.
pub fn through_cli(server: &Server, orgs: usize) -> anyhow::Result<()> {
    server.cli(
        &[
            "user",
            "create",
            "--email",
            EMAIL,
            "--name",
            "Bench Admin",
            "--password-stdin",
        ],
        Some(PASSWORD),
    )?;
    for i in 0..orgs {
        let slug = org_slug(i);
        let name = format!("Bench {i}");
        server.cli(&["org", "create", "--slug", &slug, "--name", &name], None)?;
        server.cli(
            &[
                "member", "add", "--org", &slug, "--email", EMAIL, "--role", "admin",
            ],
            None,
        )?;
    }
    Ok(())
}

/// The account of login loop `i` in the storm: one account per loop, since an account
/// takes at most 5 attempts at once (the login throttle counts attempts in flight).
pub fn storm_email(i: usize) -> String {
    format!("storm-{i:02}@example.com")
}

/// `n` storm accounts with the admin's password hash (copied: no hashing here).
pub async fn storm_users(url: &str, n: usize) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to the server's database")?;
    let last = n.saturating_sub(1);
    conn.batch_execute(&format!(
        "INSERT INTO users (email, name, password_hash) \
         SELECT format('storm-%s@example.com', lpad(i::text, 2, '0')), 'Storm', password_hash \
         FROM users, generate_series(0, {last}) AS i WHERE email = '{EMAIL}'"
    ))
    .await
    .context("seeding the storm's users")?;
    Ok(())
}

/// What the provider seeding made.
pub struct Providers {
    /// The provider ids of each measured org (`bench-00` …), oldest first.
    pub by_org: Vec<Vec<String>>,
    /// Provider rows in the database.
    pub total: i64,
    pub took: std::time::Duration,
}

/// Seeds the providers:
/// - `FILLER_ORGS` orgs (`fill-00001` …), each with its AI settings and 10 `openai`
///   providers, each provider with a secret of its own (a placeholder envelope that nothing
///   opens: the pages only show the stored preview), the first one active. One
///   `INSERT … SELECT … FROM generate_series` per table.
/// - on each measured org, 10 `custom` (OpenAI-compatible) providers whose base URL is the
///   mock, each with a real key sealed under the bench's master key (so a Test opens it and
///   sends it, as for a real provider), the first one active.
///
/// Then `ANALYZE`, so the planner knows the tables' sizes, as autovacuum would.
pub async fn providers(
    url: &str,
    keyring: &Keyring,
    measured_orgs: usize,
    mock_base_url: &str,
) -> anyhow::Result<Providers> {
    let started = Instant::now();
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to the server's database")?;
    conn.batch_execute(&filler_sql(FILLER_ORGS, PROVIDERS_PER_ORG))
        .await
        .context("seeding the filler orgs")?;

    let now = Utc::now();
    let config = serde_json::json!({});
    let mut by_org = Vec::with_capacity(measured_orgs);
    for i in 0..measured_orgs {
        let org = Org::find_by_slug(&mut conn, &org_slug(i))
            .await?
            .with_context(|| format!("no org {}", org_slug(i)))?;
        let ids = conn
            .transaction::<_, anyhow::Error, _>(async |conn| {
                let mut ids = Vec::new();
                for n in 1..=PROVIDERS_PER_ORG {
                    let secret_id = secret::new_id();
                    let key = SecretString::from(format!(
                        "{}{:02}-{n:02}-{}",
                        crate::mock::KEY_PREFIX,
                        i,
                        ulid::Ulid::new()
                    ));
                    let sealed = sealing::seal(keyring, org.id, &secret_id, &key, None)?;
                    let created_at = now - TimeDelta::minutes(i64::from(PROVIDERS_PER_ORG - n));
                    NewSecret {
                        id: &secret_id,
                        org_id: org.id,
                        key_id: &sealed.key_id,
                        version: sealed.version,
                        envelope: &sealed.envelope,
                        preview: sealed.preview.as_str(),
                        last4: &sealed.last4,
                        created_at,
                        created_by: None,
                    }
                    .insert(conn)
                    .await?;
                    let id = provider::new_id();
                    NewProvider {
                        id: &id,
                        org_id: org.id,
                        name: &format!("Local model {n}"),
                        kind: "custom",
                        default_model: crate::mock::MODEL,
                        base_url: Some(mock_base_url),
                        config: &config,
                        secret_id: Some(&secret_id),
                        check_status: CheckStatus::Ok,
                        check_code: None,
                        check_message: Some("key accepted; model \"bench-model\" is listed"),
                        checked_at: Some(created_at),
                        created_at,
                        created_by: None,
                    }
                    .insert(conn)
                    .await?;
                    ids.push(id);
                }
                provider::set_active(conn, org.id, Some(&ids[0]), None, now).await?;
                Ok(ids)
            })
            .await
            .with_context(|| format!("seeding the providers of {}", org_slug(i)))?;
        by_org.push(ids);
    }
    conn.batch_execute("ANALYZE").await?;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let total = diesel_async::RunQueryDsl::get_result::<Count>(
        diesel::sql_query("SELECT count(*) AS n FROM providers"),
        &mut conn,
    )
    .await?
    .n;
    Ok(Providers {
        by_org,
        total,
        took: started.elapsed(),
    })
}

/// The filler orgs, their settings, secrets and providers, in one implicit transaction.
/// Ids are `aip_`/`sec_` + 26 upper-case hex digits of an md5 (a subset of Crockford
/// base32, so the CHECK constraints hold), spread over the index like random ULIDs.
fn filler_sql(orgs: u32, per_org: u32) -> String {
    format!(
        r#"
INSERT INTO orgs (slug, name)
    SELECT 'fill-' || lpad(n::text, 5, '0'), 'Filler org ' || n
    FROM generate_series(1, {orgs}) AS n;
CREATE TEMPORARY TABLE fill AS SELECT id FROM orgs WHERE slug LIKE 'fill-%';
INSERT INTO org_ai_settings (org_id) SELECT id FROM fill;
INSERT INTO secrets (id, org_id, key_id, version, envelope, preview, last4, created_at)
    SELECT 'sec_' || upper(substr(md5('s' || f.id || '-' || i), 1, 26)), f.id,
           '{MASTER_KEY_ID}', 1, '\x00'::bytea,
           'sk-...' || lpad(i::text, 4, '0'), lpad(i::text, 4, '0'),
           now() - ({per_org} - i) * interval '1 day'
    FROM fill AS f CROSS JOIN generate_series(1, {per_org}) AS i;
INSERT INTO providers (id, org_id, name, kind, default_model, base_url, config, secret_id,
                       check_status, check_message, checked_at, created_at, updated_at)
    SELECT 'aip_' || upper(substr(md5('p' || f.id || '-' || i), 1, 26)), f.id,
           'OpenAI ' || i, 'openai', 'gpt-4o-mini', 'https://api.openai.com/v1', '{{}}',
           'sec_' || upper(substr(md5('s' || f.id || '-' || i), 1, 26)),
           'ok', 'key accepted; model "gpt-4o-mini" is listed',
           now() - ({per_org} - i) * interval '1 day',
           now() - ({per_org} - i) * interval '1 day',
           now() - ({per_org} - i) * interval '1 day'
    FROM fill AS f CROSS JOIN generate_series(1, {per_org}) AS i;
UPDATE org_ai_settings AS s SET active_provider_id = p.id
    FROM providers AS p
    WHERE p.org_id = s.org_id AND p.name = 'OpenAI 1' AND s.org_id IN (SELECT id FROM fill);
DROP TABLE fill;
"#
    )
}

/// A fresh master keyring for the server (`SWITCHBOARD_MASTER_KEYS`), so the bench can seal
/// the measured providers' keys the way the server would.
pub fn master_keys() -> anyhow::Result<(SecretString, Keyring)> {
    let entry = Keyring::generate_entry(MASTER_KEY_ID);
    let ring = Keyring::parse(&entry)?;
    Ok((entry, ring))
}

/// Skills per measured org, and the length of each one's instructions (issue 9's bench).
pub const SKILLS_PER_ORG: usize = 50;
pub const SKILL_CHARS: usize = 2_000;

/// Gives each measured org [`SKILLS_PER_ORG`] skills of [`SKILL_CHARS`] characters of
/// Markdown, every fifth disabled, in one statement.
pub async fn skills(url: &str, measured_orgs: usize) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to the server's database")?;
    let slugs: Vec<String> = (0..measured_orgs)
        .map(|i| format!("'{}'", org_slug(i)))
        .collect();
    // Ids must be `skl_` + 26 Crockford characters: zero-padded upper-case hex is.
    let sql = format!(
        "INSERT INTO skills (id, org_id, name, description, instructions, enabled) \
         SELECT 'skl_' || lpad(upper(to_hex(o.id * 1000 + g)), 26, '0'), o.id, \
                'Skill ' || g, 'What skill ' || g || ' is for', \
                left(repeat('Answer **clearly**, cite the *evidence*, then the next step. ', 40), {SKILL_CHARS}), \
                g % 5 <> 0 \
         FROM orgs o CROSS JOIN generate_series(1, {SKILLS_PER_ORG}) g \
         WHERE o.slug IN ({}); ANALYZE skills;",
        slugs.join(", ")
    );
    conn.batch_execute(&sql)
        .await
        .context("seeding the skills")?;
    Ok(())
}

/// Scopes of each measured org's API token: the providers list and route resolution.
const API_SCOPES: [&str; 2] = ["aiProviders:list", "ai:resolve"];

/// One API token per measured org for the bench admin, inserted as `ops::tokens` stores
/// one (its SHA-256 and first characters; `switchboard token create` would take a CLI call
/// per org). Returns each org's token, in org order.
pub async fn api_tokens(url: &str, measured_orgs: usize) -> anyhow::Result<Vec<String>> {
    use switchboard::models::{api_token::NewApiToken, user::User};
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to the server's database")?;
    let user = User::find_by_email(&mut conn, EMAIL)
        .await?
        .context("no bench admin")?;
    let scopes: Vec<String> = API_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    let mut tokens = Vec::with_capacity(measured_orgs);
    for i in 0..measured_orgs {
        let org = Org::find_by_slug(&mut conn, &org_slug(i))
            .await?
            .with_context(|| format!("no org {}", org_slug(i)))?;
        let token = format!("swb_{}", switchboard::crypto::random_token(32));
        let prefix: String = token.chars().take(8).collect();
        NewApiToken {
            org_id: org.id,
            user_id: user.id,
            name: "bench",
            scopes: &scopes,
            token_hash: &switchboard::crypto::sha256(token.as_bytes()),
            prefix: &prefix,
            created_at: Utc::now(),
            expires_at: None,
            kind: "personal",
        }
        .insert(&mut conn)
        .await
        .with_context(|| format!("seeding the token of {}", org_slug(i)))?;
        tokens.push(token);
    }
    Ok(tokens)
}

/// The experiment of `SWITCHBOARD_BENCH_ASYNC_COMMIT=1`: commits stop waiting for the WAL
/// flush, cluster-wide (a crash may then lose the last moments of committed events).
pub async fn async_commit(url: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .context("connecting to the server's database")?;
    conn.batch_execute("ALTER SYSTEM SET synchronous_commit = off")
        .await?;
    conn.batch_execute("SELECT pg_reload_conf()").await?;
    Ok(())
}
