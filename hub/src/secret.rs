//! Secrets the hub keeps in files of its own (its cluster's password, the key-encryption
//! key of tenant signing keys): random hex, made on first use with mode 0600, and refused
//! when others may read them.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// The secret in `path` (hex), or `bytes` fresh random bytes written there as hex.
///
/// # Errors
/// The file cannot be read or written, the system's randomness failed, or the file may be
/// read by other users (`PermissionDenied`, with what to run).
pub fn load_or_make(path: &Path, bytes: usize) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(secret) if !secret.trim().is_empty() => {
            let mode = std::fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "{} may be read by other users (mode {:o}): run `chmod 600` on it",
                        path.display(),
                        mode & 0o777
                    ),
                ));
            }
            return Ok(secret.trim().to_owned());
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut random = vec![0; bytes];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random)
        .map_err(|_| std::io::Error::other("the system random number generator failed"))?;
    let secret = crate::identity::hex(&random);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_made_once_private_and_refused_once_shared() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let made = load_or_make(&path, 32).unwrap();
        assert_eq!(made.len(), 64);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(load_or_make(&path, 32).unwrap(), made);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = load_or_make(&path, 32).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(refused.to_string().contains("chmod 600"), "{refused}");
    }
}
