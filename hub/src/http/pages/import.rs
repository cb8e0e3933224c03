//! Importing items from CSV (a spreadsheet's export, pasted): a preview first, row by row
//! (new, changed and what, unchanged, or the row's error), then one publication of every
//! change, refused while any row is in error.
//!
//! Columns, named in the first row in any order: `name`, `price` and `category` (required;
//! the category by its name), then `barcodes` (separated by spaces or `;`),
//! `tax_category` (by name), `station`, `track_stock` (yes/no), `reorder_point`. A row
//! whose name is an existing item's (ignoring case) changes that item, keeping what the
//! file does not say (the columns it leaves out, its modifier groups, whether it is on
//! sale); any other row adds an item. Each row is checked by the item form's own rules.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::http::StatusCode;
use thorbis_domain::DomainEvent;
use thorbis_domain::catalog::Item;
use thorbis_domain::ids::ItemId;
use thorbis_web::components::{Message, message};
use thorbis_web::form::Fields;
use thorbis_web::html;
use thorbis_web::respond::see_other;
use uuid::Uuid;

use super::catalog::{Catalog, load, parse_item, publish};
use super::{PageForm, PageResult, PageUser, csrf, shell, with_status};
use crate::accounts::ConsoleRole;
use crate::http::AppState;

const SCREEN: &str = "console-catalog";

/// The columns an import may have.
const COLUMNS: [&str; 8] = [
    "name",
    "price",
    "category",
    "barcodes",
    "tax_category",
    "station",
    "track_stock",
    "reorder_point",
];

/// Rows of CSV (RFC 4180: quoted fields may hold commas, line breaks and doubled quotes).
fn records(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (_, _) => field.push(ch),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.retain(|r| r.iter().any(|f| !f.trim().is_empty()));
    rows
}

/// What one row of the file does.
enum Plan {
    /// Adds an item.
    New(Item),
    /// Changes an item: the fields that differ.
    Changed(Item, Vec<&'static str>),
    /// Says what the catalog already has.
    Unchanged(String),
    /// Cannot be imported: why.
    Error(String),
}

/// What each row of `text` would do to the catalog `c`, by line number; an error of the
/// file as a whole (no header, an unknown column).
fn plan(text: &str, c: &Catalog) -> Result<Vec<(usize, Plan)>, String> {
    let mut rows = records(text).into_iter();
    let header: Vec<String> =
        rows.next().ok_or("The file is empty")?.iter().map(|h| h.trim().to_lowercase()).collect();
    if let Some(unknown) = header.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(format!(
            "Unknown column \"{unknown}\": the columns are {}",
            COLUMNS.join(", ")
        ));
    }
    for required in ["name", "price", "category"] {
        if !header.iter().any(|h| h == required) {
            return Err(format!("The first row must name the columns, with \"{required}\""));
        }
    }
    let items: HashMap<String, &Item> =
        c.items.iter().map(|i| (i.name.trim().to_ascii_lowercase(), i)).collect();
    let mut seen = Seen::default();
    Ok(rows
        .enumerate()
        .map(|(n, row)| {
            let row = Row { header: &header, fields: &row };
            let planned = plan_row(&row, c, &items, &mut seen).unwrap_or_else(Plan::Error);
            (n + 2, planned)
        })
        .collect())
}

/// A row of the file with its header.
struct Row<'a> {
    header: &'a [String],
    fields: &'a [String],
}

impl Row<'_> {
    /// Whether the file has `column`.
    fn has(&self, column: &str) -> bool {
        self.header.iter().any(|h| h == column)
    }

    /// The trimmed value of `column` (empty when the file has no such column).
    fn get(&self, column: &str) -> &str {
        self.header
            .iter()
            .position(|h| h == column)
            .and_then(|i| self.fields.get(i))
            .map_or("", |v| v.trim())
    }
}

/// The id (as text) of the record named `raw` (ignoring case) among `names`.
fn id_by_name<'a>(
    what: &str,
    raw: &str,
    mut names: impl Iterator<Item = (&'a str, Uuid)>,
) -> Result<String, String> {
    names
        .find(|(n, _)| n.eq_ignore_ascii_case(raw))
        .map(|(_, id)| id.to_string())
        .ok_or_else(|| format!("No {what} named \"{raw}\": add it first"))
}

