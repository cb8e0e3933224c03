//! The durable print queue.
//!
//! Kitchen tickets and receipts become rows of `print_jobs` in the same transaction as the
//! send or sale that caused them ([`jobs_for`]). One writer thread per printer
//! ([`PrintService`]) takes its printer's jobs oldest first and drives them through
//!
//! ```text
//! queued ──► sending ──► sent ──► printed
//!   │           └──(part of the bytes reached the printer)──► uncertain ──► (decision)
//!   └──(kitchen ticket older than the stale limit)──────────► held ──────► (decision)
//! ```
//!
//! A job is printed once: bytes go out only when a status query says the printer is ready; a
//! job whose bytes all reached the printer is never sent again (after a reset or paper-out
//! the printer still holds it and prints it when it can); a job cut off part way is not
//! reprinted blindly but held for a person to decide. Reprints are explicit new jobs marked
//! as copies. The decisions of when to send, fail over or hold live in [`policy`], as pure
//! functions of state and time.

mod layout;
pub mod policy;
pub mod setup;
mod worker;

use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use thorbis_domain::DomainEvent;
use thorbis_domain::ids::{DrawerSessionId, OrderId, RefundId, StaffId, TicketId};
use uuid::Uuid;

pub use layout::{
    customer_receipt, kitchen_ticket, no_sale_slip, parse_receipt_number, receipt_number,
    refund_receipt, short, z_report,
};
pub use worker::{Connector, Link, PrintService, PrinterConfig, PrinterStatus};

use crate::error::StoreError;

/// Where jobs go: a printer per kitchen station, and the receipt printer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintRouting {
    /// Kitchen station -> printer name.
    #[serde(default)]
    pub stations: BTreeMap<String, String>,
    /// The printer customer receipts go to, if any.
    #[serde(default)]
    pub receipt_printer: Option<String>,
}

/// What a job prints. Jobs store references and the agent renders them when printing, with
/// the profile of whichever printer ends up printing them (failover may change it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Document {
    /// A kitchen ticket.
    Kitchen {
        /// The ticket.
        ticket_id: TicketId,
    },
    /// A customer receipt.
    Receipt {
        /// The order.
        order_id: OrderId,
    },
    /// A refund receipt.
    Refund {
        /// The order refunded.
        order_id: OrderId,
        /// The refund.
        refund_id: RefundId,
    },
    /// A no-sale: a slip saying who opened the drawer and why, which kicks the drawer open.
    NoSale {
        /// The session.
        session_id: DrawerSessionId,
        /// Why the drawer was opened.
        reason: String,
        /// Who opened it.
        by: Option<StaffId>,
    },
    /// A drawer session's Z report (the one recorded when the session closed).
    ZReport {
        /// The session.
        session_id: DrawerSessionId,
    },
}

impl Document {
    fn kind(&self) -> &'static str {
        match self {
            Document::Kitchen { .. } => "kitchen",
            Document::Receipt { .. } | Document::Refund { .. } | Document::NoSale { .. } => {
                "receipt"
            }
            Document::ZReport { .. } => "report",
        }
    }
}

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its printer.
    Queued,
    /// Bytes are going out.
    Sending,
    /// Every byte reached the printer; waiting for it to report ready (paper back in...).
    Sent,
    /// Done.
    Printed,
    /// Only part of it reached the printer: a person decides whether to reprint.
    Uncertain,
    /// Held for a decision (a kitchen ticket gone stale during an outage).
    Held,
    /// A person decided not to print it.
    Discarded,
}

impl JobState {
    /// Every state, for listing all jobs whatever they stand at.
    pub const ALL: [JobState; 7] = [
        JobState::Queued,
        JobState::Sending,
        JobState::Sent,
        JobState::Printed,
        JobState::Uncertain,
        JobState::Held,
        JobState::Discarded,
    ];

    fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Sending => "sending",
            JobState::Sent => "sent",
            JobState::Printed => "printed",
            JobState::Uncertain => "uncertain",
            JobState::Held => "held",
            JobState::Discarded => "discarded",
        }
    }

    fn parse(s: &str) -> Result<JobState, StoreError> {
        Ok(match s {
            "queued" => JobState::Queued,
            "sending" => JobState::Sending,
            "sent" => JobState::Sent,
            "printed" => JobState::Printed,
            "uncertain" => JobState::Uncertain,
            "held" => JobState::Held,
            "discarded" => JobState::Discarded,
            other => return Err(StoreError::Corrupt(format!("unknown print job state {other:?}"))),
        })
    }
}

