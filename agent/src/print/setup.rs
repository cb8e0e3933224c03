//! Printer set-ups: the printers and routing a device configuration names
//! ([`from_device_config`]), and the one-printer set-up the agent binary's `--printer` option
//! and the browser tests run (a single ESC/POS printer named `front` over TCP takes the
//! grill's and the fryer's tickets and the customer receipts), kept here so the binary and
//! its tests cannot drift apart.

use std::sync::Arc;

use thorbis_domain::device::{DeviceConfig, PrinterPurpose};
use thorbis_drivers::drawer::DrawerMonitorConfig;
use thorbis_drivers::profile::{PrinterProfile, ProfileError};
use thorbis_drivers::transport::{SerialConfig, TcpConfig, UsbLpConfig};

use super::policy::Timing;
use super::{Connector, PrintRouting, PrinterConfig};

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

/// Why a device configuration's printers cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A printer names a driver profile this build does not have.
    #[error("printer {printer:?}: {source}")]
    Profile {
        /// The printer.
        printer: String,
        /// Why the profile is missing.
        source: ProfileError,
    },
    /// A printer names a backup that is not one of this device's printers.
    #[error("printer {printer:?}: its backup {backup:?} is not a printer of this device")]
    UnknownBackup {
        /// The printer.
        printer: String,
        /// The backup it names.
        backup: String,
    },
}

/// The routing and the printers a device configuration names (the hub publishes it as
/// `device.configured`): kitchen printers take their station's tickets, the receipt printer
/// (the first, if several) takes receipts, each printer with its backup.
///
/// An address is a device path for printers on USB (`/dev/usb/lp*`) or serial (any other
/// `/dev/...`), and `host:port` over TCP otherwise.
pub fn from_device_config(
    config: &DeviceConfig,
) -> Result<(PrintRouting, Vec<PrinterConfig>), SetupError> {
    let mut routing = PrintRouting::default();
    let mut printers = Vec::with_capacity(config.printers.len());
    for p in &config.printers {
        match (p.purpose, &p.station) {
            (PrinterPurpose::Kitchen, Some(station)) => {
                routing.stations.entry(station.clone()).or_insert_with(|| p.name.clone());
            }
            (PrinterPurpose::Kitchen, None) => {}
            (PrinterPurpose::Receipt, _) => {
                routing.receipt_printer.get_or_insert_with(|| p.name.clone());
            }
        }
        if let Some(backup) = &p.backup
            && !config.printers.iter().any(|q| &q.name == backup)
        {
            return Err(SetupError::UnknownBackup {
                printer: p.name.clone(),
                backup: backup.clone(),
            });
        }
        let profile = PrinterProfile::builtin(p.profile.as_deref().unwrap_or(DEFAULT_PROFILE))
            .map_err(|source| SetupError::Profile { printer: p.name.clone(), source })?;
        printers.push(PrinterConfig {
            name: p.name.clone(),
            connector: connector(&p.address),
            profile,
            drawer: None,
            backup: p.backup.clone(),
            timing: Timing::default(),
            drawer_alert: DrawerMonitorConfig::default(),
        });
    }
    Ok((routing, printers))
}

/// The profile of a printer whose configuration names none.
const DEFAULT_PROFILE: &str = "epson-tm-t88";

/// How to reach the printer at `address`: a USB printer-class device (`/dev/usb/lp*`, or
/// the name the package's udev rules give one, `/dev/thorbis/printer-usb-*`), another
/// device as a serial port, anything else as `HOST:PORT` on raw TCP.
fn connector(address: &str) -> Arc<dyn Connector> {
    if address.starts_with("/dev/usb/lp") || address.starts_with("/dev/thorbis/printer-usb-") {
        Arc::new(UsbLpConfig::new(address))
    } else if address.starts_with("/dev/") {
        Arc::new(SerialConfig::new(address))
    } else {
        Arc::new(TcpConfig::new(address))
    }
}

#[cfg(test)]
mod tests {
    use thorbis_domain::device::PrinterAssignment;

    use super::*;

    fn printer(name: &str, purpose: PrinterPurpose, station: Option<&str>) -> PrinterAssignment {
        PrinterAssignment {
            name: name.into(),
            address: "127.0.0.1:9100".into(),
            purpose,
            station: station.map(Into::into),
            profile: None,
            backup: None,
        }
    }

    #[test]
    fn stations_receipts_and_backups_come_from_the_configuration() {
        let mut grill = printer("Grill", PrinterPurpose::Kitchen, Some("grill"));
        grill.backup = Some("Front".into());
        let mut front = printer("Front", PrinterPurpose::Receipt, None);
        front.address = "/dev/usb/lp0".into();
        let config = DeviceConfig {
            name: "POS 1".into(),
            printers: vec![grill, front],
            ..Default::default()
        };
        let (routing, printers) = from_device_config(&config).unwrap();
        assert_eq!(routing.stations["grill"], "Grill");
        assert_eq!(routing.receipt_printer.as_deref(), Some("Front"));
        assert_eq!(printers.len(), 2);
        assert_eq!(printers[0].backup.as_deref(), Some("Front"));
        assert!(format!("{:?}", printers[1].connector).contains("lp0"));
    }

    #[test]
    fn a_backup_must_be_a_printer_of_the_device() {
        let mut grill = printer("Grill", PrinterPurpose::Kitchen, Some("grill"));
        grill.backup = Some("Nowhere".into());
        let config =
            DeviceConfig { name: "POS 1".into(), printers: vec![grill], ..Default::default() };
        assert!(matches!(from_device_config(&config), Err(SetupError::UnknownBackup { .. })));
    }
}