/// The names (in ASCII lower case) and barcodes of the rows read so far.
#[derive(Default)]
struct Seen {
    names: HashSet<String>,
    barcodes: HashSet<String>,
}

/// What one row does; `items` are the catalog's items by their name in ASCII lower case.
fn plan_row(
    row: &Row<'_>,
    c: &Catalog,
    items: &HashMap<String, &Item>,
    seen: &mut Seen,
) -> Result<Plan, String> {
    let get = |column: &str| row.get(column);
    let name = get("name");
    let key = name.to_ascii_lowercase();
    if !seen.names.insert(key.clone()) {
        return Err(format!("\"{name}\" is on an earlier row too"));
    }
    let existing = items.get(&key).copied();
    let category = id_by_name(
        "category",
        get("category"),
        c.categories.iter().map(|k| (k.name.as_str(), k.id.0)),
    )?;
    // A column the file leaves out keeps what an existing item has.
    let kept = |column: &str| existing.is_some() && !row.has(column);
    let tax = match get("tax_category") {
        _ if kept("tax_category") => {
            existing.and_then(|i| i.tax_category).map(|t| t.0.to_string()).unwrap_or_default()
        }
        "" => String::new(),
        raw => id_by_name(
            "tax category",
            raw,
            c.tax_categories.iter().map(|t| (t.name.as_str(), t.id.0)),
        )?,
    };
    let barcodes: Vec<&str> = if kept("barcodes") {
        existing.map(|i| i.barcodes.iter().map(String::as_str).collect()).unwrap_or_default()
    } else {
        get("barcodes").split([' ', ';']).filter(|b| !b.is_empty()).collect()
    };
    if let Some(b) = barcodes.iter().find(|b| seen.barcodes.contains(**b)) {
        return Err(format!("Barcode {b} is on an earlier row too"));
    }
    seen.barcodes.extend(barcodes.iter().map(|b| (*b).to_owned()));
    let track = match get("track_stock").to_lowercase().as_str() {
        _ if kept("track_stock") => {
            if existing.is_some_and(|i| i.track_stock) {
                "1"
            } else {
                ""
            }
        }
        "" | "no" | "false" | "0" => "",
        "yes" | "true" | "1" => "1",
        other => return Err(format!("track_stock is yes or no, not \"{other}\"")),
    };
    let groups: Vec<String> = existing
        .map(|i| i.modifier_groups.iter().map(|g| g.0.to_string()).collect())
        .unwrap_or_default();
    let station = match existing {
        Some(i) if kept("station") => i.station.clone().unwrap_or_default(),
        _ => get("station").to_owned(),
    };
    let reorder = match existing {
        Some(i) if kept("reorder_point") => {
            i.reorder_point.map(|q| q.to_string()).unwrap_or_default()
        }
        _ => get("reorder_point").to_owned(),
    };
    let mut fields = Fields::from_pairs(&[
        ("name", name),
        ("price", get("price")),
        ("category", &category),
        ("tax_category", &tax),
        ("station", &station),
        ("barcodes", &barcodes.join(",")),
        ("track_stock", track),
        ("sold_by_weight", if existing.is_some_and(|i| i.sold_by_weight) { "1" } else { "" }),
        ("reorder_point", &reorder),
        ("active", if existing.is_none_or(|i| i.active) { "1" } else { "" }),
    ]);
    for g in &groups {
        fields.push("groups", g);
    }
    let id = existing.map_or_else(|| ItemId(Uuid::now_v7()), |i| i.id);
    let item = parse_item(&fields, id, c)?;
    let Some(old) = existing else { return Ok(Plan::New(item)) };
    let differs: Vec<&'static str> = [
        ("name", old.name != item.name),
        ("price", old.price != item.price),
        ("category", old.category != item.category),
        ("tax category", old.tax_category != item.tax_category),
        ("barcodes", old.barcodes != item.barcodes),
        ("station", old.station != item.station),
        ("stock tracking", old.track_stock != item.track_stock),
        ("reorder point", old.reorder_point != item.reorder_point),
    ]
    .into_iter()
    .filter_map(|(what, changed)| changed.then_some(what))
    .collect();
    Ok(if differs.is_empty() { Plan::Unchanged(item.name) } else { Plan::Changed(item, differs) })
}

