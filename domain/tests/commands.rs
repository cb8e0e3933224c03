//! Commands against the in-memory fold: worked examples of totals, tenders, drawers and
//! stock, and refusals that leave state untouched.

use thorbis_domain::catalog::{Item, Modifier, ModifierGroup, Role, Staff};
use thorbis_domain::command::{PriceOverride, TenderInput};
use thorbis_domain::drawer::{DrawerSession, ZReport};
use thorbis_domain::events::{DiscountRule, DiscountScope, ServiceMode, Tender};
use thorbis_domain::ids::{
    DiscountId, DrawerSessionId, ItemId, LineId, ModifierGroupId, ModifierId, OrderId, PaymentId,
    RefundId, StaffId, TaxCategoryId, TaxRateId, TicketId,
};
use thorbis_domain::kitchen::Ticket;
use thorbis_domain::order::{Order, OrderStatus};
use thorbis_domain::stock::StockLevel;
use thorbis_domain::tax::{TaxCategory, TaxRate};
use thorbis_domain::{
    Command, CommandError, Currency, EventMeta, IdSource, Money, Policy, Qty, Relation, State,
    decide,
};
use thorbis_sync_protocol::{DeviceId, EventId, Hlc};
use uuid::Uuid;

struct Counter(u128);

impl IdSource for Counter {
    fn next_id(&mut self) -> Uuid {
        self.0 += 1;
        Uuid::from_u128(0xffff_0000_0000_0000_0000_0000_0000_0000 | self.0)
    }
}

/// One terminal: decides against its state and folds what it decided.
struct Terminal {
    state: State,
    ids: Counter,
    seq: u64,
    policy: Policy,
}

impl Terminal {
    fn new() -> Self {
        let mut t = Terminal {
            state: State::default(),
            ids: Counter(0),
            seq: 0,
            policy: Policy::default(),
        };
        for c in catalog() {
            t.run(&c).unwrap();
        }
        t
    }

    fn run(&mut self, command: &Command) -> Result<(), CommandError> {
        let events = decide(command, &self.state, &self.policy, &mut self.ids)?;
        for e in events {
            self.seq += 1;
            let meta = EventMeta {
                hlc: Hlc { wall_ms: self.seq, counter: 0 },
                id: EventId { device_id: DeviceId::from_bytes([1; 16]), seq: self.seq },
            };
            self.state.apply(&meta, &e);
        }
        Ok(())
    }

    /// Runs a command that must be refused and checks that nothing changed.
    fn refuse(&mut self, command: &Command) -> CommandError {
        let before = self.state.clone();
        let err = self.run(command).expect_err("command should be refused");
        assert_eq!(before, self.state, "a refused command changed state");
        err
    }

    fn order(&self, id: OrderId) -> &Order {
        self.state.get::<Order>(id.0).unwrap()
    }
}

