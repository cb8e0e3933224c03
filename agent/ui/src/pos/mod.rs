//! The restaurant POS: open checks, a new check, and one check's screen: the menu grid by
//! category, the inline modifier panel (seat, course, quantity), the lines and totals, send
//! to kitchen, and the receipt with its copy. Check operations live in submodules, each an
//! inline panel on the same screen (never a dialog): `adjust` (void, comp, discount, price
//! override) with the shared `ui::approval` block (a manager's PIN when the signed-in staff
//! may not approve),
//! `tender` (cash with change, external card with tip, split tenders, even split) and
//! `split` (split by seat or item, transfer, merge).
//!
//! Forms post and redirect back (so a reload never repeats a sale); a refusal re-renders
//! the same screen with the message inline and the typed values kept, with status 422.
//!
//! Modules by screen: `floor` (the floor plan, open checks, a new check), `check` (one
//! check: its lines, totals, actions, sending and courses, the paid check), `menu` (the
//! menu grid and modifier panel, adding a line), then the check's operation panels.

mod adjust;
mod check;
mod floor;
mod menu;
mod split;
mod tender;

pub(crate) use adjust::{check_discount, line_op};
pub(crate) use check::{check, course, open_drawer, reprint, send};
pub(crate) use floor::{checks, open_check};
pub(crate) use menu::add_line;
pub(crate) use split::{merge, split_check, transfer};
pub(crate) use tender::{card, cash, even};

pub(crate) use check::totals;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use thorbis_domain::catalog::{Category, Item, ModifierGroup, Staff};
use thorbis_domain::ids::{CategoryId, DrawerSessionId, ItemId, LineId, ModifierGroupId, OrderId};
use thorbis_domain::{Currency, Money};
use thorbis_web::form::Fields;
use uuid::Uuid;

use super::action::{order_id, order_view, run};
use super::html::{Message, page};
use super::{UiError, UiState};
use thorbis_agent::print::{Document, PrintJob};
use thorbis_agent::{OrderView, SignedIn, Store, StoreError};

fn table_of(o: &OrderView) -> String {
    o.order.table().map_or_else(|| "—".into(), str::to_owned)
}

/// What a check's screen shows besides the order.
#[derive(Debug, Default)]
struct Screen {
    category: Option<CategoryId>,
    seat: Option<u16>,
    course: Option<u16>,
    /// The item whose modifier panel is open, with the values typed into it.
    panel: Option<(ItemId, Fields)>,
    /// The line whose panel (void, comp, discount, price) is open.
    line: Option<LineId>,
    /// The check operation whose panel is open instead of the menu.
    op: Option<Op>,
    /// Which form the values in `typed` were typed into (a form id), so only that form
    /// shows them again.
    form: &'static str,
    /// Values typed into a refused form, shown again.
    typed: Fields,
    /// An even split being paid: the parts still to pay, in order.
    parts: Vec<Money>,
    msg: Option<Message>,
}

impl Screen {
    /// The check with `msg` said as a refusal, nothing else open.
    fn refused(msg: impl Into<String>) -> Self {
        Screen { msg: Some(Message::Error(msg.into())), ..Screen::default() }
    }

    /// What was typed into `field` of form `form`, if that form was the one refused.
    fn typed(&self, form: &str, field: &str) -> &str {
        if self.form == form { self.typed.get(field) } else { "" }
    }
}

/// The check operations that replace the menu with their panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Discount,
    Split,
    Transfer,
    Merge,
}

impl Op {
    /// Each operation with its address key and chip label, in chip order.
    const ALL: [(Op, &'static str, &'static str); 4] = [
        (Op::Discount, "discount", "Discount"),
        (Op::Split, "split", "Split"),
        (Op::Transfer, "transfer", "Transfer"),
        (Op::Merge, "merge", "Merge"),
    ];

    fn parse(raw: &str) -> Option<Op> {
        Op::ALL.iter().find(|(_, key, _)| *key == raw).map(|(op, _, _)| *op)
    }
}

fn parse_id(raw: Option<&str>) -> Option<Uuid> {
    raw.and_then(|s| Uuid::try_parse(s.trim()).ok())
}

/// Everything a check's screen reads, in one store call.
#[derive(Debug)]
struct CheckData {
    order: OrderView,
    items: Vec<Item>,
    categories: Vec<Category>,
    groups: BTreeMap<ModifierGroupId, ModifierGroup>,
    unavailable: Vec<ItemId>,
    drawer: Option<DrawerSessionId>,
    receipt: Option<PrintJob>,
    copies: u64,
    /// Active staff, for approvals (managers) and transfers (servers).
    staff: Vec<Staff>,
    /// The other open checks, read only for the merge panel.
    others: Vec<OrderView>,
}

