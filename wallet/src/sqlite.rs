//! How writes reach a SQLite store: one at a time, and durable by group
//! commit.
//!
//! **One writer at a time.** SQLite admits one writer; askar's other
//! connections wait in SQLite's busy handler, which sleeps and retries (1,
//! 2, 5, 10, … 100 ms). Under concurrent onboarding that sleeping, not the
//! disk, set the pace: fewer creations/s with 16 tasks than with one, p99
//! over 100 ms. Writers therefore queue on an async mutex per store and
//! hand the lock over without sleeping. Reads do not queue: WAL readers
//! never wait for the writer.
//!
//! **Group commit.** With `synchronous=full` SQLite fsyncs the WAL at every
//! commit, and askar needs two commits per sub-wallet (it creates a profile
//! in a statement of its own), so durability cost two fsyncs per sub-wallet
//! and capped a store near 1,000 creations/s on this class of disk. Instead
//! the store runs with `synchronous=normal` (commits are appended to the
//! WAL but not fsynced) and this module fsyncs the WAL file itself before a
//! write is acknowledged, one fsync for every write committed before it
//! started: writers that commit while an fsync is running share the next
//! one. The guarantee is SQLite FULL's, an acknowledged write survives power
//! loss, at a fraction of the fsyncs. Two differences: a write is visible to
//! readers a moment before it is durable (as between commit and fsync in
//! any group commit), and durability rests on fsyncing `<store>.db-wal`,
//! which holds every commit not yet checkpointed; SQLite fsyncs the WAL
//! before a checkpoint and the database after it in NORMAL mode, so a commit
//! no longer in the WAL file is already durable in the database.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Write queue and group commit of one SQLite store.
pub(crate) struct SqliteWrites {
    gate: tokio::sync::Mutex<()>,
    /// `None` with `synchronous=normal`: no fsync before acknowledging.
    commit: Option<GroupCommit>,
}

impl SqliteWrites {
    pub(crate) fn new(wal: Option<PathBuf>) -> SqliteWrites {
        SqliteWrites { gate: tokio::sync::Mutex::new(()), commit: wal.map(GroupCommit::new) }
    }

    /// Waits for this store's turn to write.
    pub(crate) async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.gate.lock().await
    }

    /// Returns once everything this caller committed is on disk.
    pub(crate) async fn durable(&self) -> Result<()> {
        match &self.commit {
            Some(commit) => commit.sync().await,
            None => Ok(()),
        }
    }
}

/// Shares one fsync of the WAL among all writes committed before it began.
struct GroupCommit {
    wal: PathBuf,
    /// Tickets handed out; a writer takes one after its commit returned.
    issued: AtomicU64,
    /// The highest ticket known durable; held while an fsync runs.
    synced: tokio::sync::Mutex<u64>,
}

impl GroupCommit {
    fn new(wal: PathBuf) -> GroupCommit {
        GroupCommit { wal, issued: AtomicU64::new(0), synced: tokio::sync::Mutex::new(0) }
    }

    async fn sync(&self) -> Result<()> {
        let ticket = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = self.synced.lock().await;
        if *synced >= ticket {
            // An fsync that began after our commit has completed.
            return Ok(());
        }
        // Every ticket issued so far belongs to a commit that returned
        // before it was taken, so this fsync covers all of them.
        let upto = self.issued.load(Ordering::SeqCst);
        let wal = self.wal.clone();
        tokio::task::spawn_blocking(move || fsync_wal(&wal))
            .await
            .map_err(|e| Error::Backend(format!("fsync task: {e}")))??;
        *synced = upto;
        Ok(())
    }
}

/// fsyncs the WAL file. Opened anew each time: SQLite deletes and recreates
/// it when the last connection closes, and an old descriptor would sync a
/// deleted file. A missing WAL holds nothing: SQLite checkpointed it into the
/// database, which it fsynced.
fn fsync_wal(wal: &std::path::Path) -> Result<()> {
    match std::fs::File::open(wal) {
        Ok(file) => file.sync_data().map_err(|e| Error::Backend(format!("fsync {}: {e}", wal.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Backend(format!("opening {}: {e}", wal.display()))),
    }
}

/// fsyncs a directory, so that files created in it survive power loss.
pub(crate) async fn fsync_dir(dir: PathBuf) -> Result<()> {
    tokio::task::spawn_blocking(move || {
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::Backend(format!("fsync {}: {e}", dir.display())))
    })
    .await
    .map_err(|e| Error::Backend(format!("fsync task: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_share_fsyncs() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("x.db-wal");
        std::fs::write(&wal, b"frames").unwrap();
        let commit = Arc::new(GroupCommit::new(wal));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let commit = commit.clone();
                tokio::spawn(async move { commit.sync().await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(*commit.synced.lock().await, 64);
        // A missing WAL is not an error.
        let missing = GroupCommit::new(dir.path().join("none.db-wal"));
        missing.sync().await.unwrap();
    }
}
