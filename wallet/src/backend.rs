//! Where company stores live: one SQLite file or one PostgreSQL database per
//! company.
//!
//! askar opens one store per URL. A company gets its own store so that its
//! data is encrypted under its own key, can be backed up, moved or deleted
//! on its own, and so that one tenant's load does not lock another's file.
//!
//! - `sqlite://DIR[?synchronous=full|normal]`: company `acme` lives in
//!   `DIR/acme.db`, in WAL mode (askar's default).
//!   - `synchronous=full` (the default): a write is acknowledged once it is
//!     fsynced, so it survives power loss; concurrent writes share fsyncs
//!     (group commit, see `sqlite.rs`).
//!   - `synchronous=normal`: writes are acknowledged once committed, not
//!     fsynced. They survive a process crash; on power loss or an OS crash
//!     the last ones may be lost. The file is never corrupted.
//! - `postgres://user[:password]@host[:port]/PREFIX[?options]`: company
//!   `acme` lives in database `PREFIX_acme`, which askar creates (through
//!   the `postgres` maintenance database) when the store is provisioned and
//!   drops when it is removed. Query options are askar's
//!   (`max_connections`, `min_connections`, `connect_timeout`,
//!   `idle_timeout`) and apply to each company's pool: every open company
//!   holds its own pool, 10 connections at most by default.
//!   PostgreSQL names are at most 63 bytes; when `PREFIX_company` would be
//!   longer, the name keeps a prefix of the company id and appends `_` and
//!   16 hex digits of SHA-256 of the id (company ids have no `_`, so such a
//!   name never equals another company's plain name).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::names::CompanyId;

/// PostgreSQL's identifier limit (NAMEDATALEN - 1).
const PG_MAX_IDENT: usize = 63;
/// Longest database name prefix, leaving room for a company id.
const PG_MAX_PREFIX: usize = 40;
/// Hex digits of the hash suffix of a shortened database name.
const PG_HASH_HEX: usize = 16;

/// When a SQLite write is acknowledged (named after SQLite's `synchronous`
/// pragma, whose guarantees these match).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// Once fsynced: acknowledged writes survive power loss. Concurrent
    /// writes share fsyncs (group commit).
    #[default]
    Full,
    /// Once committed: acknowledged writes survive a process crash; power
    /// loss may drop the last ones (the WAL is fsynced at checkpoints only).
    Normal,
}

impl SqliteSync {
    fn as_str(self) -> &'static str {
        match self {
            SqliteSync::Full => "full",
            SqliteSync::Normal => "normal",
        }
    }
}

/// Where company stores are kept.
#[derive(Clone, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file per company in `dir`.
    Sqlite {
        /// Directory of the store files; created (mode 0700) on first use.
        dir: PathBuf,
        /// Commit durability.
        sync: SqliteSync,
    },
    /// One PostgreSQL database per company; `url`'s database name is the
    /// prefix of every company database.
    Postgres {
        /// `postgres://user[:password]@host[:port]/PREFIX[?options]`.
        url: String,
    },
}

impl FromStr for Backend {
    type Err = Error;

    /// Parses `sqlite://DIR[?synchronous=full|normal]` or
    /// `postgres://user@host:port/PREFIX[?options]` (`postgresql://` is
    /// accepted too).
    fn from_str(text: &str) -> Result<Backend> {
        if let Some(rest) = text.strip_prefix("sqlite://") {
            let (dir, query) = rest.split_once('?').unwrap_or((rest, ""));
            if dir.is_empty() || dir == ":memory:" {
                return Err(Error::Config("sqlite backend needs a directory: sqlite://DIR".into()));
            }
            let sync = match query {
                "" | "synchronous=full" => SqliteSync::Full,
                "synchronous=normal" => SqliteSync::Normal,
                other => {
                    return Err(Error::Config(format!(
                        "sqlite backend option {other:?} (the one option is synchronous=full|normal)"
                    )))
                }
            };
            sqlite_dir_text(Path::new(dir))?;
            return Ok(Backend::Sqlite { dir: PathBuf::from(dir), sync });
        }
        let rest = text.strip_prefix("postgres://").or_else(|| text.strip_prefix("postgresql://"));
        if let Some(rest) = rest {
            let url = format!("postgres://{rest}");
            PgUrl::parse(&url)?;
            return Ok(Backend::Postgres { url });
        }
        Err(Error::Config(format!(
            "unsupported wallet backend URL (expected sqlite:// or postgres://): {}",
            redact(text)
        )))
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Shows the URL with any password replaced by `***`.
impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Sqlite { dir, sync: SqliteSync::Full } => write!(f, "sqlite://{}", dir.display()),
            Backend::Sqlite { dir, sync } => write!(f, "sqlite://{}?synchronous={}", dir.display(), sync.as_str()),
            Backend::Postgres { url } => f.write_str(&redact(url)),
        }
    }
}

