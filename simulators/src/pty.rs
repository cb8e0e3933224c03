//! Pseudo-terminals for the serial devices, through `serialport` (which owns the `unsafe`
//! `openpt`/`grantpt` calls, so this crate keeps `unsafe_code` denied).
//!
//! Both ends come back in raw mode: no echo, no CR/LF translation, so bytes cross exactly.
//! Pseudo-terminals are a Unix facility; elsewhere [`Pty::open`] returns an error and only
//! the TCP printer is available.

use serialport::SerialPort;

/// A master/slave pair: the simulator uses the master, the host opens [`Pty::path`].
pub(crate) struct Pty {
    pub master: Box<dyn SerialPort>,
    /// Kept open by the simulator so the master stays usable while no host has the slave
    /// open (Linux returns EIO on a master whose slave is closed).
    pub slave: Box<dyn SerialPort>,
    pub path: String,
}

impl std::fmt::Debug for Pty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pty").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Pty {
    #[cfg(unix)]
    pub fn open() -> Result<Pty, serialport::Error> {
        let (mut master, slave) = serialport::TTYPort::pair()?;
        let path = slave.name().ok_or_else(|| {
            serialport::Error::new(serialport::ErrorKind::Unknown, "pty without a name")
        })?;
        master.set_timeout(crate::server::POLL)?;
        Ok(Pty { master: Box::new(master), slave: Box::new(slave), path })
    }

    #[cfg(not(unix))]
    pub fn open() -> Result<Pty, serialport::Error> {
        Err(serialport::Error::new(
            serialport::ErrorKind::Unknown,
            "pseudo-terminals need a Unix system",
        ))
    }
}
