//! The workspace's binaries (`thorbis-agent`, `thorbis-hub`, `thorbis-sim`) for tests that
//! run real processes, taken from the target directory this test was built in
//! (`target/<profile>/`, beside `deps/`). `cargo test --workspace` builds every binary before
//! any test runs; a test run on its own needs `cargo build --bins` first (a nested build
//! could not take the target directory's lock while this test holds it).

use std::path::PathBuf;

use anyhow::{Context as _, Result, ensure};

/// The path of the workspace binary `name`.
pub fn binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().and_then(std::path::Path::parent).context("the target directory")?;
    let path = dir.join(name);
    ensure!(
        path.exists(),
        "{} is missing: run `cargo build --bins` (or the whole `cargo test --workspace`) first",
        path.display()
    );
    Ok(path)
}