impl Backend {
    /// The askar store URL of `company`.
    pub(crate) fn store_url(&self, company: &CompanyId) -> Result<String> {
        match self {
            Backend::Sqlite { dir, sync } => {
                let dir = std::path::absolute(dir)
                    .map_err(|e| Error::Config(format!("sqlite directory {}: {e}", dir.display())))?;
                let file = dir.join(format!("{}.db", company.as_str()));
                // An absolute path gives `sqlite:///abs/dir/acme.db`, which
                // askar reads back as `/abs/dir/acme.db`.
                // With `Full` the wallet fsyncs the WAL itself (group commit),
                // so SQLite runs in NORMAL mode either way.
                let _ = sync;
                Ok(format!("sqlite://{}?synchronous=normal", sqlite_dir_text(&file)?))
            }
            Backend::Postgres { url } => {
                let pg = PgUrl::parse(url)?;
                let name = pg_database_name(pg.prefix, company.as_str());
                Ok(format!("postgres://{}/{}{}", pg.authority, name, pg.query))
            }
        }
    }

    /// For SQLite: the store's WAL file if writes must be fsynced before
    /// they are acknowledged (`Full`), or `None` (`Normal`). `None` for
    /// PostgreSQL, which is not a SQLite store at all.
    pub(crate) fn sqlite_wal(&self, company: &CompanyId) -> Option<Option<PathBuf>> {
        match self {
            Backend::Sqlite { dir, sync: SqliteSync::Full } => Some(Some(
                std::path::absolute(dir).unwrap_or_else(|_| dir.clone()).join(format!("{}.db-wal", company.as_str())),
            )),
            Backend::Sqlite { sync: SqliteSync::Normal, .. } => Some(None),
            Backend::Postgres { .. } => None,
        }
    }

    /// The SQLite store directory, if any.
    pub(crate) fn sqlite_dir(&self) -> Option<&Path> {
        match self {
            Backend::Sqlite { dir, .. } => Some(dir),
            Backend::Postgres { .. } => None,
        }
    }

    /// Prepares the backend for a new store: creates the SQLite directory.
    pub(crate) async fn prepare(&self) -> Result<()> {
        if let Backend::Sqlite { dir, .. } = self {
            let mut builder = tokio::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            builder.mode(0o700);
            builder.create(dir).await.map_err(|e| Error::Config(format!("creating {}: {e}", dir.display())))?;
        }
        Ok(())
    }

    /// Removes what askar leaves behind when it deletes a store: askar
    /// deletes the SQLite main file only, not its `-wal` and `-shm` files.
    pub(crate) async fn after_remove(&self, company: &CompanyId) -> Result<()> {
        if let Backend::Sqlite { dir, .. } = self {
            for suffix in ["db-wal", "db-shm"] {
                let path = dir.join(format!("{}.{suffix}", company.as_str()));
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::Backend(format!("removing {}: {e}", path.display()))),
                }
            }
        }
        Ok(())
    }
}

/// The path as UTF-8 text askar's URL parser reads back unchanged: askar
/// splits on `?`, `#` and `@` and percent-decodes, so those are refused.
fn sqlite_dir_text(path: &Path) -> Result<&str> {
    let text = path.to_str().ok_or_else(|| Error::Config(format!("sqlite path {} is not UTF-8", path.display())))?;
    if text.contains(['?', '#', '@', '%']) {
        return Err(Error::Config(format!("sqlite path {text} must not contain '?', '#', '@' or '%'")));
    }
    Ok(text)
}

/// The parts of a PostgreSQL backend URL.
struct PgUrl<'a> {
    /// `user[:password]@host[:port]`.
    authority: &'a str,
    /// The database name of the URL, used as a prefix.
    prefix: &'a str,
    /// `?options` or empty.
    query: &'a str,
}

