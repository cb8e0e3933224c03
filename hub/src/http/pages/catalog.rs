//! The catalog: items (price, category, tax category, kitchen station, barcodes, modifier
//! groups, stock tracking), categories, modifier groups (min/max, price deltas) and taxes
//! (`taxes.rs`). Every
//! save publishes a hub-signed `catalog.*` event, checked first by the domain as every
//! replica will check it; terminals show it once they sync. Prices are typed in the
//! currency the tenant's locations use ([`crate::catalog::currency`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use thorbis_domain::DomainEvent;
use thorbis_domain::catalog::{Category, Item, Modifier, ModifierGroup};
use thorbis_domain::ids::{CategoryId, ItemId, ModifierGroupId, ModifierId, TaxCategoryId};
use thorbis_domain::tax::{TaxCategory, TaxRate};
use thorbis_domain::{Currency, Money, Qty};
use thorbis_web::components::{Input, Message, labelled, message, submit_or_cancel};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::{Href, see_other};
use thorbis_web::{Markup, html};
use uuid::Uuid;

use super::{PageForm, PageResult, PageUser, csrf, path_id, shell, with_status};
use crate::accounts::ConsoleRole;
use crate::catalog;
use crate::http::{AppState, Error};

const SCREEN: &str = "console-catalog";

/// Everything the catalog pages show.
pub(super) struct Catalog {
    pub(super) items: Vec<Item>,
    pub(super) categories: Vec<Category>,
    groups: Vec<ModifierGroup>,
    pub(super) tax_categories: Vec<TaxCategory>,
    pub(super) tax_rates: Vec<TaxRate>,
    pub(super) currency: Result<Currency, String>,
}

pub(super) async fn load(state: &AppState, tenant: Uuid) -> Result<Catalog, Error> {
    let store = state.store();
    let mut categories: Vec<Category> = catalog::records(store, tenant).await?;
    categories.sort_by(|a, b| (a.position, &a.name).cmp(&(b.position, &b.name)));
    let mut items: Vec<Item> = catalog::records(store, tenant).await?;
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Catalog {
        items,
        categories,
        groups: catalog::records(store, tenant).await?,
        tax_categories: catalog::records(store, tenant).await?,
        tax_rates: catalog::records(store, tenant).await?,
        currency: catalog::currency(store, tenant).await?,
    })
}

/// Publishes `event` after the domain's own check of what it says.
pub(super) async fn publish(
    state: &AppState,
    user: &PageUser,
    events: Vec<DomainEvent>,
) -> Result<Result<(), String>, Error> {
    for event in &events {
        if let Err(why) = thorbis_domain::admit::check_content(event) {
            return Ok(Err(format!("Cannot save: {why}")));
        }
    }
    Box::pin(crate::staff::publish_reference(state.store(), user.tenant_id, events)).await?;
    tracing::info!(tenant_id = %user.tenant_id, by = %user.user_id, "catalog changed from the console");
    Ok(Ok(()))
}

fn price(money: Money, currency: &Result<Currency, String>) -> String {
    match currency {
        Ok(c) => money.format(*c),
        Err(_) => money.0.to_string(),
    }
}

