//! Reading the audit trail: the Audit tab's filtered keyset pages, the streamed export,
//! and chain verification (`chain`). Events are written by `ops::audit::record`; this
//! module only reads them (and records that an export happened).

pub mod chain;
pub mod checkpoint;
pub mod describe;
pub mod export;
pub mod signing;
pub mod trust;

use chrono::{Months, NaiveDate, TimeZone as _, Utc};

pub use describe::{EventView, Family};

use super::{Caller, OpError, OpResult, Scope};
use crate::{
    models::{
        audit::{self as events, EventQuery},
        org::Org,
    },
    state::AppState,
};

/// Events per page of the Audit tab.
pub const PAGE_SIZE: i64 = 50;
/// How many new links a page view verifies at most (the rest on later views).
pub const VERIFY_BUDGET: u64 = 5_000;

/// The widest page window (in events) the tab re-verifies on each view.
pub const WINDOW_LIMIT: i64 = 1_000;

/// The filter's query-string values as received (`?family=&actor=&from=&to=&cursor=`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TrailQuery {
    pub family: Option<String>,
    pub actor: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
}

/// A checked filter: an action family, an actor, and a date range of at most a year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub family: Option<Family>,
    pub actor: Option<String>,
    /// First day included (UTC).
    pub from: Option<NaiveDate>,
    /// Last day included (UTC).
    pub to: Option<NaiveDate>,
}

fn present(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn date(field: &'static str, value: Option<&String>) -> OpResult<Option<NaiveDate>> {
    present(value)
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                OpError::invalid(field, format!("“{s}” is not a date: use YYYY-MM-DD."))
            })
        })
        .transpose()
}

impl Filter {
    /// Checks the query-string values; `today` closes a range given only its start.
    pub fn parse(q: &TrailQuery, today: NaiveDate) -> OpResult<Filter> {
        let family = present(q.family.as_ref())
            .map(|s| {
                Family::parse(s).ok_or_else(|| {
                    let known: Vec<&str> = Family::ALL.iter().map(|f| f.as_str()).collect();
                    OpError::invalid(
                        "family",
                        format!(
                            "There is no action family “{s}”: use one of {}.",
                            known.join(", ")
                        ),
                    )
                })
            })
            .transpose()?;
        let actor = present(q.actor.as_ref())
            .map(|s| {
                if s.chars().count() > 254 || s.chars().any(char::is_control) {
                    Err(OpError::invalid(
                        "actor",
                        "The actor is an email, a token name, “system” or “operator” (at most 254 characters).",
                    ))
                } else if s.contains('@') {
                    Ok(s.to_lowercase())
                } else {
                    Ok(s.to_owned())
                }
            })
            .transpose()?;
        let from = date("from", q.from.as_ref())?;
        let to = date("to", q.to.as_ref())?;
        if let Some(from) = from {
            let end = to.unwrap_or(today);
            // The range's dates are each well-formed; together (and with today, for an
            // open end) they may not be: 422, as the document can't say it.
            if from > end {
                return Err(OpError::Unprocessable {
                    field: Some("from"),
                    message: "The range starts after it ends.".to_owned(),
                });
            }
            if from
                .checked_add_months(Months::new(12))
                .is_some_and(|limit| end > limit)
            {
                return Err(OpError::Unprocessable {
                    field: Some("to"),
                    message: "The date range is longer than a year: narrow it (or export it a year at a time).".to_owned(),
                });
            }
        }
        Ok(Filter {
            family,
            actor,
            from,
            to,
        })
    }

    /// The database query for this filter.
    pub fn query(&self) -> EventQuery {
        let midnight =
            |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"));
        EventQuery {
            actions: self.family.map(Family::actions),
            actor: self.actor.clone(),
            from: self.from.map(midnight),
            until: self.to.and_then(|d| d.succ_opt()).map(midnight),
        }
    }

    /// The filter's query-string pairs (empty ones left out), for links that keep it.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(f) = self.family {
            out.push(("family", f.as_str().to_owned()));
        }
        if let Some(a) = &self.actor {
            out.push(("actor", a.clone()));
        }
        if let Some(d) = self.from {
            out.push(("from", d.to_string()));
        }
        if let Some(d) = self.to {
            out.push(("to", d.to_string()));
        }
        out
    }

    /// Whether anything is filtered.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }
}

