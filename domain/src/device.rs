//! The devices of a tenant, as the hub publishes them in its reference log.
//!
//! A terminal learns who its peers are from these records: which device ids belong to the
//! tenant, where each stands and what it does, the Ed25519 key its events are signed with,
//! whether it was revoked, and how the hub configured it (its name, its printers, the
//! kitchen stations it shows). Pulled and relayed events are verified against the keys
//! folded here, so the records are the terminal's offline copy of the hub's device table.
//!
//! The hub is the only writer: it appends `device.registered` when a device enrolls,
//! `device.revoked` when a manager revokes one, and `device.configured` when a manager
//! changes a device's configuration. Revocation is final: a later registration or
//! configuration of the same id does not undo it, whatever order the events arrive in.

use serde::{Deserialize, Serialize};
use thorbis_sync_protocol::PublicKey;
use uuid::Uuid;

use crate::catalog::Station;
use crate::events::DomainEvent;
use crate::fold::{Aggregate, EventMeta, Stamped, State, keep_first, keep_last};
use crate::money::Currency;

/// What a device is for: the role its credential names.
pub use thorbis_sync_protocol::DeviceRole;

/// A device enrolled: the facts of its credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRegistered {
    /// The device's id (also the device id of its event log).
    pub device_id: Uuid,
    /// The location it belongs to.
    pub location_id: Uuid,
    /// What it is for.
    pub role: DeviceRole,
    /// The key its events and requests are signed with.
    pub public_key: PublicKey,
    /// When its credential expires (milliseconds since the Unix epoch).
    pub credential_expires_at_ms: u64,
}

/// A device was revoked: its credential is no longer honoured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRevoked {
    /// The device.
    pub device_id: Uuid,
    /// When the hub revoked it (milliseconds since the Unix epoch).
    pub revoked_at_ms: u64,
}

/// What a receipt or kitchen printer is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterPurpose {
    /// Customer receipts (and the drawer attached to it).
    Receipt,
    /// Kitchen tickets for one station.
    Kitchen,
}

/// A printer a device prints to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterAssignment {
    /// The printer's name as staff see it ("Grill", "Front counter").
    pub name: String,
    /// How to reach it: `host:port` for TCP 9100, or a device path (`/dev/ttyUSB0`,
    /// `/dev/usb/lp0`).
    pub address: String,
    /// What it prints.
    pub purpose: PrinterPurpose,
    /// For a kitchen printer: the station whose tickets it prints.
    #[serde(default)]
    pub station: Option<Station>,
    /// The driver profile (`drivers/profiles/<name>.json`); the default profile if absent.
    #[serde(default)]
    pub profile: Option<String>,
    /// The name of another printer of this device that takes over its jobs when it fails.
    #[serde(default)]
    pub backup: Option<String>,
}

/// How the hub configured a device. Replaced as a whole by each `device.configured`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceConfig {
    /// The name shown on the device and in the console ("Bar POS", "Grill KDS").
    pub name: String,
    /// Its printers.
    #[serde(default)]
    pub printers: Vec<PrinterAssignment>,
    /// For a kitchen display: the stations it shows (empty: every station).
    #[serde(default)]
    pub stations: Vec<Station>,
    /// For a restaurant POS: the tables of its floor plan, in the order shown (empty: the
    /// terminal's default floor).
    #[serde(default)]
    pub tables: Vec<String>,
    /// The store's currency: what its new orders and drawers are opened in, and what
    /// amounts are shown in before an order has a line (absent: the terminal's default).
    #[serde(default)]
    pub currency: Option<Currency>,
}

impl DeviceConfig {
    /// Why this configuration cannot be published, if it cannot.
    #[must_use]
    pub fn problem(&self) -> Option<String> {
        let text = |s: &str| !s.trim().is_empty() && s.len() <= 200;
        if !text(&self.name) {
            return Some("name must be 1 to 200 characters".into());
        }
        if self.printers.len() > 32 || self.stations.len() > 64 || self.tables.len() > 200 {
            return Some("at most 32 printers, 64 stations and 200 tables per device".into());
        }
        if let Some(c) = self.currency
            && !c.is_valid()
        {
            return Some("currency: three upper-case letters and at most 4 decimals".into());
        }
        for (i, t) in self.tables.iter().enumerate() {
            // Twenty characters: what a check's table may be (the POS's new-check form).
            if t.trim().is_empty() || t.chars().count() > 20 || t.chars().any(char::is_control) {
                return Some(format!("table {i}: a table name is 1 to 20 printable characters"));
            }
            if self.tables[..i].contains(t) {
                return Some(format!("table {i}: the name {t:?} is used twice"));
            }
        }
        for (i, p) in self.printers.iter().enumerate() {
            if !text(&p.name) || !text(&p.address) {
                return Some(format!("printer {i}: name and address must be 1 to 200 characters"));
            }
            if self.printers[..i].iter().any(|q| q.name == p.name) {
                return Some(format!("printer {i}: the name {:?} is used twice", p.name));
            }
            if p.purpose == PrinterPurpose::Kitchen && p.station.is_none() {
                return Some(format!("printer {i}: a kitchen printer needs a station"));
            }
            if let Some(backup) = &p.backup
                && (backup == &p.name || !self.printers.iter().any(|q| &q.name == backup))
            {
                return Some(format!(
                    "printer {i}: backup {backup:?} is not another printer of this device"
                ));
            }
        }
        None
    }
}

