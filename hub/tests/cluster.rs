//! The hub's embedded cluster in a data folder only its owner can enter (mode 0700, as home
//! folders are). Run as root, Postgres runs as the `postgres` user, who cannot reach such a
//! folder: the cluster must live where that user can, found again from the same folder on
//! the next start, with its data.

use anyhow::{Context as _, Result, ensure};
use std::os::unix::fs::PermissionsExt as _;
use thorbis_hub::pg::{Durability, LocalCluster};

#[test]
fn a_cluster_in_a_private_folder_starts_and_keeps_its_data() -> Result<()> {
    let home = tempfile::tempdir()?;
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700))?;
    let requested = home.path().join("hub-postgres");

    let cluster = LocalCluster::start(&requested, Durability::Throwaway)?;
    let result = (|| -> Result<()> {
        cluster.psql("postgres", "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")?;
        cluster.stop()?;
        let again = LocalCluster::start(&requested, Durability::Throwaway)?;
        ensure!(again.dir() == cluster.dir(), "the same folder must find the same cluster");
        let kept = again.psql("postgres", "SELECT n FROM kept")?;
        again.stop()?;
        ensure!(kept.trim() == "7", "the data did not survive a restart: {kept:?}");
        Ok(())
    })();
    let _ = cluster.stop();
    if cluster.dir() != requested.canonicalize()? {
        // Relocated (run as root): the folder names the cluster, which is removed with it.
        let named = std::fs::read_to_string(requested.join("cluster-location"))
            .context("the cluster's location is recorded in the requested folder")?;
        ensure!(std::path::Path::new(named.trim()) == cluster.dir());
        std::fs::remove_dir_all(cluster.dir())?;
    }
    result
}

/// The embedded cluster trusts no local user: over TCP a role needs the cluster's
/// generated password, kept in a file only its owner can read; the Unix socket sits in a
/// folder only its owner can enter.
#[tokio::test]
async fn the_cluster_refuses_a_connection_without_its_secret() -> Result<()> {
    let home = tempfile::tempdir()?;
    let requested = home.path().join("hub-postgres");
    let cluster = tokio::task::spawn_blocking(move || {
        LocalCluster::start(&requested, Durability::Throwaway).map(|c| (c, requested))
    })
    .await??;
    let (cluster, requested) = cluster;
    let result = async {
        let mode = |p: &std::path::Path| -> Result<u32> {
            Ok(std::fs::metadata(p)?.permissions().mode() & 0o777)
        };
        ensure!(mode(cluster.dir())? == 0o700, "the socket folder is open to others");
        ensure!(mode(&cluster.dir().join("secret"))? == 0o600, "the secret is readable by others");
        for role in ["postgres", "thorbis_owner", "thorbis_app"] {
            let without =
                format!("host=127.0.0.1 port={} user={role} dbname=postgres", cluster.port());
            let refused = tokio_postgres::connect(&without, tokio_postgres::NoTls).await;
            ensure!(refused.is_err(), "{role} connected without the password");
            let wrong = format!("{without} password=guess");
            let refused = tokio_postgres::connect(&wrong, tokio_postgres::NoTls).await;
            ensure!(refused.is_err(), "{role} connected with a wrong password");
        }
        let (client, connection) =
            tokio_postgres::connect(&cluster.url("thorbis_app", "postgres"), tokio_postgres::NoTls)
                .await
                .context("the app role with the cluster's password")?;
        tokio::spawn(connection);
        ensure!(client.query_one("SELECT 1", &[]).await?.get::<_, i32>(0) == 1);
        Ok(())
    }
    .await;
    let _ = cluster.stop();
    if cluster.dir() != requested.canonicalize()? {
        std::fs::remove_dir_all(cluster.dir())?;
    }
    result
}