fn u(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

const BURGER: ItemId = ItemId(Uuid::from_u128(100));
const WINE: ItemId = ItemId(Uuid::from_u128(101));
const BEANS: ItemId = ItemId(Uuid::from_u128(102));
const COOKING: ModifierGroupId = ModifierGroupId(Uuid::from_u128(10));
const RARE: ModifierId = ModifierId(Uuid::from_u128(11));
const CHEESE: ModifierId = ModifierId(Uuid::from_u128(12));
const MANAGER: StaffId = StaffId(Uuid::from_u128(900));
const CASHIER: StaffId = StaffId(Uuid::from_u128(901));
/// Any argon2id PHC string will do: these tests never verify a PIN.
const PIN_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";
const DRAWER: DrawerSessionId = DrawerSessionId(Uuid::from_u128(800));

fn catalog() -> Vec<Command> {
    let item = |id, name: &str, price, tax| Item {
        id,
        name: name.into(),
        category: None,
        price: Money(price),
        tax_category: Some(TaxCategoryId(u(tax))),
        barcodes: vec![],
        station: None,
        modifier_groups: vec![],
        track_stock: false,
        sold_by_weight: false,
        reorder_point: None,
        active: true,
    };
    let staff = |id, name: &str, role| Staff {
        id,
        name: name.into(),
        role,
        pin_hash: PIN_HASH.into(),
        active: true,
        locations: Vec::new(),
    };
    vec![
        Command::PublishStaff(staff(MANAGER, "Morgan", Role::Manager)),
        Command::PublishStaff(staff(CASHIER, "Casey", Role::Cashier)),
        Command::PublishTaxRate(TaxRate {
            id: TaxRateId(u(1)),
            name: "State 6%".into(),
            ppm: 60_000,
            inclusive: false,
        }),
        Command::PublishTaxRate(TaxRate {
            id: TaxRateId(u(2)),
            name: "City 2.25%".into(),
            ppm: 22_500,
            inclusive: false,
        }),
        Command::PublishTaxRate(TaxRate {
            id: TaxRateId(u(3)),
            name: "Liquor 10%".into(),
            ppm: 100_000,
            inclusive: false,
        }),
        Command::PublishTaxCategory(TaxCategory {
            id: TaxCategoryId(u(20)),
            name: "Food".into(),
            rates: vec![TaxRateId(u(1)), TaxRateId(u(2))],
        }),
        Command::PublishTaxCategory(TaxCategory {
            id: TaxCategoryId(u(21)),
            name: "Alcohol".into(),
            rates: vec![TaxRateId(u(1)), TaxRateId(u(3))],
        }),
        Command::PublishModifierGroup(ModifierGroup {
            id: COOKING,
            name: "Cooking".into(),
            min: 1,
            max: 2,
            modifiers: vec![
                Modifier { id: RARE, name: "Rare".into(), price_delta: Money(0) },
                Modifier { id: CHEESE, name: "Cheese".into(), price_delta: Money(1_00) },
            ],
        }),
        Command::PublishItem(Item {
            station: Some("grill".into()),
            modifier_groups: vec![COOKING],
            ..item(BURGER, "Burger", 12_50, 20)
        }),
        Command::PublishItem(Item { station: Some("bar".into()), ..item(WINE, "Wine", 9_00, 21) }),
        Command::PublishItem(Item { track_stock: true, ..item(BEANS, "Beans", 14_99, 20) }),
        Command::OpenDrawer {
            session_id: DRAWER,
            currency: Currency::USD,
            float: Money(100_00),
            staff: None,
        },
    ]
}

fn open(t: &mut Terminal, n: u128) -> OrderId {
    let order_id = OrderId(u(1000 + n));
    t.run(&Command::OpenOrder {
        order_id,
        currency: Currency::USD,
        mode: ServiceMode::DineIn,
        table: Some("12".into()),
        guests: Some(2),
        staff: None,
    })
    .unwrap();
    order_id
}

fn add(
    item_id: ItemId,
    order_id: OrderId,
    line: u128,
    qty: Qty,
    modifiers: Vec<ModifierId>,
) -> Command {
    Command::AddLine {
        order_id,
        line_id: LineId(u(2000 + line)),
        item_id,
        qty,
        modifiers,
        seat: Some(1),
        course: Some(1),
        note: None,
        price_override: None,
    }
}

fn cash(order_id: OrderId, payment: u128, tendered: i64, amount: Option<i64>) -> Command {
    Command::TakePayment {
        order_id,
        payment_id: PaymentId(u(3000 + payment)),
        tender: TenderInput::Cash { tendered: Money(tendered) },
        amount: amount.map(Money),
        tip: Money::ZERO,
        drawer_session: Some(DRAWER),
        staff: None,
    }
}

/// Cash paid into the terminal's drawer.
fn pay_in(amount: i64, reason: &str) -> Command {
    Command::PayIn { session_id: DRAWER, amount: Money(amount), reason: reason.into(), staff: None }
}

/// Cash paid out of the terminal's drawer.
fn pay_out(amount: i64, reason: &str) -> Command {
    Command::PayOut {
        session_id: DRAWER,
        amount: Money(amount),
        reason: reason.into(),
        staff: None,
    }
}

fn card(order_id: OrderId, payment: u128, amount: i64, tip: i64) -> Command {
    Command::TakePayment {
        order_id,
        payment_id: PaymentId(u(3000 + payment)),
        tender: TenderInput::Card {
            brand: "visa".into(),
            last4: "4242".into(),
            auth_code: "A1B2C3".into(),
        },
        amount: Some(Money(amount)),
        tip: Money(tip),
        drawer_session: Some(DRAWER),
        staff: None,
    }
}

#[test]
fn a_restaurant_check_with_modifiers_discount_comp_void_and_split_tenders() {
    let mut t = Terminal::new();
    let o = open(&mut t, 1);
    // 2 burgers with cheese: (12.50 + 1.00) * 2 = 27.00
    t.run(&add(BURGER, o, 1, Qty::units(2), vec![RARE, CHEESE])).unwrap();
    // a glass of wine, 9.00, alcohol taxes
    t.run(&add(WINE, o, 2, Qty::ONE, vec![])).unwrap();
    // a burger voided, a burger comped
    t.run(&add(BURGER, o, 3, Qty::ONE, vec![RARE])).unwrap();
    t.run(&add(BURGER, o, 4, Qty::ONE, vec![RARE])).unwrap();
    t.run(&Command::VoidLine {
        order_id: o,
        line_id: LineId(u(2003)),
        reason: "wrong table".into(),
        approved_by: Some(MANAGER),
    })
    .unwrap();
    t.run(&Command::CompLine {
        order_id: o,
        line_id: LineId(u(2004)),
        reason: "overcooked".into(),
        approved_by: Some(MANAGER),
    })
    .unwrap();
    // 10 % off the check (at the approval threshold, so no manager needed)
    t.run(&Command::ApplyDiscount {
        order_id: o,
        discount_id: DiscountId(u(1)),
        scope: DiscountScope::Order,
        rule: DiscountRule::PercentBps(1_000),
        reason: "regular".into(),
        approved_by: None,
    })
    .unwrap();
    let totals = t.order(o).totals();
    assert_eq!(totals.subtotal, Money(27_00 + 9_00 + 12_50));
    assert_eq!(totals.voids, Money(12_50));
    assert_eq!(totals.comps, Money(12_50));
    // 10 % of 36.00 = 3.60, spread 27:9 -> 2.70 on the burgers, 0.90 on the wine.
    assert_eq!(totals.discounts, Money(3_60));
    assert_eq!(totals.net, Money(32_40));
    // State 6 % on 24.30 + 8.10 = 32.40 -> 1.944 -> 1.94; city 2.25 % on 24.30 -> 0.54675
    // -> 0.55; liquor 10 % on 8.10 -> 0.81.
    let taxes: Vec<Money> = totals.tax.lines.iter().map(|l| l.tax).collect();
    assert_eq!(taxes, vec![Money(1_94), Money(55), Money(81)]);
    assert_eq!(totals.total, Money(32_40 + 1_94 + 55 + 81));
    let total = totals.total.as_minor();

    // Split: 20.00 on card with a 3.00 tip, the rest in cash from a 50 note.
    t.run(&card(o, 1, 20_00, 3_00)).unwrap();
    t.run(&cash(o, 2, 50_00, None)).unwrap();
    let totals = t.order(o).totals();
    assert_eq!(totals.balance, Money::ZERO);
    assert_eq!(totals.tips, Money(3_00));
    let cash_payment = &t.order(o).payments[&PaymentId(u(3002))].value;
    assert_eq!(cash_payment.amount, Money(total - 20_00));
    assert_eq!(
        cash_payment.tender,
        Tender::Cash { tendered: Money(50_00), change: Money(50_00 - (total - 20_00)) }
    );
    t.run(&Command::CloseOrder { order_id: o, staff: None }).unwrap();
    assert_eq!(t.order(o).status(), OrderStatus::Closed);

    // The drawer expects the float plus the cash actually kept.
    let drawer = t.state.get::<thorbis_domain::drawer::DrawerSession>(DRAWER.0).unwrap().clone();
    assert_eq!(drawer.expected_cash(), Money(100_00 + total - 20_00));
    t.run(&Command::CountDrawer {
        session_id: DRAWER,
        counted: Money(100_00 + total - 20_00 - 5),
        staff: None,
    })
    .unwrap();
    let orders: Vec<&Order> =
        t.state.linked(Relation::DrawerOrder, DRAWER.0).map(|id| t.order(OrderId(id))).collect();
    let z = ZReport::new(t.state.get(DRAWER.0).unwrap(), orders);
    assert_eq!(z.orders, 1);
    assert_eq!(z.over_short, Some(Money(-5)));
    assert_eq!(z.tenders["card"].amount, Money(20_00));
    assert_eq!(z.tenders["card"].tips, Money(3_00));
    assert_eq!(z.tax, Money(1_94 + 55 + 81));
}

#[test]
fn kitchen_sends_route_by_station_and_bump_recall() {
    let mut t = Terminal::new();
    let o = open(&mut t, 1);
    t.run(&add(BURGER, o, 1, Qty::ONE, vec![RARE])).unwrap();
    t.run(&add(WINE, o, 2, Qty::ONE, vec![])).unwrap();
    t.run(&add(BEANS, o, 3, Qty::ONE, vec![])).unwrap();
    t.run(&Command::SendToKitchen { order_id: o }).unwrap();
    let tickets: Vec<(Uuid, Ticket)> =
        t.state.tickets.iter().map(|(k, v)| (*k, v.clone())).collect();
    let stations: Vec<&str> = tickets.iter().map(|(_, t)| t.station().unwrap().as_str()).collect();
    assert_eq!(stations.len(), 2);
    assert!(stations.contains(&"grill") && stations.contains(&"bar"));
    // Beans have no station: not sent, and a second send has nothing to send.
    assert!(matches!(
        t.refuse(&Command::SendToKitchen { order_id: o }),
        CommandError::NothingToSend
    ));
    let ticket = TicketId(tickets[0].0);
    t.run(&Command::BumpTicket { ticket_id: ticket }).unwrap();
    assert!(matches!(
        t.refuse(&Command::BumpTicket { ticket_id: ticket }),
        CommandError::AlreadyBumped(_)
    ));
    t.run(&Command::RecallTicket { ticket_id: ticket }).unwrap();
    assert!(!t.state.tickets[&ticket.0].is_bumped());
    // New lines go out on a new ticket.
    t.run(&add(BURGER, o, 4, Qty::ONE, vec![RARE])).unwrap();
    t.run(&Command::SendToKitchen { order_id: o }).unwrap();
    assert_eq!(t.state.tickets.len(), 3);
}

#[test]
fn a_held_course_stays_off_the_kitchen_until_fired() {
    let mut t = Terminal::new();
    let o = open(&mut t, 1);
    let course = |cmd: Command, course: u16| match cmd {
        Command::AddLine { order_id, line_id, item_id, qty, modifiers, seat, note, .. } => {
            Command::AddLine {
                order_id,
                line_id,
                item_id,
                qty,
                modifiers,
                seat,
                course: Some(course),
                note,
                price_override: None,
            }
        }
        other => other,
    };
    t.run(&course(add(WINE, o, 1, Qty::ONE, vec![]), 1)).unwrap();
    t.run(&course(add(BURGER, o, 2, Qty::ONE, vec![RARE]), 2)).unwrap();
    let hold = Command::HoldCourse { order_id: o, course: 2, staff: None };
    let fire = Command::FireCourse { order_id: o, course: 2, staff: None };
    assert!(matches!(t.refuse(&fire), CommandError::CourseNotHeld(2)));
    assert!(matches!(
        t.refuse(&Command::HoldCourse { order_id: o, course: 3, staff: None }),
        CommandError::NothingToHold(3)
    ));
    t.run(&hold).unwrap();
    assert!(matches!(t.refuse(&hold), CommandError::CourseHeld(2)));
    assert!(t.order(o).is_course_held(2));

    // Sending sends course 1 only; course 2 waits, and a second send has nothing to send.
    t.run(&Command::SendToKitchen { order_id: o }).unwrap();
    let sent: Vec<LineId> = t.order(o).sent.keys().copied().collect();
    assert_eq!(sent, vec![LineId(u(2001))]);
    assert_eq!(t.state.tickets.len(), 1);
    assert!(matches!(
        t.refuse(&Command::SendToKitchen { order_id: o }),
        CommandError::NothingToSend
    ));
    // A line added to the held course is held too.
    t.run(&course(add(BURGER, o, 3, Qty::ONE, vec![RARE]), 2)).unwrap();
    assert!(matches!(
        t.refuse(&Command::SendToKitchen { order_id: o }),
        CommandError::NothingToSend
    ));

    // Firing releases the course and sends its lines on a ticket of their station.
    t.run(&fire).unwrap();
    let order = t.order(o);
    assert!(!order.is_course_held(2));
    assert!(order.sent.contains_key(&LineId(u(2002))));
    assert!(order.sent.contains_key(&LineId(u(2003))));
    assert_eq!(t.state.tickets.len(), 2);
    let grill = t
        .state
        .tickets
        .values()
        .find(|k| k.station().is_some_and(|s| s == "grill"))
        .expect("a grill ticket");
    assert_eq!(grill.content.as_ref().unwrap().value.ticket.lines.len(), 2);
    // Once fired, a course is neither fired nor held again.
    assert!(matches!(t.refuse(&fire), CommandError::CourseNotHeld(2)));
    assert!(matches!(t.refuse(&hold), CommandError::CourseFired(2)));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let mut t = Terminal::new();
    let o = open(&mut t, 1);
    let unknown = ItemId(u(77));
    assert!(matches!(
        t.refuse(&add(unknown, o, 1, Qty::ONE, vec![])),
        CommandError::UnknownItem(_)
    ));
    assert!(matches!(
        t.refuse(&add(WINE, o, 1, Qty::units(-1), vec![])),
        CommandError::InvalidQuantity { .. }
    ));
    assert!(matches!(
        t.refuse(&add(WINE, o, 1, Qty::ZERO, vec![])),
        CommandError::InvalidQuantity { .. }
    ));
    assert!(matches!(
        t.refuse(&add(WINE, o, 1, Qty::units(1_000_000), vec![])),
        CommandError::InvalidQuantity { .. }
    ));
    assert!(matches!(
        t.refuse(&add(WINE, o, 1, Qty::milli(500), vec![])),
        CommandError::WholeUnitsOnly(_)
    ));
    assert!(matches!(t.refuse(&add(BURGER, o, 1, Qty::ONE, vec![])), CommandError::Modifiers(_)));
    assert!(matches!(
        t.refuse(&add(WINE, OrderId(u(5)), 1, Qty::ONE, vec![])),
        CommandError::UnknownOrder(_)
    ));
    t.run(&add(WINE, o, 1, Qty::ONE, vec![])).unwrap();
    assert!(matches!(t.refuse(&add(WINE, o, 1, Qty::ONE, vec![])), CommandError::LineExists(_)));
    // Price override needs a value within limits; voids need an approver and a reason.
    let mut override_line = add(WINE, o, 2, Qty::ONE, vec![]);
    if let Command::AddLine { price_override, .. } = &mut override_line {
        *price_override = Some(PriceOverride { unit_price: Money(-1), approved_by: MANAGER });
    }
    assert!(matches!(t.refuse(&override_line), CommandError::InvalidAmount { .. }));
    let void = |approved_by, reason: &str| Command::VoidLine {
        order_id: o,
        line_id: LineId(u(2001)),
        reason: reason.into(),
        approved_by,
    };
    assert!(matches!(t.refuse(&void(None, "spilt")), CommandError::ApprovalRequired(_)));
    assert!(matches!(t.refuse(&void(Some(MANAGER), "  ")), CommandError::InvalidText(_)));
    // A card number typed into a reason is refused, never stored.
    assert!(matches!(
        t.refuse(&void(Some(MANAGER), "card 4111 1111 1111 1111")),
        CommandError::InvalidText(_)
    ));
    // Large discounts need a manager.
    let discount = Command::ApplyDiscount {
        order_id: o,
        discount_id: DiscountId(u(1)),
        scope: DiscountScope::Order,
        rule: DiscountRule::PercentBps(5_000),
        reason: "friend".into(),
        approved_by: None,
    };
    assert!(matches!(t.refuse(&discount), CommandError::ApprovalRequired(_)));
    // Tenders: card above the balance, too little cash, absurd change, bad card details.
    let total = t.order(o).totals().total.as_minor();
    assert!(matches!(
        t.refuse(&card(o, 1, total + 1, 0)),
        CommandError::TenderExceedsBalance { .. }
    ));
    assert!(matches!(t.refuse(&cash(o, 1, total - 1, None)), CommandError::TenderTooSmall { .. }));
    assert!(matches!(
        t.refuse(&cash(o, 1, total + 1_000_00, None)),
        CommandError::ChangeTooLarge { .. }
    ));
    assert!(matches!(t.refuse(&card(o, 1, total, total * 2)), CommandError::TipTooLarge { .. }));
    let pan = Command::TakePayment {
        order_id: o,
        payment_id: PaymentId(u(9)),
        tender: TenderInput::Card {
            brand: "VISA".into(),
            last4: "4111111111111111".into(),
            auth_code: "X".into(),
        },
        amount: None,
        tip: Money::ZERO,
        drawer_session: None,
        staff: None,
    };
    assert!(matches!(t.refuse(&pan), CommandError::InvalidCard(_)));
    let no_drawer = Command::TakePayment {
        order_id: o,
        payment_id: PaymentId(u(9)),
        tender: TenderInput::Cash { tendered: Money(total) },
        amount: None,
        tip: Money::ZERO,
        drawer_session: None,
        staff: None,
    };
    assert!(matches!(t.refuse(&no_drawer), CommandError::DrawerRequired));
    // Closing unpaid is refused; once paid and closed, the order takes nothing more.
    assert!(matches!(
        t.refuse(&Command::CloseOrder { order_id: o, staff: None }),
        CommandError::OrderUnpaid { .. }
    ));
    t.run(&cash(o, 1, total, None)).unwrap();
    t.run(&Command::CloseOrder { order_id: o, staff: None }).unwrap();
    assert!(matches!(t.refuse(&add(WINE, o, 3, Qty::ONE, vec![])), CommandError::OrderClosed(_)));
    assert!(matches!(t.refuse(&cash(o, 2, 100, None)), CommandError::OrderClosed(_)));
}

#[test]
fn refunds_stock_and_availability() {
    let mut t = Terminal::new();
    t.run(&Command::ReceiveStock { item_id: BEANS, qty: Qty::units(10), note: "delivery".into() })
        .unwrap();
    let o = open(&mut t, 1);
    t.run(&add(BEANS, o, 1, Qty::units(2), vec![])).unwrap();
    let total = t.order(o).totals().total.as_minor();
    let refund = |amount, qty| Command::Refund {
        order_id: o,
        refund_id: RefundId(u(1)),
        amount: Money(amount),
        lines: vec![(LineId(u(2001)), Qty::units(qty))],
        tender: TenderInput::Cash { tendered: Money(amount) },
        reason: "damaged".into(),
        approved_by: Some(MANAGER),
        drawer_session: Some(DRAWER),
    };
    // No refund while the order is open.
    assert!(matches!(t.refuse(&refund(100, 1)), CommandError::OrderOpen(_)));
    t.run(&cash(o, 1, total, None)).unwrap();
    t.run(&Command::CloseOrder { order_id: o, staff: None }).unwrap();
    assert_eq!(t.state.get::<StockLevel>(BEANS.0).unwrap().on_hand, Qty::units(8));
    assert!(matches!(t.refuse(&refund(total + 1, 1)), CommandError::RefundExceedsPaid { .. }));
    assert!(matches!(t.refuse(&refund(100, 3)), CommandError::ReturnExceedsSold { .. }));
    t.run(&refund(total / 2, 1)).unwrap();
    assert_eq!(t.state.get::<StockLevel>(BEANS.0).unwrap().on_hand, Qty::units(9));
    assert_eq!(t.order(o).totals().refunded, Money(total / 2));
    // A count records the difference, so it composes with movements made elsewhere.
    t.run(&Command::CountStock { item_id: BEANS, counted: Qty::units(7) }).unwrap();
    assert_eq!(t.state.get::<StockLevel>(BEANS.0).unwrap().on_hand, Qty::units(7));
    // 86 an item: it can no longer be added until it is back.
    t.run(&Command::SetAvailability { item_id: WINE, available: false, by: None }).unwrap();
    let o2 = open(&mut t, 2);
    assert!(matches!(
        t.refuse(&add(WINE, o2, 5, Qty::ONE, vec![])),
        CommandError::ItemUnavailable(_)
    ));
    t.run(&Command::SetAvailability { item_id: WINE, available: true, by: None }).unwrap();
    t.run(&add(WINE, o2, 5, Qty::ONE, vec![])).unwrap();
}

#[test]
fn drawer_must_be_counted_blind_before_closing() {
    let mut t = Terminal::new();
    t.run(&pay_in(20_00, "change run")).unwrap();
    t.run(&pay_out(5_00, "milk")).unwrap();
    t.run(&Command::NoSale {
        session_id: DRAWER,
        reason: "change for a customer".into(),
        staff: None,
    })
    .unwrap();
    assert!(matches!(t.refuse(&pay_out(-1, "x")), CommandError::InvalidAmount { .. }));
    assert!(matches!(
        t.refuse(&Command::CloseDrawer { session_id: DRAWER, staff: None }),
        CommandError::DrawerNotCounted(_)
    ));
    t.run(&Command::CountDrawer { session_id: DRAWER, counted: Money(115_10), staff: None })
        .unwrap();
    t.run(&Command::CloseDrawer { session_id: DRAWER, staff: None }).unwrap();
    let z = ZReport::new(t.state.get(DRAWER.0).unwrap(), []);
    assert_eq!(z.expected_cash, Money(115_00));
    assert_eq!(z.over_short, Some(Money(10)));
    assert_eq!(z.no_sales, 1);
    assert!(matches!(t.refuse(&pay_in(1, "late")), CommandError::DrawerClosed(_)));
}

#[test]
fn a_closed_drawer_records_its_z_report_once_with_its_own_figures() {
    let mut t = Terminal::new();
    t.run(&pay_in(20_00, "change run")).unwrap();
    let report = |t: &Terminal| ZReport::new(t.state.get(DRAWER.0).unwrap(), []);
    let early = report(&t);
    let issue = |report: ZReport| Command::IssueZReport { session_id: DRAWER, report, staff: None };
    assert!(matches!(t.refuse(&issue(early)), CommandError::DrawerNotClosed(_)));
    t.run(&Command::CountDrawer { session_id: DRAWER, counted: Money(119_00), staff: None })
        .unwrap();
    // A report taken before the count no longer matches the drawer.
    let stale = report(&t);
    t.run(&Command::CloseDrawer { session_id: DRAWER, staff: None }).unwrap();
    let z = report(&t);
    let mut forged = z.clone();
    forged.paid_in = Money(1);
    assert!(matches!(t.refuse(&issue(forged)), CommandError::ZReportMismatch(_)));
    let mut uncounted = stale;
    uncounted.counted_cash = None;
    assert!(matches!(t.refuse(&issue(uncounted)), CommandError::ZReportMismatch(_)));
    t.run(&issue(z.clone())).unwrap();
    let session: &DrawerSession = t.state.get(DRAWER.0).unwrap();
    assert_eq!(session.z_report.as_ref().map(|s| &s.value.report), Some(&z));
    assert_eq!(z.over_short, Some(Money(-1_00)));
    assert!(matches!(t.refuse(&issue(z)), CommandError::ZReportExists(_)));
}

#[test]
fn staff_are_published_with_a_pin_hash_never_a_pin() {
    use thorbis_domain::fold::Versioned;

    let mut t = Terminal::new();
    let id = StaffId(Uuid::from_u128(77));
    let staff = |pin_hash: &str| Staff {
        id,
        name: "Dana".into(),
        role: Role::Manager,
        pin_hash: pin_hash.into(),
        active: true,
        locations: Vec::new(),
    };
    // Plain PINs, other algorithms and mangled strings are all refused, and nothing is folded.
    for bad in [
        "1234",
        "",
        "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        "$2b$12$abcdefghijklmnopqrstuv",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$",
        "$argon2id$v=19$1234$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        // Well formed, but a cost bomb for every terminal that verifies a PIN.
        "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
    ] {
        assert!(
            matches!(t.refuse(&Command::PublishStaff(staff(bad))), CommandError::InvalidPinHash),
            "{bad:?} was accepted"
        );
    }
    assert!(t.state.get::<Versioned<Staff>>(id.0).is_none());
    assert!(matches!(
        t.refuse(&Command::PublishStaff(Staff {
            name: " ".into(),
            ..staff("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
        })),
        CommandError::InvalidText(_)
    ));

    // A later version replaces the earlier one (last writer wins), like any catalog record.
    let good = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
    t.run(&Command::PublishStaff(staff(good))).unwrap();
    t.run(&Command::PublishStaff(Staff { active: false, ..staff(good) })).unwrap();
    let folded = t.state.get::<Versioned<Staff>>(id.0).unwrap().value().unwrap();
    assert!(!folded.active);
    assert!(folded.role.can_approve());
    assert!(!Role::Cashier.can_approve());
}

#[test]
fn approvals_name_a_published_active_manager() {
    let mut t = Terminal::new();
    let o = open(&mut t, 1);
    t.run(&add(WINE, o, 1, Qty::ONE, vec![])).unwrap();
    let stranger = StaffId(u(999));
    let refused = |t: &mut Terminal, command: &Command| match t.refuse(command) {
        CommandError::UnknownApprover(id) => (id, "unknown"),
        CommandError::NotAnApprover(id) => (id, "not an approver"),
        other => panic!("expected an approver refusal, got {other:?}"),
    };
    let void = |approved_by| Command::VoidLine {
        order_id: o,
        line_id: LineId(u(2001)),
        reason: "spilt".into(),
        approved_by: Some(approved_by),
    };
    let comp = |approved_by| Command::CompLine {
        order_id: o,
        line_id: LineId(u(2001)),
        reason: "late".into(),
        approved_by: Some(approved_by),
    };
    let discount = |percent_bps, approved_by| Command::ApplyDiscount {
        order_id: o,
        discount_id: DiscountId(u(1)),
        scope: DiscountScope::Order,
        rule: DiscountRule::PercentBps(percent_bps),
        reason: "friend".into(),
        approved_by,
    };
    let overridden = |approved_by| {
        let mut line = add(WINE, o, 2, Qty::ONE, vec![]);
        if let Command::AddLine { price_override, .. } = &mut line {
            *price_override = Some(PriceOverride { unit_price: Money(5_00), approved_by });
        }
        line
    };
    for (who, why) in [(stranger, "unknown"), (CASHIER, "not an approver")] {
        assert_eq!(refused(&mut t, &void(who)), (who, why));
        assert_eq!(refused(&mut t, &comp(who)), (who, why));
        assert_eq!(refused(&mut t, &discount(5_000, Some(who))), (who, why));
        // Even a discount that needs no approval may not name someone who cannot give it.
        assert_eq!(refused(&mut t, &discount(500, Some(who))), (who, why));
        assert_eq!(refused(&mut t, &overridden(who)), (who, why));
    }
    let message = t.refuse(&void(CASHIER)).to_string();
    assert!(message.contains("cannot approve"), "{message}");

    // A manager who has left no longer approves.
    let gone = StaffId(u(902));
    let record = Staff {
        id: gone,
        name: "Robin".into(),
        role: Role::Owner,
        pin_hash: PIN_HASH.into(),
        active: false,
        locations: Vec::new(),
    };
    t.run(&Command::PublishStaff(record)).unwrap();
    assert_eq!(refused(&mut t, &void(gone)), (gone, "not an approver"));

    t.run(&overridden(MANAGER)).unwrap();
    assert_eq!(t.order(o).lines[&LineId(u(2002))].value.price_override_by, Some(MANAGER));
    t.run(&discount(5_000, Some(MANAGER))).unwrap();
    t.run(&comp(MANAGER)).unwrap();
    t.run(&void(MANAGER)).unwrap();
    let o2 = open(&mut t, 2);
    t.run(&add(WINE, o2, 3, Qty::ONE, vec![])).unwrap();
    t.run(&cash(o2, 2, 20_00, None)).unwrap();
    t.run(&Command::CloseOrder { order_id: o2, staff: None }).unwrap();
    let refund = |approved_by| Command::Refund {
        order_id: o2,
        refund_id: RefundId(u(1)),
        amount: Money(1_00),
        lines: vec![],
        tender: TenderInput::Other { name: "voucher".into() },
        reason: "corked".into(),
        approved_by: Some(approved_by),
        drawer_session: None,
    };
    assert_eq!(refused(&mut t, &refund(stranger)), (stranger, "unknown"));
    assert_eq!(refused(&mut t, &refund(CASHIER)), (CASHIER, "not an approver"));
    t.run(&refund(MANAGER)).unwrap();
}

#[test]
fn a_price_override_on_a_line_needs_a_manager_and_reprices_it() {
    let mut t = Terminal::new();
    let o = open(&mut t, 1);
    t.run(&add(WINE, o, 1, Qty::units(2), vec![])).unwrap();
    let reprice = |unit_price, approved_by| Command::RepriceLine {
        order_id: o,
        line_id: LineId(u(2001)),
        unit_price: Money(unit_price),
        approved_by,
    };
    assert!(matches!(t.refuse(&reprice(5_00, None)), CommandError::ApprovalRequired(_)));
    assert!(matches!(t.refuse(&reprice(5_00, Some(CASHIER))), CommandError::NotAnApprover(_)));
    assert!(matches!(t.refuse(&reprice(-1, Some(MANAGER))), CommandError::InvalidAmount { .. }));
    t.run(&reprice(5_00, Some(MANAGER))).unwrap();
    assert_eq!(t.order(o).totals().subtotal, Money(10_00));
    // A later override replaces the earlier one.
    t.run(&reprice(4_00, Some(MANAGER))).unwrap();
    assert_eq!(t.order(o).totals().subtotal, Money(8_00));
}

/// Opens check `n` (table "12") and moves `lines` of `from` onto it, in one batch as the
/// terminal does for a split.
fn split(
    t: &mut Terminal,
    from: OrderId,
    n: u128,
    lines: &[u128],
) -> Result<OrderId, CommandError> {
    let to = open(t, n);
    t.run(&Command::MoveLines {
        from,
        to,
        lines: lines.iter().map(|l| LineId(u(2000 + l))).collect(),
        staff: Some(CASHIER),
    })?;
    Ok(to)
}

#[test]
fn splitting_a_check_moves_lines_whole_and_keeps_the_totals() {
    let mut t = Terminal::new();
    let a = open(&mut t, 1);
    // Seat 1: a burger with cheese (13.50), comped; seat 2: two wines (18.00) at 10 % off.
    t.run(&add(BURGER, a, 1, Qty::ONE, vec![RARE, CHEESE])).unwrap();
    t.run(&add(WINE, a, 2, Qty::units(2), vec![])).unwrap();
    t.run(&add(WINE, a, 3, Qty::ONE, vec![])).unwrap();
    t.run(&Command::CompLine {
        order_id: a,
        line_id: LineId(u(2001)),
        reason: "birthday".into(),
        approved_by: Some(MANAGER),
    })
    .unwrap();
    t.run(&Command::ApplyDiscount {
        order_id: a,
        discount_id: DiscountId(u(1)),
        scope: DiscountScope::Line(LineId(u(2002))),
        rule: DiscountRule::PercentBps(1_000),
        reason: "happy hour".into(),
        approved_by: None,
    })
    .unwrap();
    t.run(&Command::RepriceLine {
        order_id: a,
        line_id: LineId(u(2003)),
        unit_price: Money(7_00),
        approved_by: Some(MANAGER),
    })
    .unwrap();
    t.run(&Command::SendToKitchen { order_id: a }).unwrap();
    let before = t.order(a).totals();

    let b = split(&mut t, a, 2, &[2, 3]).unwrap();
    let (ta, tb) = (t.order(a).totals(), t.order(b).totals());
    assert_eq!(t.order(a).live_lines().count(), 1);
    assert_eq!(t.order(b).live_lines().count(), 2);
    // Nothing is lost or made up: the two checks add up to the one they were.
    assert_eq!(ta.subtotal + tb.subtotal, before.subtotal);
    assert_eq!(ta.comps + tb.comps, before.comps);
    assert_eq!(ta.discounts + tb.discounts, before.discounts);
    assert_eq!(ta.total + tb.total, before.total);
    assert_eq!(tb.discounts, Money(1_80), "the line discount moved with its line");
    assert_eq!(tb.subtotal, Money(18_00 + 7_00), "the overridden price moved with its line");
    let moved = t.order(b).live_lines().find(|l| l.unit_price == Money(7_00)).unwrap().clone();
    assert_eq!(moved.price_override_by, Some(MANAGER));
    // Sent lines stay sent: nothing goes to the kitchen twice.
    assert!(matches!(
        t.refuse(&Command::SendToKitchen { order_id: b }),
        CommandError::NothingToSend
    ));
    // A moved line is gone from the source: it cannot be voided there or moved again.
    let void = Command::VoidLine {
        order_id: a,
        line_id: LineId(u(2002)),
        reason: "x".into(),
        approved_by: Some(MANAGER),
    };
    assert!(matches!(t.refuse(&void), CommandError::LineMoved { .. }));

    // And it can come back (under a new id again), comp and all.
    let comped = t.order(b).live_lines().map(|l| l.line_id).collect::<Vec<_>>();
    t.run(&Command::MoveLines { from: b, to: a, lines: comped, staff: None }).unwrap();
    assert_eq!(t.order(a).totals().total, before.total);
    assert_eq!(t.order(b).totals().total, Money::ZERO);
}

#[test]
fn moves_are_refused_when_payments_are_applied_or_the_request_is_wrong() {
    let mut t = Terminal::new();
    let a = open(&mut t, 1);
    t.run(&add(WINE, a, 1, Qty::ONE, vec![])).unwrap();
    t.run(&add(WINE, a, 2, Qty::ONE, vec![])).unwrap();
    t.run(&add(WINE, a, 3, Qty::ONE, vec![])).unwrap();
    t.run(&Command::VoidLine {
        order_id: a,
        line_id: LineId(u(2003)),
        reason: "spilt".into(),
        approved_by: Some(MANAGER),
    })
    .unwrap();
    let b = open(&mut t, 2);
    let mv = |lines: &[u128], from, to| Command::MoveLines {
        from,
        to,
        lines: lines.iter().map(|l| LineId(u(2000 + l))).collect(),
        staff: None,
    };
    assert!(matches!(t.refuse(&mv(&[], a, b)), CommandError::NothingToMove));
    assert!(matches!(t.refuse(&mv(&[1], a, a)), CommandError::SameOrder));
    assert!(matches!(t.refuse(&mv(&[1, 1], a, b)), CommandError::LineTwice(_)));
    assert!(matches!(t.refuse(&mv(&[3], a, b)), CommandError::LineVoided(_)));
    assert!(matches!(t.refuse(&mv(&[9], a, b)), CommandError::UnknownLine { .. }));
    assert!(matches!(t.refuse(&mv(&[1], a, OrderId(u(77)))), CommandError::UnknownOrder(_)));
    // Part paid: the lines stay, and the message says why.
    t.run(&card(a, 1, 5_00, 0)).unwrap();
    let err = t.refuse(&mv(&[1], a, b));
    assert!(matches!(err, CommandError::PaymentsApplied(o) if o == a));
    assert!(err.to_string().contains("payments applied"), "{err}");
    assert!(matches!(
        t.refuse(&Command::MergeOrders { into: b, from: a, staff: None }),
        CommandError::PaymentsApplied(_)
    ));
    // Moving into a part-paid check is fine: its balance grows.
    t.run(&add(WINE, b, 4, Qty::ONE, vec![])).unwrap();
    t.run(&mv(&[4], b, a)).unwrap();
    assert_eq!(t.order(a).live_lines().count(), 3);
    // A closed check takes no lines.
    t.run(&cash(a, 2, 100_00, None)).unwrap();
    t.run(&Command::CloseOrder { order_id: a, staff: None }).unwrap();
    t.run(&add(WINE, b, 5, Qty::ONE, vec![])).unwrap();
    assert!(matches!(t.refuse(&mv(&[5], b, a)), CommandError::OrderClosed(_)));
}

#[test]
fn merging_finishes_the_merged_check_and_transfers_move_table_and_server() {
    let mut t = Terminal::new();
    let a = open(&mut t, 1);
    let b = open(&mut t, 2);
    t.run(&add(WINE, a, 1, Qty::ONE, vec![])).unwrap();
    t.run(&add(WINE, b, 2, Qty::ONE, vec![])).unwrap();
    t.run(&add(BURGER, b, 3, Qty::ONE, vec![RARE])).unwrap();
    t.run(&Command::VoidLine {
        order_id: b,
        line_id: LineId(u(2003)),
        reason: "wrong".into(),
        approved_by: Some(MANAGER),
    })
    .unwrap();
    let (ta, tb) = (t.order(a).totals(), t.order(b).totals());
    let discount = Command::ApplyDiscount {
        order_id: b,
        discount_id: DiscountId(u(5)),
        scope: DiscountScope::Order,
        rule: DiscountRule::PercentBps(500),
        reason: "regular".into(),
        approved_by: None,
    };
    let mut with_discount = Terminal::new();
    with_discount.state = t.state.clone();
    with_discount.seq = t.seq;
    with_discount.run(&discount).unwrap();
    assert!(matches!(
        with_discount.refuse(&Command::MergeOrders { into: a, from: b, staff: None }),
        CommandError::CheckDiscountWouldBeLost(_)
    ));

    t.run(&Command::MergeOrders { into: a, from: b, staff: Some(CASHIER) }).unwrap();
    assert_eq!(t.order(b).status(), OrderStatus::Closed);
    assert_eq!(t.order(a).status(), OrderStatus::Open);
    assert_eq!(t.order(a).totals().total, ta.total + tb.total);
    // The voided burger stays on the merged check's record; it is not charged anywhere.
    assert_eq!(t.order(b).totals().voids, Money(12_50));
    assert_eq!(t.order(a).totals().voids, Money::ZERO);
    assert!(matches!(
        t.refuse(&Command::MergeOrders { into: a, from: b, staff: None }),
        CommandError::OrderClosed(_)
    ));
    assert!(matches!(
        t.refuse(&Command::MergeOrders { into: a, from: a, staff: None }),
        CommandError::SameOrder
    ));

    // Transfers: to another table, to another server, refused when nothing changes.
    let transfer = |table: Option<&str>, server| Command::TransferOrder {
        order_id: a,
        table: table.map(str::to_owned),
        server,
        staff: Some(MANAGER),
    };
    t.run(&transfer(Some("Patio 3"), None)).unwrap();
    assert_eq!(t.order(a).table(), Some("Patio 3"));
    t.run(&transfer(None, Some(CASHIER))).unwrap();
    assert_eq!(t.order(a).server(), Some(CASHIER));
    assert_eq!(t.order(a).table(), Some("Patio 3"), "a server transfer keeps the table");
    assert!(matches!(t.refuse(&transfer(None, None)), CommandError::NothingToTransfer));
    assert!(matches!(
        t.refuse(&transfer(Some("Patio 3"), Some(CASHIER))),
        CommandError::NothingToTransfer
    ));
    assert!(matches!(
        t.refuse(&transfer(None, Some(StaffId(u(999))))),
        CommandError::UnknownStaff(_)
    ));
    assert!(matches!(t.refuse(&transfer(Some("  "), None)), CommandError::InvalidText(_)));
}