pub(super) fn catalog_page(
    user: &PageUser,
    c: &Catalog,
    msg: Option<&Message>,
    status: StatusCode,
) -> axum::response::Response {
    let manager = user.can(ConsoleRole::Manager);
    let category = |id: Option<CategoryId>| {
        id.and_then(|id| c.categories.iter().find(|k| k.id == id))
            .map_or("—", |k| k.name.as_str())
    };
    let body = html! {
        h1 { "Catalog" }
        (message(msg))
        @if let Err(why) = &c.currency { p.msg.err { "Prices cannot be edited yet: " (why) } }
        h2 { "Items" }
        @if manager && c.currency.is_ok() { p {
            a.btn.primary href="/console/catalog/items/new" id="new-item" { "Add an item" } " "
            a.btn href="/console/catalog/import" id="import-items" { "Import items from CSV" }
        } }
        table.list #items {
            thead { tr { th { "Item" } th { "Category" } th { "Price" } th { "Station" } th { "Barcodes" } th { "Options" } th { span.sr-only { "Actions" } } } }
            tbody {
                @for item in &c.items {
                    tr data-item=(item.id.0) {
                        td.name { (item.name) @if !item.active { " " span.muted { "(hidden)" } } }
                        td { (category(item.category)) }
                        td.money { (price(item.price, &c.currency)) }
                        td { (item.station.as_deref().unwrap_or("—")) }
                        td { (item.barcodes.join(", ")) }
                        td { @for g in &item.modifier_groups {
                            @if let Some(g) = c.groups.iter().find(|x| x.id == *g) { span.chip { (g.name) } " " }
                        } }
                        td { a.btn href=(format!("/console/catalog/items/{}", item.id.0)) aria-label=(format!("Edit {}", item.name)) { "Edit" } }
                    }
                }
            }
        }
        @if c.items.is_empty() { p.muted { "No items yet." } }
        h2 { "Modifier groups" }
        @if manager && c.currency.is_ok() { p { a.btn href="/console/catalog/groups/new" id="new-group" { "Add a modifier group" } } }
        table.list #groups {
            thead { tr { th { "Group" } th { "Choose" } th { "Options" } th { span.sr-only { "Actions" } } } }
            tbody {
                @for g in &c.groups {
                    tr {
                        td { (g.name) }
                        td { (g.min) " to " (g.max) }
                        td { @for m in &g.modifiers { (m.name) @if m.price_delta.0 != 0 { " (" (price(m.price_delta, &c.currency)) ")" } "; " } }
                        td { a.btn href=(format!("/console/catalog/groups/{}", g.id.0)) aria-label=(format!("Edit {}", g.name)) { "Edit" } }
                    }
                }
            }
        }
        h2 { "Categories" }
        ul.lines #categories { @for k in &c.categories { li.line { span { (k.name) } span.muted { "position " (k.position) } } } }
        @if manager {
            form.row method="post" action="/console/catalog/categories" {
                (csrf(user))
                (labelled("New category", Input::new("name").id("category-name").maxlength(100)))
                (labelled("Position", Input::new("position").id("category-position").numeric().maxlength(4).value("0")))
                button.btn type="submit" id="add-category" { "Add category" }
            }
        }
        (super::taxes::section(user, c))
    };
    with_status(status, shell(user, "Catalog", SCREEN, body))
}

/// `GET /console/catalog`.
pub(in crate::http) async fn page(State(state): State<AppState>, user: PageUser) -> PageResult {
    let c = load(&state, user.tenant_id).await?;
    Ok(catalog_page(&user, &c, None, StatusCode::OK))
}