/// One print job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintJob {
    /// Its id (UUIDv7: ids sort by creation).
    pub id: Uuid,
    /// The printer it is routed to.
    pub printer: String,
    /// The kitchen station, for kitchen tickets.
    pub station: Option<String>,
    /// What it prints.
    pub document: Document,
    /// For reprints, the job it copies.
    pub copy_of: Option<Uuid>,
    /// Where it stands.
    pub state: JobState,
    /// Attempts to send it.
    pub attempts: u32,
    /// Bytes the printer accepted on the last attempt.
    pub bytes_sent: u64,
    /// The last problem seen.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_ms: u64,
}

/// A person's decision about a held or uncertain job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Print it (an uncertain job prints as a copy, since part of it already came out).
    Print,
    /// Drop it.
    Discard,
}

/// The jobs an event causes under `routing`.
pub(crate) fn jobs_for(
    event: &DomainEvent,
    routing: &PrintRouting,
) -> Vec<(String, Option<String>, Document)> {
    match event {
        DomainEvent::SentToKitchen(send) => send
            .tickets
            .iter()
            .filter_map(|t| {
                let printer = routing.stations.get(&t.station)?;
                Some((
                    printer.clone(),
                    Some(t.station.clone()),
                    Document::Kitchen { ticket_id: t.ticket_id },
                ))
            })
            .collect(),
        DomainEvent::OrderClosed(closed) => routing
            .receipt_printer
            .iter()
            .map(|p| (p.clone(), None, Document::Receipt { order_id: closed.order_id }))
            .collect(),
        DomainEvent::RefundIssued(refund) => routing
            .receipt_printer
            .iter()
            .map(|p| {
                let document =
                    Document::Refund { order_id: refund.order_id, refund_id: refund.refund_id };
                (p.clone(), None, document)
            })
            .collect(),
        DomainEvent::DrawerNoSale(no_sale) => routing
            .receipt_printer
            .iter()
            .map(|p| {
                let document = Document::NoSale {
                    session_id: no_sale.session_id,
                    reason: no_sale.reason.clone(),
                    by: no_sale.by,
                };
                (p.clone(), None, document)
            })
            .collect(),
        DomainEvent::DrawerZReported(z) => routing
            .receipt_printer
            .iter()
            .map(|p| (p.clone(), None, Document::ZReport { session_id: z.session_id }))
            .collect(),
        _ => Vec::new(),
    }
}

/// Inserts a new job.
pub(crate) fn insert_job(
    conn: &Connection,
    id: Uuid,
    printer: &str,
    station: Option<&str>,
    document: &Document,
    copy_of: Option<Uuid>,
    now_ms: u64,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(document).expect("documents always serialize");
    conn.prepare_cached(
        "INSERT INTO print_jobs (job_id, printer, station, kind, document, copy_of, state, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?7)",
    )?
    .execute(params![
        id.as_bytes(),
        printer,
        station,
        document.kind(),
        json,
        copy_of.map(|c| *c.as_bytes()),
        now_ms
    ])?;
    Ok(())
}

const JOB_COLUMNS: &str = "job_id, printer, station, document, copy_of, state, attempts, bytes_sent, last_error, created_ms";

fn job_from_row(row: &rusqlite::Row<'_>) -> Result<PrintJob, StoreError> {
    let uuid = |bytes: Vec<u8>| {
        Uuid::from_slice(&bytes)
            .map_err(|_| StoreError::Corrupt("print job id is not 16 bytes".into()))
    };
    let document: String = row.get(3)?;
    let copy_of: Option<Vec<u8>> = row.get(4)?;
    let state: String = row.get(5)?;
    Ok(PrintJob {
        id: uuid(row.get(0)?)?,
        printer: row.get(1)?,
        station: row.get(2)?,
        document: serde_json::from_str(&document)
            .map_err(|e| StoreError::Corrupt(format!("print job document: {e}")))?,
        copy_of: copy_of.map(uuid).transpose()?,
        state: JobState::parse(&state)?,
        attempts: row.get(6)?,
        bytes_sent: row.get(7)?,
        last_error: row.get(8)?,
        created_ms: row.get(9)?,
    })
}

/// One job by id.
pub(crate) fn job(conn: &Connection, id: Uuid) -> Result<Option<PrintJob>, StoreError> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM print_jobs WHERE job_id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id.as_bytes()])?;
    rows.next()?.map(job_from_row).transpose()
}

