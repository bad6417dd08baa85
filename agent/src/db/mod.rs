//! The agent's relational state (design.md §3): tenant directory,
//! accounts, audit, idempotency keys, events. sqlx with the `Any` driver,
//! so one set of queries and migrations serves SQLite (the embedded
//! default) and PostgreSQL (for several agents at scale). Queries use `$n`
//! placeholders, which both accept.
//!
//! Nothing here is the only copy of something the ledger must hold.

pub mod companies;
pub mod employees;
pub mod records;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;
use std::str::FromStr as _;

/// Errors of the database layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// Returned when the URL is not `sqlite://…` or `postgres://…`.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// Returned when a unique constraint refuses a row.
    #[error("already exists")]
    Conflict,
    /// Returned on any other database failure.
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Returned when migrations fail.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Result with [`DbError`].
pub type Result<T, E = DbError> = std::result::Result<T, E>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A connection pool with the schema migrated.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
}

impl Db {
    /// Connects to `url` (`sqlite://PATH` creates the file) and migrates.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        if !sqlite && !url.starts_with("postgres:") && !url.starts_with("postgresql:") {
            return Err(DbError::UnsupportedUrl(url.to_owned()));
        }
        let url = if sqlite && !url.contains("mode=") {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        } else {
            url.to_owned()
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 8 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // WAL lets readers run beside the writer; foreign keys
                        // are off by default in SQLite.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Db { pool })
    }

    /// The pool, for the query modules.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers: `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Maps a unique-constraint violation to [`DbError::Conflict`].
pub(crate) fn conflict_aware(e: sqlx::Error) -> DbError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => DbError::Conflict,
        _ => DbError::Sqlx(e),
    }
}
