//! The one-printer set-up the agent binary's `--printer` option and the browser tests run: a
//! single ESC/POS printer named `front` over TCP takes the grill's and the fryer's tickets and
//! the customer receipts. Kept here so the binary and its tests cannot drift apart.

use std::sync::Arc;

use thorbis_drivers::drawer::DrawerMonitorConfig;
use thorbis_drivers::profile::{PrinterProfile, ProfileError};
use thorbis_drivers::transport::TcpConfig;

use super::policy::Timing;
use super::{PrintRouting, PrinterConfig};

/// The printer's name in the routing and in the print queue.
pub const FRONT: &str = "front";

/// Routing for the one printer: the grill's and the fryer's tickets and receipts to [`FRONT`].
#[must_use]
pub fn front_routing() -> PrintRouting {
    PrintRouting {
        stations: ["grill", "fryer"].map(|s| (s.to_owned(), FRONT.to_owned())).into(),
        receipt_printer: Some(FRONT.into()),
    }
}

/// The printer [`FRONT`]: an Epson TM-T88 at `address` (host:port) over TCP, with no cash
/// drawer and no backup printer.
///
/// # Errors
/// The built-in profile is missing (a build without it).
pub fn front_printer(address: impl Into<String>) -> Result<PrinterConfig, ProfileError> {
    Ok(PrinterConfig {
        name: FRONT.into(),
        connector: Arc::new(TcpConfig::new(address)),
        profile: PrinterProfile::builtin("epson-tm-t88")?,
        drawer: None,
        backup: None,
        timing: Timing::default(),
        drawer_alert: DrawerMonitorConfig::default(),
    })
}
