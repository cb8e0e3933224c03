//! The device's blobs: photos, drawn signatures and files its work orders name, kept as
//! files beside the store (`<store file>-blobs/<blob id>`), each named by the SHA-256 of
//! its bytes ([`BlobId`]).
//!
//! * **Durable.** A blob is written to a temporary file, flushed, renamed into place and
//!   the folder flushed, before the change that names it is committed: a committed
//!   attachment never points at a blob that a crash lost.
//! * **Verified.** Bytes are kept under a name only if they hash to it; a kept file that no
//!   longer does (a damaged disk) is removed when read and fetched again.
//! * **Resumable.** A blob coming from the hub grows in `partial/<blob id>` chunk by chunk
//!   (each appended at the offset the file has reached), so a download cut off by a lost
//!   connection or a restart goes on from where it stopped.
//!
//! The folder is the owner's alone (0700), like the data folder.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use thorbis_sync_protocol::BlobId;

/// Writes started by this process, naming their temporary files.
static WRITES: AtomicU64 = AtomicU64::new(0);

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The file system failed.
    #[error("blob store {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A chunk arrived for another offset than the partial file has reached.
    #[error("blob {id}: a chunk for offset {offset} arrived with {have} bytes held")]
    OutOfOrder {
        /// The blob.
        id: BlobId,
        /// The chunk's offset.
        offset: u64,
        /// What the partial file holds.
        have: u64,
    },
    /// The finished bytes do not hash to the blob's name: they were dropped.
    #[error("blob {0}: the bytes received do not match its hash; they were dropped")]
    Mismatch(BlobId),
}

/// The blob folder of one store. Cheap to clone; every method does its own IO, so call it
/// outside the store's lock.
#[derive(Clone, Debug)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    /// The blob folder of the store file at `store_path`.
    #[must_use]
    pub fn beside(store_path: &Path) -> Self {
        let mut name = store_path.file_name().unwrap_or_default().to_owned();
        name.push("-blobs");
        Self { dir: store_path.with_file_name(name) }
    }

    /// The folder.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, id: BlobId) -> PathBuf {
        self.dir.join(id.to_string())
    }

    fn partial(&self, id: BlobId) -> PathBuf {
        self.dir.join("partial").join(id.to_string())
    }

    fn io(path: &Path) -> impl FnOnce(io::Error) -> BlobError + '_ {
        move |source| BlobError::Io { path: path.to_owned(), source }
    }

    fn ensure_dirs(&self) -> Result<(), BlobError> {
        let partial = self.dir.join("partial");
        if !partial.is_dir() {
            create_private(&partial).map_err(Self::io(&partial))?;
        }
        Ok(())
    }

    /// Keeps `bytes` durably; their id. Keeping bytes already held (and whole) does
    /// nothing; a damaged copy is replaced.
    pub fn put(&self, bytes: &[u8]) -> Result<BlobId, BlobError> {
        let id = BlobId::of(bytes);
        if self.get(id)?.is_some() {
            return Ok(id);
        }
        self.ensure_dirs()?;
        // A name of its own per write: two writes of the same bytes at once (a double tap)
        // never share a temporary file.
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join(format!("{id}.{}.{n}.tmp", std::process::id()));
        write_synced(&tmp, bytes).map_err(Self::io(&tmp))?;
        self.settle(&tmp, id)?;
        Ok(id)
    }

    /// Renames a complete, flushed file into place and flushes the folder.
    fn settle(&self, from: &Path, id: BlobId) -> Result<(), BlobError> {
        let to = self.file(id);
        fs::rename(from, &to).map_err(Self::io(&to))?;
        sync_dir(&self.dir).map_err(Self::io(&self.dir))
    }

    /// Whether the blob is held (by its file's presence; [`Self::get`] verifies).
    #[must_use]
    pub fn has(&self, id: BlobId) -> bool {
        self.file(id).is_file()
    }

    /// The blob's bytes, verified against its id; `None` if it is not held, or if its file
    /// no longer matches (the file is then removed, so the blob is fetched again).
    pub fn get(&self, id: BlobId) -> Result<Option<Vec<u8>>, BlobError> {
        let path = self.file(id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Self::io(&path)(e)),
        };
        if id.matches(&bytes) {
            return Ok(Some(bytes));
        }
        tracing::warn!(%id, "a kept blob no longer matches its hash; removed to fetch it again");
        fs::remove_file(&path).map_err(Self::io(&path))?;
        Ok(None)
    }

    /// How many bytes of `id` a download has kept so far.
    #[must_use]
    pub fn partial_len(&self, id: BlobId) -> u64 {
        fs::metadata(self.partial(id)).map_or(0, |m| m.len())
    }

    /// Appends a downloaded `chunk` at `offset`, which must be where the partial file ends.
    /// The new length.
    pub fn append_partial(&self, id: BlobId, offset: u64, chunk: &[u8]) -> Result<u64, BlobError> {
        self.ensure_dirs()?;
        let path = self.partial(id);
        let have = self.partial_len(id);
        if have != offset {
            return Err(BlobError::OutOfOrder { id, offset, have });
        }
        let mut file =
            OpenOptions::new().create(true).append(true).open(&path).map_err(Self::io(&path))?;
        file.write_all(chunk).map_err(Self::io(&path))?;
        file.sync_data().map_err(Self::io(&path))?;
        Ok(have + chunk.len() as u64)
    }

    /// Checks a complete download against its id and keeps it; on a mismatch the partial
    /// file is dropped (the download starts over) and [`BlobError::Mismatch`] returned.
    pub fn finish_partial(&self, id: BlobId) -> Result<(), BlobError> {
        let path = self.partial(id);
        let bytes = fs::read(&path).map_err(Self::io(&path))?;
        if !id.matches(&bytes) {
            fs::remove_file(&path).map_err(Self::io(&path))?;
            return Err(BlobError::Mismatch(id));
        }
        self.settle(&path, id)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(unix)]