impl<'a> PgUrl<'a> {
    fn parse(url: &'a str) -> Result<PgUrl<'a>> {
        let rest = url.strip_prefix("postgres://").ok_or_else(|| Error::Config("expected postgres:// URL".into()))?;
        let (main, query) = match rest.find('?') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (authority, prefix) = main.split_once('/').ok_or_else(|| {
            Error::Config(format!(
                "postgres URL {} needs a database name prefix: postgres://user@host/PREFIX",
                redact(url)
            ))
        })?;
        let ok = !prefix.is_empty()
            && prefix.len() <= PG_MAX_PREFIX
            && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if authority.is_empty() || !ok {
            return Err(Error::Config(format!(
                "postgres URL {}: database name prefix must match [A-Za-z0-9_-]{{1,{PG_MAX_PREFIX}}}",
                redact(url)
            )));
        }
        Ok(PgUrl { authority, prefix, query })
    }
}

/// `PREFIX_company`, shortened with a hash suffix past 63 bytes.
fn pg_database_name(prefix: &str, company: &str) -> String {
    let plain = format!("{prefix}_{company}");
    if plain.len() <= PG_MAX_IDENT {
        return plain;
    }
    let digest = hex::encode(Sha256::digest(company.as_bytes()));
    let keep = PG_MAX_IDENT - prefix.len() - 2 - PG_HASH_HEX;
    // Company ids are ASCII, so any byte offset is a char boundary.
    let head = company.get(..keep).unwrap_or(company);
    format!("{prefix}_{head}_{}", digest.get(..PG_HASH_HEX).unwrap_or(&digest))
}

/// The URL with the password, if any, replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest.get(..authority_end).and_then(|a| a.rfind('@')) {
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company(s: &str) -> CompanyId {
        CompanyId::parse(s).unwrap()
    }

    #[test]
    fn parses_sqlite_and_postgres() {
        let b: Backend = "sqlite:///var/lib/idelta/wallets".parse().unwrap();
        assert_eq!(b, Backend::Sqlite { dir: "/var/lib/idelta/wallets".into(), sync: SqliteSync::Full });
        assert_eq!(
            b.store_url(&company("acme")).unwrap(),
            "sqlite:///var/lib/idelta/wallets/acme.db?synchronous=normal"
        );
        let b: Backend = "sqlite://w?synchronous=normal".parse().unwrap();
        assert_eq!(b.to_string(), "sqlite://w?synchronous=normal");
        assert!(b.store_url(&company("acme")).unwrap().ends_with("/w/acme.db?synchronous=normal"));
        let b: Backend = "postgresql://idelta:s3cret@db:5432/wallets?max_connections=4".parse().unwrap();
        assert_eq!(
            b.store_url(&company("acme")).unwrap(),
            "postgres://idelta:s3cret@db:5432/wallets_acme?max_connections=4"
        );
        for bad in [
            "sqlite://",
            "mysql://x/y",
            "postgres://host",
            "postgres://host/",
            "postgres://h/a\"b",
            "sqlite://a?b",
            "sqlite://a?synchronous=off",
        ] {
            assert!(matches!(bad.parse::<Backend>(), Err(Error::Config(_))), "{bad}");
        }
    }

    #[test]
    fn relative_sqlite_dirs_become_absolute() {
        let b: Backend = "sqlite://data/wallets".parse().unwrap();
        let url = b.store_url(&company("acme")).unwrap();
        assert!(url.starts_with("sqlite:///") && url.ends_with("/data/wallets/acme.db?synchronous=normal"), "{url}");
    }

    #[test]
    fn display_and_debug_hide_the_password() {
        let b: Backend = "postgres://idelta:s3cret@db:5432/wallets".parse().unwrap();
        assert_eq!(b.to_string(), "postgres://idelta:***@db:5432/wallets");
        assert!(!format!("{b:?}").contains("s3cret"));
        assert!(!"mysql://u:s3cret@h/x".parse::<Backend>().unwrap_err().to_string().contains("s3cret"));
    }

    #[test]
    fn long_database_names_are_shortened_without_collisions() {
        let long = "a".repeat(64);
        let name = pg_database_name("idelta", &long);
        assert_eq!(name.len(), 63);
        assert_ne!(name, pg_database_name("idelta", &format!("{}b", "a".repeat(63))));
        assert_eq!(pg_database_name("idelta", "acme"), "idelta_acme");
        // A plain name never contains a second '_' after the prefix.
        assert_eq!(name.matches('_').count(), 2);
    }
}