fn import_page(
    user: &PageUser,
    csv: &str,
    planned: Option<&[(usize, Plan)]>,
    msg: Option<&Message>,
    status: StatusCode,
) -> axum::response::Response {
    let body = html! {
        h1 { "Import items" }
        (message(msg))
        p.muted { "Paste the rows of a spreadsheet saved as CSV, the first row naming the columns: "
            code { "name, price, category" } " and, if you like, "
            code { "barcodes, tax_category, station, track_stock, reorder_point" }
            ". A row naming an existing item changes it. Up to about a thousand rows at a time." }
        form.stack.settings method="post" action="/console/catalog/import" {
            (csrf(user))
            label { "CSV" textarea name="csv" id="import-csv" rows="12" { (csv) } }
            div.row {
                button.btn type="submit" name="action" value="preview" id="import-preview" { "Preview" }
                @if planned.is_some_and(|p| !p.is_empty() && p.iter().all(|(_, r)| !matches!(r, Plan::Error(_)))) {
                    button.btn.primary type="submit" name="action" value="apply" id="import-apply" { "Publish these changes" }
                }
                a.btn href="/console/catalog" { "Cancel" }
            }
        }
        @if let Some(planned) = planned {
            table.list #import-table {
                thead { tr { th { "Row" } th { "Item" } th { "What happens" } } }
                tbody { @for (line, p) in planned { tr {
                    td { (line) }
                    @match p {
                        Plan::New(item) => { td { (item.name) } td { "New" } }
                        Plan::Changed(item, what) => { td { (item.name) } td { "Changes " (what.join(", ")) } }
                        Plan::Unchanged(name) => { td { (name) } td.muted { "Unchanged" } }
                        Plan::Error(why) => { td { "—" } td.err { strong { "Error: " } (why) } }
                    }
                } } }
            }
        }
    };
    with_status(status, shell(user, "Import items", SCREEN, body))
}

/// `GET /console/catalog/import`.
pub(in crate::http) async fn page(user: PageUser) -> PageResult {
    user.require(ConsoleRole::Manager)?;
    Ok(import_page(&user, "", None, None, StatusCode::OK))
}

/// `POST /console/catalog/import`: previews the file, or (`action=apply`, with no row in
/// error) publishes every new and changed item at once.
pub(in crate::http) async fn submit(State(state): State<AppState>, form: PageForm) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Manager)?;
    let csv = fields.get("csv");
    let c = load(&state, user.tenant_id).await?;
    let refused = |why: String, planned: Option<&[(usize, Plan)]>| {
        let msg = Message::Error(why);
        Ok(import_page(&user, csv, planned, Some(&msg), StatusCode::UNPROCESSABLE_ENTITY))
    };
    if let Err(why) = &c.currency {
        return refused(why.clone(), None);
    }
    let planned = match plan(csv, &c) {
        Ok(planned) => planned,
        Err(why) => return refused(why, None),
    };
    let errors = planned.iter().filter(|(_, p)| matches!(p, Plan::Error(_))).count();
    if fields.get("action") != "apply" {
        return Ok(import_page(&user, csv, Some(&planned), None, StatusCode::OK));
    }
    if errors > 0 {
        return refused(format!("{errors} rows are in error: fix them first"), Some(&planned));
    }
    let events: Vec<DomainEvent> = planned
        .into_iter()
        .filter_map(|(_, p)| match p {
            Plan::New(item) | Plan::Changed(item, _) => Some(DomainEvent::ItemUpserted(item)),
            Plan::Unchanged(_) | Plan::Error(_) => None,
        })
        .collect();
    if events.is_empty() {
        return Ok(see_other("/console/catalog"));
    }
    match publish(&state, &user, events).await? {
        Ok(()) => Ok(see_other("/console/catalog")),
        Err(why) => refused(why, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted_with_commas_quotes_and_line_breaks() {
        let rows = records("name,price\r\n\"Tea, green\",2.50\n\"Say \"\"hi\"\"\",\"1\n2\"\n\n");
        assert_eq!(
            rows,
            vec![
                vec!["name".to_owned(), "price".into()],
                vec!["Tea, green".into(), "2.50".into()],
                vec!["Say \"hi\"".into(), "1\n2".into()],
            ]
        );
        assert_eq!(records("a,b"), vec![vec!["a".to_owned(), "b".into()]]);
    }
}