fn create_private(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::beside(&dir.path().join("agent.db"));
        (dir, blobs)
    }

    #[test]
    fn a_blob_is_kept_once_under_its_hash_beside_the_store() {
        let (dir, blobs) = store();
        let id = blobs.put(b"photo bytes").unwrap();
        assert_eq!(id, BlobId::of(b"photo bytes"));
        assert_eq!(blobs.put(b"photo bytes").unwrap(), id);
        assert_eq!(blobs.dir(), dir.path().join("agent.db-blobs"));
        assert_eq!(blobs.get(id).unwrap().as_deref(), Some(&b"photo bytes"[..]));
        assert_eq!(blobs.get(BlobId::of(b"other")).unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(blobs.dir()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
    }

    #[test]
    fn a_damaged_blob_is_dropped_when_read() {
        let (_dir, blobs) = store();
        let id = blobs.put(b"signature").unwrap();
        fs::write(blobs.file(id), b"signaturX").unwrap();
        assert_eq!(blobs.get(id).unwrap(), None);
        assert!(!blobs.has(id), "fetched again on the next round");
    }

    #[test]
    fn a_download_resumes_at_its_offset_and_is_kept_only_if_it_matches() {
        let (_dir, blobs) = store();
        let bytes = b"0123456789".repeat(10);
        let id = BlobId::of(&bytes);
        assert_eq!(blobs.append_partial(id, 0, &bytes[..40]).unwrap(), 40);
        // A chunk for the wrong offset (a stale answer) is refused, the file untouched.
        assert!(matches!(
            blobs.append_partial(id, 10, &bytes[10..20]),
            Err(BlobError::OutOfOrder { have: 40, .. })
        ));
        assert_eq!(blobs.partial_len(id), 40);
        assert_eq!(blobs.append_partial(id, 40, &bytes[40..]).unwrap(), 100);
        blobs.finish_partial(id).unwrap();
        assert_eq!(blobs.get(id).unwrap(), Some(bytes.clone()));

        let forged = BlobId::of(b"something else");
        blobs.append_partial(forged, 0, &bytes).unwrap();
        assert!(matches!(blobs.finish_partial(forged), Err(BlobError::Mismatch(_))));
        assert!(!blobs.has(forged));
        assert_eq!(blobs.partial_len(forged), 0, "the next try starts over");
    }
}