/// The first job of `document` that is not a copy, by the `print_jobs_document` index.
pub(crate) fn original_job(
    conn: &Connection,
    document: &Document,
) -> Result<Option<PrintJob>, StoreError> {
    let json = serde_json::to_string(document).expect("documents always serialize");
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM print_jobs WHERE document = ?1 AND copy_of IS NULL ORDER BY job_id LIMIT 1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([json])?;
    rows.next()?.map(job_from_row).transpose()
}

/// Jobs in any of `states`, oldest first; all printers when `printer` is `None`.
pub(crate) fn jobs(
    conn: &Connection,
    printer: Option<&str>,
    states: &[JobState],
) -> Result<Vec<PrintJob>, StoreError> {
    let list = states.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(",");
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM print_jobs WHERE state IN ({list}) AND (?1 IS NULL OR printer = ?1) ORDER BY job_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    all_jobs(stmt.query([printer])?)
}

/// Held and uncertain jobs (waiting for a person), oldest first, by their own index.
pub(crate) fn waiting_jobs(conn: &Connection) -> Result<Vec<PrintJob>, StoreError> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM print_jobs INDEXED BY print_jobs_waiting
         WHERE state IN ('held', 'uncertain') ORDER BY job_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    all_jobs(stmt.query([])?)
}

fn all_jobs(mut rows: rusqlite::Rows<'_>) -> Result<Vec<PrintJob>, StoreError> {
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(job_from_row(row)?);
    }
    Ok(out)
}

/// Moves a job to `state`, recording progress and the last error.
pub(crate) fn set_state(
    conn: &Connection,
    id: Uuid,
    state: JobState,
    bytes_sent: Option<u64>,
    error: Option<&str>,
    now_ms: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE print_jobs SET state = ?2, bytes_sent = COALESCE(?3, bytes_sent),
             last_error = COALESCE(?4, last_error), updated_ms = ?5,
             attempts = attempts + (?2 = 'sending')
         WHERE job_id = ?1",
    )?
    .execute(params![id.as_bytes(), state.as_str(), bytes_sent, error, now_ms])?;
    Ok(())
}

/// Moves a printer's queued jobs to another printer (failover). Jobs already partly or
/// wholly sent stay: the first printer holds them.
pub(crate) fn reroute_queued(
    conn: &Connection,
    from: &str,
    to: &str,
    now_ms: u64,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE print_jobs SET printer = ?2, updated_ms = ?3 WHERE printer = ?1 AND state = 'queued'",
        )?
        .execute(params![from, to, now_ms])?)
}

/// Reads what a job prints from the store's projections.
pub(crate) fn render(
    conn: &Connection,
    job: &PrintJob,
) -> Result<Option<thorbis_drivers::receipt::Receipt>, StoreError> {
    use thorbis_domain::kitchen::Ticket;
    use thorbis_domain::order::Order;

    use crate::projection::read;
    let copy = job.copy_of.is_some();
    Ok(match &job.document {
        Document::Kitchen { ticket_id } => read::<Ticket>(conn, ticket_id.0)?.and_then(|t| {
            let content = t.content?;
            Some(kitchen_ticket(
                &crate::store::TicketView {
                    id: *ticket_id,
                    order_id: content.value.order_id,
                    table: content.value.table,
                    ticket: content.value.ticket,
                    sent_at: content.meta.hlc,
                },
                copy,
            ))
        }),
        Document::Receipt { order_id } => {
            let currency = crate::store::store_currency(conn)?;
            read::<Order>(conn, order_id.0)?.map(|order| {
                customer_receipt(&crate::store::view(order_id.0, order, currency), copy)
            })
        }
        Document::Refund { order_id, refund_id } => {
            let currency = crate::store::store_currency(conn)?;
            read::<Order>(conn, order_id.0)?.and_then(|order| {
                refund_receipt(&crate::store::view(order_id.0, order, currency), *refund_id, copy)
            })
        }
        Document::NoSale { session_id, reason, by } => {
            let name =
                match by {
                    Some(id) => read::<
                        thorbis_domain::fold::Versioned<thorbis_domain::catalog::Staff>,
                    >(conn, id.0)?
                    .and_then(|v| v.current)
                    .map(|s| s.value.name),
                    None => None,
                };
            Some(no_sale_slip(*session_id, reason, name.as_deref(), copy))
        }
        Document::ZReport { session_id } => {
            read::<thorbis_domain::drawer::DrawerSession>(conn, session_id.0)?
                .and_then(|s| s.z_report)
                .map(|z| z_report(*session_id, &z.value.report, copy))
        }
    })
}