/// A device was (re)configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceConfigured {
    /// The device.
    pub device_id: Uuid,
    /// Its whole configuration.
    pub config: DeviceConfig,
}

/// A device as folded from the hub's records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Its registration (the latest, should the hub ever publish one twice).
    pub registered: Option<Stamped<DeviceRegistered>>,
    /// Its revocation: the first one counts, and none can be undone.
    pub revoked: Option<Stamped<DeviceRevoked>>,
    /// Its latest configuration.
    pub config: Option<Stamped<DeviceConfig>>,
}

impl Device {
    /// Its registration, if the hub published one.
    #[must_use]
    pub fn registration(&self) -> Option<&DeviceRegistered> {
        self.registered.as_ref().map(|s| &s.value)
    }

    /// Whether it was revoked.
    #[must_use]
    pub fn is_revoked(&self) -> bool {
        self.revoked.is_some()
    }

    /// The key its events are signed with, if it is registered. Revoked devices keep
    /// theirs: the events they signed before revocation stay verifiable.
    #[must_use]
    pub fn public_key(&self) -> Option<PublicKey> {
        self.registration().map(|r| r.public_key)
    }

    /// Whether it may take part now: registered, not revoked, credential not expired at
    /// `now_ms`.
    #[must_use]
    pub fn is_trusted_at(&self, now_ms: u64) -> bool {
        !self.is_revoked()
            && self.registration().is_some_and(|r| r.credential_expires_at_ms > now_ms)
    }
}

impl Aggregate for Device {
    const KIND: &'static str = "device";

    fn apply(&mut self, _id: Uuid, meta: &EventMeta, event: &DomainEvent) {
        match event {
            DomainEvent::DeviceRegistered(e) => keep_last(&mut self.registered, meta, e),
            DomainEvent::DeviceRevoked(e) => keep_first(&mut self.revoked, meta, e),
            DomainEvent::DeviceConfigured(e) => keep_last(&mut self.config, meta, &e.config),
            _ => {}
        }
    }

    fn is_active(&self) -> bool {
        self.registered.is_some() && !self.is_revoked()
    }

    fn map(state: &mut State) -> &mut std::collections::BTreeMap<Uuid, Self> {
        &mut state.devices
    }

    fn map_ref(state: &State) -> &std::collections::BTreeMap<Uuid, Self> {
        &state.devices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printer(name: &str, purpose: PrinterPurpose, station: Option<&str>) -> PrinterAssignment {
        PrinterAssignment {
            name: name.into(),
            address: "10.0.0.5:9100".into(),
            purpose,
            station: station.map(Into::into),
            profile: None,
            backup: None,
        }
    }

    #[test]
    fn config_problems_are_named() {
        let mut config = DeviceConfig {
            name: "Bar POS".into(),
            printers: vec![printer("Front", PrinterPurpose::Receipt, None)],
            stations: vec![],
            tables: vec!["1".into(), "Patio 3".into()],
            currency: Some(Currency::EUR),
        };
        assert_eq!(config.problem(), None);
        config.currency = Some(Currency { code: *b"eu1", exponent: 2 });
        assert!(config.problem().unwrap().contains("currency"));
        config.currency = None;
        config.tables.push("1".into());
        assert!(config.problem().unwrap().contains("used twice"));
        config.tables[2] = "x".repeat(21);
        assert!(config.problem().unwrap().contains("1 to 20"));
        config.tables[2] = " ".into();
        assert!(config.problem().unwrap().contains("1 to 20"));
        config.tables.pop();
        assert_eq!(config.problem(), None);
        config.printers.push(printer("Grill", PrinterPurpose::Kitchen, None));
        assert!(config.problem().unwrap().contains("needs a station"));
        config.printers[1].station = Some("grill".into());
        config.printers[1].backup = Some("Nowhere".into());
        assert!(config.problem().unwrap().contains("not another printer"));
        config.printers[1].backup = Some("Front".into());
        assert_eq!(config.problem(), None);
        config.printers.push(printer("Front", PrinterPurpose::Receipt, None));
        assert!(config.problem().unwrap().contains("used twice"));
        config.name = " ".into();
        assert!(config.problem().unwrap().contains("name"));
    }
}