/// `POST /console/catalog/categories`: adds a category.
pub(in crate::http) async fn add_category(
    State(state): State<AppState>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Manager)?;
    let parsed = form::text(fields.get("name"), "Category name", 100).and_then(|name| {
        let position =
            form::optional_count(fields.get("position"), "Position", 0, 9999)?.unwrap_or(0);
        Ok(Category { id: CategoryId(Uuid::now_v7()), name, position: u32::from(position) })
    });
    let outcome = match parsed {
        Ok(category) => {
            publish(&state, &user, vec![DomainEvent::CategoryUpserted(category)]).await?
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(see_other("/console/catalog")),
        Err(e) => {
            let c = load(&state, user.tenant_id).await?;
            Ok(catalog_page(&user, &c, Some(&Message::Error(e)), StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

/// An amount typed with an optional sign (a modifier may take money off).
fn signed_money(raw: &str, currency: Currency, what: &str) -> Result<Money, String> {
    match raw.strip_prefix('-').or_else(|| raw.strip_prefix('−')) {
        Some(rest) => form::money(rest.trim(), currency, what).map(|m| Money(-m.0)),
        None => form::money(raw.strip_prefix('+').unwrap_or(raw).trim(), currency, what),
    }
}

fn item_form(
    user: &PageUser,
    c: &Catalog,
    item: Option<&Item>,
    fields: &Fields,
    msg: Option<&Message>,
) -> Markup {
    let typed = |name: &str, stored: String| {
        if fields.is_empty() { stored } else { fields.get(name).to_owned() }
    };
    let currency = c.currency.as_ref().ok().copied();
    let name = typed("name", item.map(|i| i.name.clone()).unwrap_or_default());
    let price_text =
        typed("price", item.zip(currency).map(|(i, c)| i.price.format(c)).unwrap_or_default());
    let station = typed("station", item.and_then(|i| i.station.clone()).unwrap_or_default());
    let barcodes = typed("barcodes", item.map(|i| i.barcodes.join(", ")).unwrap_or_default());
    let chosen_category = typed(
        "category",
        item.and_then(|i| i.category).map(|c| c.0.to_string()).unwrap_or_default(),
    );
    let chosen_tax = typed(
        "tax_category",
        item.and_then(|i| i.tax_category).map(|c| c.0.to_string()).unwrap_or_default(),
    );
    let groups: Vec<String> = if fields.is_empty() {
        item.map(|i| i.modifier_groups.iter().map(|g| g.0.to_string()).collect())
            .unwrap_or_default()
    } else {
        fields.all("groups").into_iter().map(str::to_owned).collect()
    };
    let flag = |name: &str, stored: bool| {
        if fields.is_empty() { stored } else { !fields.get(name).is_empty() }
    };
    let reorder = typed(
        "reorder_point",
        item.and_then(|i| i.reorder_point).map(|q| q.to_string()).unwrap_or_default(),
    );
    let track = flag("track_stock", item.is_some_and(|i| i.track_stock));
    let weight = flag("sold_by_weight", item.is_some_and(|i| i.sold_by_weight));
    let active = flag("active", item.is_none_or(|i| i.active));
    let action = match item {
        Some(i) => format!("/console/catalog/items/{}", i.id.0),
        None => "/console/catalog/items".into(),
    };
    let read_only = !user.can(ConsoleRole::Manager);
    let body = html! {
        h1 { @match item { Some(i) => { "Edit " (i.name) }, None => "Add an item" } }
        (message(msg))
        form.stack.settings method="post" action=(action) {
            (csrf(user))
            (labelled("Name", Input::new("name").id("item-name").value(&name).maxlength(200).disabled(read_only)))
            (labelled(html! { "Price" @if let Some(c) = currency { " (" (c.code()) ")" } },
                Input::new("price").id("item-price").value(&price_text).decimal().maxlength(12).disabled(read_only)))
            label { "Category"
                select name="category" id="item-category" disabled[read_only] {
                    @for k in &c.categories { option value=(k.id.0) selected[chosen_category == k.id.0.to_string()] { (k.name) } }
                }
            }
            label { "Tax category"
                select name="tax_category" id="item-tax" disabled[read_only] {
                    option value="" { "None (untaxed)" }
                    @for t in &c.tax_categories { option value=(t.id.0) selected[chosen_tax == t.id.0.to_string()] { (t.name) } }
                }
            }
            (labelled("Kitchen station (its tickets go there; empty: none)", Input::new("station").id("item-station").value(&station).maxlength(40).disabled(read_only)))
            (labelled("Barcodes (comma-separated)", Input::new("barcodes").id("item-barcodes").value(&barcodes).maxlength(400).disabled(read_only)))
            fieldset.group {
                legend { "Modifier groups" }
                @if c.groups.is_empty() { p.muted { "None yet." } }
                @for g in &c.groups {
                    label.choice { input type="checkbox" name="groups" value=(g.id.0) checked[groups.contains(&g.id.0.to_string())] disabled[read_only]; (g.name) }
                }
            }
            label.choice { input type="checkbox" name="track_stock" value="1" id="item-track" checked[track] disabled[read_only]; "Track stock" }
            (labelled("Reorder at (a tracked item with this much or less on hand is low; empty: never)",
                Input::new("reorder_point").id("item-reorder").value(&reorder).decimal().maxlength(12).disabled(read_only)))
            label.choice { input type="checkbox" name="sold_by_weight" value="1" checked[weight] disabled[read_only]; "Sold by weight" }
            label.choice { input type="checkbox" name="active" value="1" id="item-active" checked[active] disabled[read_only]; "On sale (shown on terminals)" }
            @if !read_only { (submit_or_cancel("save-item", "Save and publish", "/console/catalog")) }
        }
    };
    shell(user, "Item", SCREEN, body)
}

/// An item from its form, keeping `id`.
pub(super) fn parse_item(fields: &Fields, id: ItemId, c: &Catalog) -> Result<Item, String> {
    let currency = c.currency.clone()?;
    let name = form::text(fields.get("name"), "Name", 200)?;
    let price = form::money(fields.get("price"), currency, "Price")?;
    let pick = |raw: &str, what: &str| -> Result<Option<Uuid>, String> {
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse().map(Some).map_err(|_| format!("Choose a {what} from the list"))
    };
    // Terminals show items by category: an item without one would never be on a screen.
    let category = pick(fields.get("category"), "category")?.map(CategoryId);
    if c.categories.is_empty() {
        return Err("Add a category first: terminals show items by category".into());
    }
    if !category.is_some_and(|k| c.categories.iter().any(|x| x.id == k)) {
        return Err("Choose the item's category: terminals show items by category".into());
    }
    let tax_category = pick(fields.get("tax_category"), "tax category")?.map(TaxCategoryId);
    if tax_category.is_some_and(|t| !c.tax_categories.iter().any(|x| x.id == t)) {
        return Err("Choose a tax category from the list".into());
    }
    let mut modifier_groups = Vec::new();
    for g in fields.all("groups") {
        let g = ModifierGroupId(
            g.parse().map_err(|_| "Choose modifier groups from the list".to_owned())?,
        );
        if !c.groups.iter().any(|x| x.id == g) {
            return Err("Choose modifier groups from the list".into());
        }
        modifier_groups.push(g);
    }
    let station = fields.get("station");
    let barcodes: Vec<String> = fields
        .get("barcodes")
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(str::to_owned)
        .collect();
    if barcodes.iter().any(|b| b.len() > 48 || !b.bytes().all(|x| x.is_ascii_graphic())) {
        return Err("A barcode is up to 48 letters and digits, without spaces".into());
    }
    if c.items
        .iter()
        .any(|other| other.id != id && other.barcodes.iter().any(|b| barcodes.contains(b)))
    {
        return Err("One of these barcodes is already another item's".into());
    }
    let reorder_point = match fields.get("reorder_point").trim() {
        "" => None,
        raw => Some(Qty(form::fixed_point(raw, 9, 3)
            .ok_or("The reorder point is a quantity, such as 12 or 2.5")?)),
    };
    Ok(Item {
        id,
        name,
        category,
        price,
        tax_category,
        barcodes,
        station: (!station.is_empty()).then(|| station.to_owned()),
        modifier_groups,
        track_stock: !fields.get("track_stock").is_empty(),
        sold_by_weight: !fields.get("sold_by_weight").is_empty(),
        reorder_point,
        active: !fields.get("active").is_empty(),
    })
}

/// `GET /console/catalog/items/new`.
pub(in crate::http) async fn new_item(State(state): State<AppState>, user: PageUser) -> PageResult {
    let c = load(&state, user.tenant_id).await?;
    Ok(with_status(StatusCode::OK, item_form(&user, &c, None, &Fields::default(), None)))
}

/// `GET /console/catalog/items/{id}`.
pub(in crate::http) async fn edit_item(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let id = ItemId(path_id(&id, "catalog record")?);
    let c = load(&state, user.tenant_id).await?;
    let item = c
        .items
        .iter()
        .find(|i| i.id == id)
        .ok_or_else(|| Error::NotFound(format!("no item {}", id.0)))?;
    Ok(with_status(StatusCode::OK, item_form(&user, &c, Some(item), &Fields::default(), None)))
}

async fn save_item(
    state: &AppState,
    user: PageUser,
    fields: Fields,
    id: Option<ItemId>,
) -> PageResult {
    user.require(ConsoleRole::Manager)?;
    let c = load(state, user.tenant_id).await?;
    let existing = match id {
        Some(id) => Some(
            c.items
                .iter()
                .find(|i| i.id == id)
                .ok_or_else(|| Error::NotFound(format!("no item {}", id.0)))?,
        ),
        None => None,
    };
    let id = id.unwrap_or_else(|| ItemId(Uuid::now_v7()));
    let outcome = match parse_item(&fields, id, &c) {
        Ok(item) => publish(state, &user, vec![DomainEvent::ItemUpserted(item)]).await?,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(see_other(&Href::new("/console/catalog").param("saved", id.0).into_string())),
        Err(e) => Ok(with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            item_form(&user, &c, existing, &fields, Some(&Message::Error(e))),
        )),
    }
}

/// `POST /console/catalog/items`.
pub(in crate::http) async fn create_item(
    State(state): State<AppState>,
    form: PageForm,
) -> PageResult {
    save_item(&state, form.user, form.fields, None).await
}

/// `POST /console/catalog/items/{id}`.
pub(in crate::http) async fn update_item(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult {
    let id = ItemId(path_id(&id, "catalog record")?);
    save_item(&state, form.user, form.fields, Some(id)).await
}

fn group_form(
    user: &PageUser,
    c: &Catalog,
    group: Option<&ModifierGroup>,
    fields: &Fields,
    msg: Option<&Message>,
) -> Markup {
    let typed = |name: &str, stored: String| {
        if fields.is_empty() { stored } else { fields.get(name).to_owned() }
    };
    let currency = c.currency.as_ref().ok().copied();
    let name = typed("name", group.map(|g| g.name.clone()).unwrap_or_default());
    let min = typed("min", group.map_or("0".into(), |g| g.min.to_string()));
    let max = typed("max", group.map_or("1".into(), |g| g.max.to_string()));
    let options = typed(
        "options",
        group
            .map(|g| {
                g.modifiers
                    .iter()
                    .map(|m| match currency {
                        Some(c) if m.price_delta.0 != 0 => {
                            format!("{} = {}", m.name, m.price_delta.format(c))
                        }
                        _ => m.name.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default(),
    );
    let action = match group {
        Some(g) => format!("/console/catalog/groups/{}", g.id.0),
        None => "/console/catalog/groups".into(),
    };
    let read_only = !user.can(ConsoleRole::Manager);
    let body = html! {
        h1 { @match group { Some(g) => { "Edit " (g.name) }, None => "Add a modifier group" } }
        (message(msg))
        form.stack.settings method="post" action=(action) {
            (csrf(user))
            (labelled("Name", Input::new("name").id("group-name").value(&name).maxlength(100).disabled(read_only)))
            div.row {
                (labelled("Choose at least", Input::new("min").id("group-min").value(&min).numeric().maxlength(2).disabled(read_only)))
                (labelled("Choose at most", Input::new("max").id("group-max").value(&max).numeric().maxlength(2).disabled(read_only)))
            }
            label { "Options, one per line, with a price change after = (\"Oat milk = 0.50\", \"No cheese = -0.25\")"
                textarea name="options" id="group-options" rows="6" disabled[read_only] { (options) } }
            @if !read_only { (submit_or_cancel("save-group", "Save and publish", "/console/catalog")) }
        }
    };
    shell(user, "Modifier group", SCREEN, body)
}

/// A modifier group from its form, keeping `id` and the ids of options whose names stay.
fn parse_group(
    fields: &Fields,
    id: ModifierGroupId,
    old: Option<&ModifierGroup>,
    c: &Catalog,
) -> Result<ModifierGroup, String> {
    let currency = c.currency.clone()?;
    let name = form::text(fields.get("name"), "Name", 100)?;
    let min = form::count(fields.get("min"), "Choose at least", 0, 20)?;
    let max = form::count(fields.get("max"), "Choose at most", 1, 20)?;
    let mut modifiers: Vec<Modifier> = Vec::new();
    for line in fields.get("options").lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (option, delta) = match line.split_once('=') {
            Some((n, d)) => (n.trim(), signed_money(d.trim(), currency, "A price change")?),
            None => (line, Money(0)),
        };
        let option = form::text(option, "An option's name", 100)?;
        if modifiers.iter().any(|m| m.name == option) {
            return Err(format!("The option {option:?} is listed twice"));
        }
        let id = old
            .and_then(|g| g.modifiers.iter().find(|m| m.name == option))
            .map_or_else(|| ModifierId(Uuid::now_v7()), |m| m.id);
        modifiers.push(Modifier { id, name: option, price_delta: delta });
    }
    if modifiers.is_empty() || modifiers.len() > 50 {
        return Err("A group has 1 to 50 options".into());
    }
    if min > max || usize::from(min) > modifiers.len() {
        return Err(
            "\"Choose at least\" must be at most \"choose at most\" and the number of options"
                .into(),
        );
    }
    let (min, max) = (u8::try_from(min).unwrap_or(u8::MAX), u8::try_from(max).unwrap_or(u8::MAX));
    Ok(ModifierGroup { id, name, min, max, modifiers })
}

/// `GET /console/catalog/groups/new`.
pub(in crate::http) async fn new_group(
    State(state): State<AppState>,
    user: PageUser,
) -> PageResult {
    let c = load(&state, user.tenant_id).await?;
    Ok(with_status(StatusCode::OK, group_form(&user, &c, None, &Fields::default(), None)))
}

/// `GET /console/catalog/groups/{id}`.
pub(in crate::http) async fn edit_group(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let id = ModifierGroupId(path_id(&id, "catalog record")?);
    let c = load(&state, user.tenant_id).await?;
    let group = c
        .groups
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| Error::NotFound(format!("no modifier group {}", id.0)))?;
    Ok(with_status(StatusCode::OK, group_form(&user, &c, Some(group), &Fields::default(), None)))
}

async fn save_group(
    state: &AppState,
    user: PageUser,
    fields: Fields,
    id: Option<ModifierGroupId>,
) -> PageResult {
    user.require(ConsoleRole::Manager)?;
    let c = load(state, user.tenant_id).await?;
    let existing = match id {
        Some(id) => Some(
            c.groups
                .iter()
                .find(|g| g.id == id)
                .ok_or_else(|| Error::NotFound(format!("no modifier group {}", id.0)))?,
        ),
        None => None,
    };
    let id = id.unwrap_or_else(|| ModifierGroupId(Uuid::now_v7()));
    let outcome = match parse_group(&fields, id, existing, &c) {
        Ok(group) => publish(state, &user, vec![DomainEvent::ModifierGroupUpserted(group)]).await?,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(see_other("/console/catalog")),
        Err(e) => Ok(with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            group_form(&user, &c, existing, &fields, Some(&Message::Error(e))),
        )),
    }
}

/// `POST /console/catalog/groups`.
pub(in crate::http) async fn create_group(
    State(state): State<AppState>,
    form: PageForm,
) -> PageResult {
    save_group(&state, form.user, form.fields, None).await
}

/// `POST /console/catalog/groups/{id}`.
pub(in crate::http) async fn update_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult {
    let id = ModifierGroupId(path_id(&id, "catalog record")?);
    save_group(&state, form.user, form.fields, Some(id)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const COFFEE: &str = "01900000-0000-7000-8000-00000000c0ff";

    fn catalog() -> Catalog {
        Catalog {
            items: vec![],
            categories: vec![Category {
                id: CategoryId(COFFEE.parse().unwrap()),
                name: "Coffee".into(),
                position: 0,
            }],
            groups: vec![],
            tax_categories: vec![],
            tax_rates: vec![],
            currency: Ok(Currency::USD),
        }
    }

    #[test]
    fn a_group_keeps_its_options_ids_and_reads_signed_deltas() {
        let c = catalog();
        let id = ModifierGroupId(Uuid::now_v7());
        let first = parse_group(
            &Fields::from_pairs(&[
                ("name", "Milk"),
                ("min", "0"),
                ("max", "1"),
                ("options", "Oat = 0.50\nNone = -0.25\n\nWhole"),
            ]),
            id,
            None,
            &c,
        )
        .unwrap();
        assert_eq!(
            first.modifiers.iter().map(|m| m.price_delta.0).collect::<Vec<_>>(),
            [50, -25, 0]
        );
        let again = parse_group(
            &Fields::from_pairs(&[
                ("name", "Milk"),
                ("min", "1"),
                ("max", "2"),
                ("options", "Whole\nSoy = 0.40"),
            ]),
            id,
            Some(&first),
            &c,
        )
        .unwrap();
        assert_eq!(again.modifiers[0].id, first.modifiers[2].id, "an option keeps its id");
        assert_ne!(again.modifiers[1].id, first.modifiers[0].id);
        for (min, max, options, says) in [
            ("2", "1", "A\nB", "at most"),
            ("0", "1", "", "1 to 50"),
            ("0", "1", "A\nA", "twice"),
            ("0", "1", "A = x", "price change"),
        ] {
            let e = parse_group(
                &Fields::from_pairs(&[
                    ("name", "G"),
                    ("min", min),
                    ("max", max),
                    ("options", options),
                ]),
                id,
                None,
                &c,
            )
            .unwrap_err();
            assert!(e.contains(says), "{options:?}: {e}");
        }
    }

    #[test]
    fn an_item_needs_a_price_in_the_catalog_currency_and_known_references() {
        let mut c = catalog();
        let id = ItemId(Uuid::now_v7());
        let item = parse_item(
            &Fields::from_pairs(&[
                ("name", "Latte"),
                ("price", "4.50"),
                ("category", COFFEE),
                ("barcodes", "0123, 456"),
                ("active", "1"),
            ]),
            id,
            &c,
        )
        .unwrap();
        assert_eq!((item.price, item.barcodes.len(), item.active), (Money(450), 2, true));
        assert!(
            parse_item(
                &Fields::from_pairs(&[("name", "Latte"), ("price", "4.505"), ("category", COFFEE)]),
                id,
                &c
            )
            .unwrap_err()
            .contains("Price")
        );
        assert!(
            parse_item(
                &Fields::from_pairs(&[
                    ("name", "Latte"),
                    ("price", "4"),
                    ("category", COFFEE),
                    ("groups", &Uuid::now_v7().to_string())
                ]),
                id,
                &c
            )
            .unwrap_err()
            .contains("modifier groups")
        );
        c.items.push(item);
        let other = ItemId(Uuid::now_v7());
        assert!(
            parse_item(
                &Fields::from_pairs(&[
                    ("name", "Mocha"),
                    ("price", "5"),
                    ("barcodes", "456"),
                    ("category", COFFEE)
                ]),
                other,
                &c
            )
            .unwrap_err()
            .contains("already")
        );
        c.currency = Err("set a location's currency first".into());
        assert!(
            parse_item(&Fields::from_pairs(&[("name", "Mocha"), ("price", "5")]), other, &c)
                .is_err_and(|e| e.contains("category") || e.contains("currency"))
        );
        assert!(
            parse_item(&Fields::from_pairs(&[("name", "Mocha"), ("price", "5")]), other, &c)
                .unwrap_err()
                .contains("currency")
        );
    }
}
