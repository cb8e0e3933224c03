//! One desktop app per store. The first launch holds an exclusive lock on
//! `<data>/desktop.lock` for as long as it runs and listens on a loopback port written to
//! `<data>/desktop.port`; a second launch finds the lock taken, tells the first (over that
//! port) to bring its window to the front, and exits. Two agents on one store would each
//! think they own its log; the lock makes that impossible.
//!
//! A lock file rather than the session bus: terminals in kiosk mode often run without a
//! desktop session, and the lock is released by the kernel when the process dies, even by
//! `kill -9`, so a crash never leaves the terminal unable to start.

use std::fs::{File, TryLockError};
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

/// The request a second launch sends.
const FOCUS: &str = "focus";

/// Who we are on this store.
#[derive(Debug)]
pub enum Instance {
    /// The only app on this store: keep it alive as long as the app runs.
    First(First),
    /// Another app holds the store; it has been asked to come to the front.
    AlreadyRunning,
}

/// The running app's hold on its store.
#[derive(Debug)]
pub struct First {
    /// Held open for the lock; closed (and so unlocked) when the process ends.
    lock: File,
    listener: TcpListener,
}

impl First {
    /// Calls `focus` whenever a later launch asks for the window, on a thread of its own.
    pub fn on_focus_request(self, focus: impl Fn() + Send + 'static) {
        std::thread::spawn(move || {
            // The thread lives as long as the process, and keeps the lock with it.
            let _held = self.lock;
            for stream in self.listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut line = String::new();
                if BufReader::new(stream).read_line(&mut line).is_ok() && line.trim() == FOCUS {
                    focus();
                }
            }
        });
    }
}

/// Claims `data_dir` for this process, or asks its holder for the window.
pub fn claim(data_dir: &Path) -> std::io::Result<Instance> {
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join("desktop.lock"))?;
    match lock.try_lock() {
        Ok(()) => {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
            let port = listener.local_addr()?.port();
            std::fs::write(data_dir.join("desktop.port"), port.to_string())?;
            Ok(Instance::First(First { lock, listener }))
        }
        Err(TryLockError::WouldBlock) => {
            // The holder may still be starting: its port file can lag the lock a moment.
            for _ in 0..50 {
                if let Some(port) = std::fs::read_to_string(data_dir.join("desktop.port"))
                    .ok()
                    .and_then(|p| p.trim().parse::<u16>().ok())
                    && let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                {
                    let _ = writeln!(stream, "{FOCUS}");
                    return Ok(Instance::AlreadyRunning);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Ok(Instance::AlreadyRunning)
        }
        Err(TryLockError::Error(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn a_second_claim_asks_the_first_for_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let Instance::First(first) = claim(dir.path()).unwrap() else {
            panic!("the first claim must win");
        };
        let (tx, rx) = mpsc::channel();
        first.on_focus_request(move || tx.send(()).unwrap());
        assert!(matches!(claim(dir.path()).unwrap(), Instance::AlreadyRunning));
        rx.recv_timeout(Duration::from_secs(5)).expect("the first instance was asked");
        // Another store is another terminal.
        let other = tempfile::tempdir().unwrap();
        assert!(matches!(claim(other.path()).unwrap(), Instance::First(_)));
    }
}
