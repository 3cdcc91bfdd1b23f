//! The streamed export of an org's filtered trail as CSV or JSON Lines. Constant memory:
//! keyset batches of [`BATCH`] events are read from one pooled connection and each batch is
//! rendered and handed to the transport before the next is read. The upper bound is fixed
//! when the export starts, so events written meanwhile don't shift it.

use std::pin::Pin;

use diesel_async::AsyncConnection as _;
use futures_util::Stream;
use serde_json::json;

use super::{Filter, describe};
use crate::{
    db::Conn,
    models::audit::{self as events, AuditEvent, EventQuery},
    ops::{Action, Caller, OpError, OpResult, Scope, Target, audit},
    state::AppState,
};

/// Events read per query.
pub const BATCH: i64 = 1_000;

/// The export's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// Parses the URL's format (`csv`, `jsonl`).
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// The file extension and the format's name in the trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    /// The response's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson; charset=utf-8",
        }
    }
}

/// The body of an export: rendered chunks, one per batch.
pub type Chunks = Pin<Box<dyn Stream<Item = Result<Vec<u8>, OpError>> + Send>>;

/// A started export.
pub struct Export {
    pub file_name: String,
    pub format: Format,
    pub chunks: Chunks,
}

fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `audit-<org>[-<family>][-actor-<who>][-from-<day>][-to-<day>].<ext>`, filesystem-safe.
pub fn file_name(org: &str, filter: &Filter, format: Format) -> String {
    let mut name = format!("audit-{}", safe(org));
    for (key, value) in filter.pairs() {
        if key == "family" {
            name.push_str(&format!("-{}", safe(&value)));
        } else {
            name.push_str(&format!("-{key}-{}", safe(&value)));
        }
    }
    format!("{name}.{}", format.as_str())
}

const CSV_HEADER: &str =
    "id,seq,occurred_at,actor_kind,actor,action,family,target,ip,request_id,before,after,hash\r\n";

fn csv_cell(out: &mut String, value: &str) {
    out.push('"');
    // A cell a spreadsheet would read as a formula is prefixed, so it stays text.
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Renders a batch of events.
pub fn render(events: &[AuditEvent], format: Format, previews: bool) -> Vec<u8> {
    let mut out = String::with_capacity(events.len() * 320);
    for e in events {
        let before = describe::mask(e.before.as_ref(), previews);
        let after = describe::mask(e.after.as_ref(), previews);
        let at = e
            .occurred_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        match format {
            Format::Jsonl => {
                let line = json!({
                    "id": e.id,
                    "seq": e.seq,
                    "occurredAt": at,
                    "actorKind": e.actor_kind,
                    "actor": e.actor_label,
                    "action": e.action,
                    "family": describe::family_of(&e.action),
                    "target": e.target,
                    "ip": e.ip,
                    "requestId": e.request_id,
                    "before": before,
                    "after": after,
                    "hash": hex(&e.hash),
                });
                out.push_str(&line.to_string());
                out.push('\n');
            }
            Format::Csv => {
                let json_text =
                    |v: Option<serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
                let cells = [
                    e.id.to_string(),
                    e.seq.to_string(),
                    at,
                    e.actor_kind.clone(),
                    e.actor_label.clone(),
                    e.action.clone(),
                    describe::family_of(&e.action).to_owned(),
                    e.target.clone(),
                    e.ip.clone().unwrap_or_default(),
                    e.request_id.clone().unwrap_or_default(),
                    json_text(before),
                    json_text(after),
                    hex(&e.hash),
                ];
                for (i, cell) in cells.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    csv_cell(&mut out, cell);
                }
                out.push_str("\r\n");
            }
        }
    }
    out.into_bytes()
}

struct Cursor {
    conn: Conn,
    org_id: i64,
    query: EventQuery,
    before: Option<i64>,
    header: Option<&'static str>,
    format: Format,
    previews: bool,
}

async fn next_chunk(mut c: Cursor) -> Option<(Result<Vec<u8>, OpError>, Cursor)> {
    if let Some(header) = c.header.take() {
        return Some((Ok(header.as_bytes().to_vec()), c));
    }
    let before = c.before?;
    match events::page(&mut c.conn, c.org_id, &c.query, Some(before), BATCH).await {
        Ok(rows) if rows.is_empty() => None,
        Ok(rows) => {
            c.before = if rows.len() < usize::try_from(BATCH).unwrap_or(0) {
                None
            } else {
                rows.last().map(|e| e.seq)
            };
            Some((Ok(render(&rows, c.format, c.previews)), c))
        }
        Err(e) => {
            c.before = None;
            Some((Err(e.into()), c))
        }
    }
}

/// Starts an export of the caller's org's trail (scope `audit:read`): records
/// `audit.exported` with the filter, then returns the chunks, newest event first.
pub async fn export(
    state: &AppState,
    caller: &Caller,
    filter: &Filter,
    format: Format,
) -> OpResult<Export> {
    let org = caller.require(Scope::AuditRead)?;
    let mut conn = state.pool.get().await?;
    let bound = events::head_seq(&mut conn, org.id).await? + 1;
    let mut after = audit::Change::new().text("format", format.as_str());
    for (name, value) in filter.pairs() {
        after = after.text(name, value);
    }
    conn.transaction::<_, OpError, _>(async |conn| {
        audit::record(
            conn,
            caller,
            Action::AuditExported,
            Target::Org(org.slug.clone()),
            None,
            Some(after),
        )
        .await?;
        Ok(())
    })
    .await?;
    let cursor = Cursor {
        conn,
        org_id: org.id,
        query: filter.query(),
        before: Some(bound),
        header: (format == Format::Csv).then_some(CSV_HEADER),
        format,
        previews: caller.sees_key_preview(),
    };
    Ok(Export {
        file_name: file_name(&org.slug, filter, format),
        format,
        chunks: Box::pin(futures_util::stream::unfold(cursor, next_chunk)),
    })
}
