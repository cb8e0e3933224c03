//! The agent's data folder. It holds the store, and the store holds the device's private
//! key: whoever reads the folder can sign as the terminal. So the folder is the owner's
//! alone (mode 0700): a missing one is created so, and an existing one that others can
//! enter or read is refused with the command that fixes it, rather than silently changed
//! (someone chose those permissions; the operator should know they were wrong).

use std::path::{Path, PathBuf};

/// Why the data folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// The folder could not be created or inspected.
    #[error("data folder {path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The path exists and is not a folder.
    #[error("data folder {path} is not a directory")]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// Other users can enter or read the folder.
    #[error(
        "data folder {path} can be read by other users (mode {mode:04o}); it holds this \
         terminal's private key. Fix it with: chmod 700 {path}"
    )]
    Exposed {
        /// The folder.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// Makes sure `dir` exists and only its owner can use it (see the module docs).
pub fn prepare(dir: &Path) -> Result<(), DataDirError> {
    let io = |source| DataDirError::Io { path: dir.to_owned(), source };
    if !dir.exists() {
        create_private(dir).map_err(io)?;
    }
    let meta = std::fs::metadata(dir).map_err(io)?;
    if !meta.is_dir() {
        return Err(DataDirError::NotADirectory { path: dir.to_owned() });
    }
    match group_or_other_bits(&meta) {
        0 => Ok(()),
        _ => Err(DataDirError::Exposed { path: dir.to_owned(), mode: mode_of(&meta) }),
    }
}

/// Makes `file` readable and writable by its owner only (a store file and its key).
pub(crate) fn restrict_file(file: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

#[cfg(unix)]
fn create_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> u32 {
    0o700
}

fn group_or_other_bits(meta: &std::fs::Metadata) -> u32 {
    mode_of(meta) & 0o077
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_new_folder_is_private_and_an_exposed_one_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("a/b");
        prepare(&fresh).unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o700);
        prepare(&fresh).unwrap();

        std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o755)).unwrap();
        let refused = prepare(&fresh).unwrap_err();
        assert!(matches!(refused, DataDirError::Exposed { mode: 0o755, .. }), "{refused}");
        assert!(refused.to_string().contains("chmod 700"), "{refused}");

        let file = root.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(prepare(&file), Err(DataDirError::NotADirectory { .. })));
    }
}