fn load(store: &Store, order_id: OrderId, op: Option<Op>) -> Result<Option<CheckData>, StoreError> {
    let Some(order) = store.order(order_id)? else { return Ok(None) };
    let receipt = store.original_print_job(&Document::Receipt { order_id })?;
    let copies = receipt.as_ref().map(|r| store.print_copies(r.id)).transpose()?.unwrap_or(0);
    Ok(Some(CheckData {
        order,
        items: store.items()?.into_iter().filter(|i| i.active).collect(),
        categories: store.categories()?,
        groups: store.modifier_groups()?,
        unavailable: store.unavailable_items()?,
        drawer: store.open_drawers()?.first().map(|(id, _)| *id),
        receipt,
        copies,
        staff: store.active_staff()?,
        others: if matches!(op, Some(Op::Merge | Op::Split)) {
            store.open_orders()?.into_iter().filter(|o| o.id != order_id).collect()
        } else {
            Vec::new()
        },
    }))
}

/// The check again after a refused request (422): `screen` carries the refusal and what
/// was typed, and nothing was written.
async fn refuse(
    state: &UiState,
    who: &SignedIn,
    order_id: OrderId,
    screen: Screen,
) -> Result<Response, UiError> {
    render_check(state, who, order_id, screen, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn render_check(
    state: &UiState,
    who: &SignedIn,
    order_id: OrderId,
    screen: Screen,
    status: StatusCode,
) -> Result<Response, UiError> {
    let op = screen.op;
    let data =
        state.with_store(move |store| load(store, order_id, op)).await?.ok_or(UiError::NotFound)?;
    let body = check::body(who, &data, &screen);
    let title = format!("Table {}", table_of(&data.order));
    Ok((status, page(&title, "check", Some(who), &state.indicators(), body)).into_response())
}

async fn order_currency(state: &UiState, order_id: OrderId) -> Result<Currency, UiError> {
    order_view(state, order_id).await.map(|o| o.currency)
}

#[cfg(test)]
mod tests {
    use super::check::{course_controls, lines};
    use super::floor::floor;
    use super::*;
    use thorbis_agent::{StoreConfig, seed};
    use thorbis_domain::Command;
    use thorbis_domain::Qty;

    fn fries(order_id: OrderId, line: u128, course: u16) -> Command {
        Command::AddLine {
            order_id,
            line_id: LineId(Uuid::from_u128(line)),
            item_id: seed::FRIES,
            qty: Qty::ONE,
            modifiers: vec![],
            seat: None,
            course: Some(course),
            note: None,
            price_override: None,
        }
    }

    fn view(store: &Store, id: OrderId) -> OrderView {
        store.order(id).unwrap().unwrap()
    }

    #[test]
    fn the_floor_shows_each_table_by_state_and_courses_hold_and_fire() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(StoreConfig::new(dir.path().join("a.db"))).unwrap();
        store.execute_all(&seed::catalog()).unwrap();
        assert_eq!(store.own_device_config().unwrap(), None);
        let (a, b) = (OrderId(Uuid::from_u128(1)), OrderId(Uuid::from_u128(2)));
        store.execute(&seed::open_order(a, Some("3"))).unwrap();
        store.execute(&fries(a, 10, 1)).unwrap();
        store.execute(&fries(a, 11, 2)).unwrap();
        store.execute(&seed::open_order(b, Some("Bar 1"))).unwrap();

        let floor_now = |store: &Store| {
            floor(&store.open_orders().unwrap(), Vec::new(), u64::MAX).into_string()
        };
        let html = floor_now(&store);
        // The default floor, then the table of a check that is not on it.
        assert_eq!(html.matches("class=\"tile table").count(), 13);
        assert!(html.contains("data-table=\"Bar 1\" data-state=\"open\""));
        assert!(html.contains(&format!("href=\"/pos/checks/{}\" data-table=\"3\"", a.0)));
        assert!(html.contains("data-table=\"1\" data-state=\"free\""));
        assert!(html.contains("2 items"));
        // A configured floor replaces the default one.
        let configured =
            floor(&store.open_orders().unwrap(), vec!["Patio".into()], 0).into_string();
        assert_eq!(configured.matches("class=\"tile table").count(), 3);

        // Course 2 held: the check tags it, sending sends course 1 only, firing sends it.
        let base = format!("/pos/checks/{}", a.0);
        assert!(
            course_controls(&view(&store, a), &base).into_string().contains("id=\"hold-course-2\"")
        );
        store.execute(&Command::HoldCourse { order_id: a, course: 2, staff: None }).unwrap();
        let held = view(&store, a);
        assert!(course_controls(&held, &base).into_string().contains("id=\"fire-course-2\""));
        assert!(
            lines(&held, held.currency, Some(&base), None)
                .into_string()
                .contains("course 2 · held")
        );
        store.execute(&Command::SendToKitchen { order_id: a }).unwrap();
        let sent = view(&store, a);
        assert!(sent.order.sent.contains_key(&LineId(Uuid::from_u128(10))));
        assert!(!sent.order.sent.contains_key(&LineId(Uuid::from_u128(11))));
        assert!(floor_now(&store).contains("data-table=\"3\" data-state=\"sent\""));
        store.execute(&Command::FireCourse { order_id: a, course: 2, staff: None }).unwrap();
        let fired = view(&store, a);
        assert!(fired.order.sent.contains_key(&LineId(Uuid::from_u128(11))));
        assert_eq!(store.kds_queue(None).unwrap().len(), 2);
        assert!(!course_controls(&fired, &base).into_string().contains("course-2"));
    }
}