/// Parses a page cursor: the `seq` below which the page starts.
pub fn parse_cursor(value: Option<&String>) -> OpResult<Option<i64>> {
    present(value)
        .map(|s| {
            s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                OpError::invalid(
                    "cursor",
                    "The page cursor is malformed: follow the “Older” link instead.",
                )
            })
        })
        .transpose()
}

/// One page of the trail.
#[derive(Debug, Clone)]
pub struct TrailPage {
    pub events: Vec<EventView>,
    /// The cursor of the next (older) page, if there is one.
    pub older: Option<i64>,
    /// How far the org's chain is verified.
    pub chain: chain::ChainStatus,
    /// Signing and the scheduled verifications, as recorded.
    pub trust: signing::TrustStatus,
}

/// The most events one API page may ask for (`?limit=`).
pub const MAX_LIMIT: i64 = 200;

/// A page of the caller's org's trail, newest first, below `cursor` (scope `audit:read`).
/// Also moves the chain's verification checkpoint forward (bounded by [`VERIFY_BUDGET`]).
pub async fn page(
    state: &AppState,
    caller: &Caller,
    filter: &Filter,
    cursor: Option<i64>,
) -> OpResult<TrailPage> {
    page_of(state, caller, filter, cursor, PAGE_SIZE).await
}

/// Parses a page size (`?limit=`): 1 to [`MAX_LIMIT`], [`PAGE_SIZE`] when absent.
pub fn parse_limit(value: Option<&String>) -> OpResult<i64> {
    present(value).map_or(Ok(PAGE_SIZE), |s| {
        s.parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                OpError::invalid(
                    "limit",
                    format!("The page size is a whole number from 1 to {MAX_LIMIT}."),
                )
            })
    })
}

/// [`page`] with `limit` events per page (the API's `?limit=`).
pub async fn page_of(
    state: &AppState,
    caller: &Caller,
    filter: &Filter,
    cursor: Option<i64>,
    limit: i64,
) -> OpResult<TrailPage> {
    let org = caller.require(Scope::AuditRead)?;
    let limit = limit.clamp(1, MAX_LIMIT.max(PAGE_SIZE));
    let mut conn = state.pool.get().await?;
    let mut rows = events::page(&mut conn, org.id, &filter.query(), cursor, limit + 1).await?;
    let older = if rows.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        rows.truncate(rows.len() - 1);
        rows.last().map(|e| e.seq)
    } else {
        None
    };
    let previews = caller.sees_key_preview();
    let mut chain = chain::advance(&mut conn, Some(org.id), VERIFY_BUDGET).await?;
    // The shown events themselves, however far the checkpoint is (bounded: a sparse filter's
    // page may span many events; its window is then left to the checkpoint and the CLI).
    if let (Some(newest), Some(oldest)) = (rows.first(), rows.last())
        && chain.broken.is_none()
        && newest.seq - oldest.seq < WINDOW_LIMIT
    {
        chain.broken = chain::check_window(&mut conn, Some(org.id), oldest.seq, newest.seq).await?;
    }
    let trust = signing::status(&mut conn, state, org.id).await?;
    Ok(TrailPage {
        events: rows.iter().map(|e| describe::view(e, previews)).collect(),
        older,
        chain,
        trust,
    })
}

/// What `switchboard audit verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub chains: usize,
    pub verified: u64,
    /// The first broken link: the chain's org slug (`None` = events without an org) and where.
    pub broken: Option<(Option<String>, chain::Broken)>,
}

/// Walks every chain (or `org`'s) from its first event (operators only).
pub async fn verify(
    state: &AppState,
    caller: &Caller,
    org: Option<&Org>,
) -> OpResult<VerifyReport> {
    caller.require_operator()?;
    let mut conn = state.pool.get().await?;
    let chains = match org {
        Some(org) => vec![Some(org.id)],
        None => chain::all_chains(&mut conn).await?,
    };
    let mut report = VerifyReport {
        chains: chains.len(),
        verified: 0,
        broken: None,
    };
    for id in chains {
        let r = chain::verify_chain(&mut conn, id).await?;
        report.verified += r.verified;
        if let Some(broken) = r.broken {
            let slug = match id {
                Some(id) => Org::find(&mut conn, id).await?.map(|o| o.slug),
                None => None,
            };
            report.broken = Some((slug, broken));
            break;
        }
    }
    Ok(report)
}
