//! Storage conformance suite: every case runs against SQLite in both
//! durability modes (a fresh temp directory) and PostgreSQL (fresh databases
//! under a random prefix), in the manner of askar's own
//! `askar-storage/tests/backends.rs`.
//!
//! PostgreSQL: `IDELTA_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) names a server and an
//! existing database to administer from; each test provisions its company
//! databases as `<random prefix>_<company>` and drops them afterwards. If
//! the server does not answer, the PostgreSQL cases print a notice and
//! pass, unless `IDELTA_REQUIRE_POSTGRES` is set, when they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use idelta_types::PublicKey;
use idelta_wallet::{
    Backend, CredentialFilter, CredentialFormat, Error, HeldCredential, Holder, KeyType, MasterKey, Signer, SqliteSync,
    Wallets, DID_CATEGORY,
};
use rand::RngCore;
use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// One backend instance for one test.
struct Env {
    backend: Backend,
    store: StoreLocation,
}

enum StoreLocation {
    Sqlite { dir: tempfile::TempDir },
    Postgres { admin_url: String, prefix: String },
}

impl Env {
    fn sqlite(sync: SqliteSync) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let backend = Backend::Sqlite { dir: dir.path().join("wallets"), sync };
        Env { backend, store: StoreLocation::Sqlite { dir } }
    }

    /// `None` when PostgreSQL is not available and not required.
    async fn postgres() -> Option<Env> {
        let admin_url = std::env::var("IDELTA_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
        let reachable = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin_url)).await;
        match reachable {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
            }
            failure => {
                let why = match failure {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_owned(),
                };
                if std::env::var_os("IDELTA_REQUIRE_POSTGRES").is_some() {
                    panic!("PostgreSQL required (IDELTA_REQUIRE_POSTGRES) but {admin_url} does not answer: {why}");
                }
                eprintln!(
                    "notice: skipping PostgreSQL case, {admin_url} does not answer ({why}); set IDELTA_TEST_POSTGRES"
                );
                return None;
            }
        }
        let mut random = [0u8; 5];
        rand::thread_rng().fill_bytes(&mut random);
        let prefix = format!("idtw_{}", hex_lower(&random));
        let (head, query) = match admin_url.split_once('?') {
            Some((h, q)) => (h, format!("?{q}")),
            None => (admin_url.as_str(), String::new()),
        };
        let authority = head.rsplit_once('/').map(|(a, _)| a).unwrap_or(head);
        let url = format!("{authority}/{prefix}{query}");
        let backend: Backend = url.parse().unwrap();
        Some(Env { backend, store: StoreLocation::Postgres { admin_url, prefix } })
    }

    fn wallets(&self, master: &MasterKey) -> Wallets {
        Wallets::new(self.backend.clone(), master.clone())
    }

    /// Puts company `from`'s store where company `to`'s belongs, as an
    /// operator mistake or an attacker with file access would. Both must be
    /// closed.
    async fn copy_store(&self, from: &str, to: &str) {
        match &self.store {
            StoreLocation::Sqlite { dir } => {
                let dir = dir.path().join("wallets");
                for suffix in ["db", "db-wal"] {
                    let _ = std::fs::remove_file(dir.join(format!("{to}.{suffix}")));
                    let source = dir.join(format!("{from}.{suffix}"));
                    if source.exists() {
                        std::fs::copy(source, dir.join(format!("{to}.{suffix}"))).unwrap();
                    }
                }
                let _ = std::fs::remove_file(dir.join(format!("{to}.db-shm")));
            }
            StoreLocation::Postgres { admin_url, prefix } => {
                let mut conn = PgConnection::connect(admin_url).await.unwrap();
                conn.execute(format!(r#"DROP DATABASE IF EXISTS "{prefix}_{to}" WITH (FORCE)"#).as_str())
                    .await
                    .unwrap();
                conn.execute(format!(r#"CREATE DATABASE "{prefix}_{to}" TEMPLATE "{prefix}_{from}""#).as_str())
                    .await
                    .unwrap();
                conn.close().await.unwrap();
            }
        }
    }
}

impl Drop for Env {
    /// Drops this test's PostgreSQL databases, also when the test failed.
    fn drop(&mut self) {
        let StoreLocation::Postgres { admin_url, prefix } = &self.store else { return };
        let (admin_url, prefix) = (admin_url.clone(), prefix.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on:
        // clean up from a thread with a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let mut conn = PgConnection::connect(&admin_url).await.unwrap();
                let names: Vec<(String,)> = sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE $1")
                    .bind(format!("{prefix}\\_%"))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                for (name,) in names {
                    conn.execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str()).await.unwrap();
                }
                let _ = conn.close().await;
            });
        });
        let _ = cleanup.join();
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn ed25519(public: &PublicKey) -> ed25519_dalek::VerifyingKey {
    match public {
        PublicKey::Ed25519(key) => *key,
        other => panic!("expected an Ed25519 key, got {other:?}"),
    }
}

/// Instantiates every case once per backend.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        /// SQLite, acknowledging writes once fsynced (group commit).
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let env = super::Env::sqlite(super::SqliteSync::Full);
                    super::$case(&env).await;
                }
            )*
        }
        /// SQLite, acknowledging writes once committed.
        mod sqlite_normal {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let env = super::Env::sqlite(super::SqliteSync::Normal);
                    super::$case(&env).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(env) = super::Env::postgres().await else { return };
                    super::$case(&env).await;
                }
            )*
        }
    };
}

conformance!(
    company_wallet_lifecycle,
    sub_wallet_lifecycle,
    keys_sign_and_verify_per_holder,
    sub_wallets_and_company_are_isolated,
    store_key_is_bound_to_the_company,
    wrong_master_key_cannot_open,
    records_with_tag_queries,
    restart_keeps_everything,
    concurrent_sub_wallet_creation,
    held_credentials,
    bbs_keys_lend_their_secret_only_to_sign,
);

async fn company_wallet_lifecycle(env: &Env) {
    let wallets = env.wallets(&MasterKey::generate());
    let acme = wallets.create("acme").await.unwrap();
    assert_eq!(acme.company(), "acme");
    assert!(matches!(wallets.create("acme").await, Err(Error::AlreadyExists(_))));
    // open returns the cached, shared handle.
    let again = wallets.open("acme").await.unwrap();
    again.create_sub_wallet("alice").await.unwrap();
    assert_eq!(acme.sub_wallets().await.unwrap(), ["alice"]);

    assert!(matches!(wallets.open("ghost").await, Err(Error::NotFound(_))));
    for bad in ["Acme", "acme_1", "", "../acme", "a/b"] {
        assert!(matches!(wallets.create(bad).await, Err(Error::InvalidName(_))), "{bad}");
        assert!(matches!(wallets.open(bad).await, Err(Error::InvalidName(_))), "{bad}");
    }

    wallets.remove("acme").await.unwrap();
    assert!(matches!(wallets.open("acme").await, Err(Error::NotFound(_))));
    assert!(matches!(wallets.remove("acme").await, Err(Error::NotFound(_))));
    // A handle kept from before the removal no longer works.
    assert!(acme.sub_wallets().await.is_err());

    // The name is free again, and the new wallet starts empty.
    let fresh = wallets.create("acme").await.unwrap();
    assert!(fresh.sub_wallets().await.unwrap().is_empty());
    wallets.remove("acme").await.unwrap();
}

async fn sub_wallet_lifecycle(env: &Env) {
    let wallets = env.wallets(&MasterKey::generate());
    let acme = wallets.create("acme").await.unwrap();
    acme.create_sub_wallet("bob").await.unwrap();
    acme.create_sub_wallet("alice").await.unwrap();
    // A sub-wallet may be called "company" without reaching the company's profile.
    acme.create_sub_wallet("company").await.unwrap();
    assert!(matches!(acme.create_sub_wallet("alice").await, Err(Error::AlreadyExists(_))));
    assert!(matches!(acme.create_sub_wallet("no spaces").await, Err(Error::InvalidName(_))));
    assert!(matches!(acme.create_sub_wallet_with_did_key("alice").await, Err(Error::AlreadyExists(_))));
    assert!(matches!(acme.create_sub_wallet_with_did_key("no spaces").await, Err(Error::InvalidName(_))));
    let (did, _) = acme.create_sub_wallet_with_did_key("device-1").await.unwrap();
    let found = acme.find_records(Holder::Sub("device-1"), DID_CATEGORY, &[("method", "key")], None).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, did);
    acme.remove_sub_wallet("device-1").await.unwrap();
    assert_eq!(acme.sub_wallets().await.unwrap(), ["alice", "bob", "company"]);

    let key = acme.generate_key(Holder::Sub("alice"), KeyType::Ed25519, &[]).await.unwrap();
    acme.put_record(Holder::Sub("alice"), "credential", "c1", &json!({"a": 1}), &[]).await.unwrap();

    acme.remove_sub_wallet("alice").await.unwrap();
    assert!(matches!(acme.remove_sub_wallet("alice").await, Err(Error::NotFound(_))));
    assert!(matches!(acme.remove_sub_wallet("nobody").await, Err(Error::NotFound(_))));
    assert_eq!(acme.sub_wallets().await.unwrap(), ["bob", "company"]);

    // Everything of a removed sub-wallet is unreachable...
    let alice = Holder::Sub("alice");
    assert!(matches!(acme.sign(alice, &key.id, b"m").await, Err(Error::NotFound(_))));
    assert!(matches!(acme.get_record(alice, "credential", "c1").await, Err(Error::NotFound(_))));
    assert!(matches!(acme.generate_key(alice, KeyType::Ed25519, &[]).await, Err(Error::NotFound(_))));
    // ...and does not come back with a new sub-wallet of the same name.
    acme.create_sub_wallet("alice").await.unwrap();
    assert!(acme.key_ids(alice).await.unwrap().is_empty());
    assert!(matches!(acme.sign(alice, &key.id, b"m").await, Err(Error::NotFound(_))));
    assert_eq!(acme.get_record(alice, "credential", "c1").await.unwrap(), None);
    wallets.remove("acme").await.unwrap();
}

async fn keys_sign_and_verify_per_holder(env: &Env) {
    let wallets = env.wallets(&MasterKey::generate());
    let acme = wallets.create("acme").await.unwrap();
    acme.create_sub_wallet("alice").await.unwrap();
    for holder in [Holder::Company, Holder::Sub("alice")] {
        let key = acme.generate_key(holder, KeyType::Ed25519, &[("purpose", "test")]).await.unwrap();
        assert!(key.id.starts_with("z6Mk"), "{}", key.id);
        assert_eq!(key.id, key.public.to_multibase());
        assert_eq!(acme.public_key(holder, &key.id).await.unwrap(), key.public);

        let message = b"canonical bytes of a transaction";
        let signature = acme.sign(holder, &key.id, message).await.unwrap();
        assert_eq!(signature.len(), 64);
        let verifying = ed25519(&key.public);
        let sig = ed25519_dalek::Signature::from_slice(&signature).unwrap();
        verifying.verify_strict(message, &sig).unwrap();
        assert!(verifying.verify_strict(b"tampered", &sig).is_err());
        key.public.verify(message, &signature).unwrap();

        // The Signer gives the same key and verifiable signatures.
        let signer = acme.signer(holder, &key.id).await.unwrap();
        assert_eq!(signer.key_id(), key.id);
        assert_eq!(signer.public_key(), &key.public);
        assert_eq!(format!("{signer:?}"), format!("WalletSigner {{ key_id: {:?}, .. }}", key.id));
        let shared: std::sync::Arc<dyn Signer> = std::sync::Arc::new(signer);
        let signature = shared.sign(b"another").await.unwrap();
        key.public.verify(b"another", &signature).unwrap();

        assert!(matches!(acme.sign(holder, "z6MkUnknown", message).await, Err(Error::NotFound(_))));
        assert!(matches!(acme.signer(holder, "z6MkUnknown").await, Err(Error::NotFound(_))));

        let (did, did_key) = acme.create_did_key(holder).await.unwrap();
        assert_eq!(did, format!("did:key:{}", did_key.id));
        let record = acme.get_record(holder, DID_CATEGORY, &did).await.unwrap().unwrap();
        assert_eq!(record.value["did"], did.as_str());
        assert!(record.tags.contains(&("method".to_owned(), "key".to_owned())));
        let found = acme.find_records(holder, DID_CATEGORY, &[("method", "key")], None).await.unwrap();
        assert_eq!(found.len(), 1);
        let signature = acme.sign(holder, &did_key.id, b"vp").await.unwrap();
        did_key.public.verify(b"vp", &signature).unwrap();
        let mut expected = vec![key.id.clone(), did_key.id.clone()];
        expected.sort();
        assert_eq!(acme.key_ids(holder).await.unwrap(), expected);
    }
    // A sub-wallet that does not exist holds nothing and accepts nothing.
    assert!(matches!(acme.generate_key(Holder::Sub("ghost"), KeyType::Ed25519, &[]).await, Err(Error::NotFound(_))));
    assert!(matches!(acme.create_did_key(Holder::Sub("ghost")).await, Err(Error::NotFound(_))));
    wallets.remove("acme").await.unwrap();
}

async fn sub_wallets_and_company_are_isolated(env: &Env) {
    let wallets = env.wallets(&MasterKey::generate());
    let acme = wallets.create("acme").await.unwrap();
    acme.create_sub_wallet("alice").await.unwrap();
    acme.create_sub_wallet("bob").await.unwrap();
    let (alice, bob, company) = (Holder::Sub("alice"), Holder::Sub("bob"), Holder::Company);

    let alice_key = acme.generate_key(alice, KeyType::Ed25519, &[]).await.unwrap();
    let (alice_did, _) = acme.create_did_key(alice).await.unwrap();
    acme.put_record(alice, "credential", "shared-id", &json!({"owner": "alice"}), &[("type", "Employee")])
        .await
        .unwrap();
    let company_key = acme.generate_key(company, KeyType::Ed25519, &[]).await.unwrap();
    acme.put_record(company, "credential", "company-only", &json!({"owner": "acme"}), &[("type", "Employee")])
        .await
        .unwrap();

    for other in [bob, company] {
        assert!(matches!(acme.public_key(other, &alice_key.id).await, Err(Error::NotFound(_))), "{other}");
        assert!(matches!(acme.sign(other, &alice_key.id, b"m").await, Err(Error::NotFound(_))), "{other}");
        assert!(matches!(acme.signer(other, &alice_key.id).await, Err(Error::NotFound(_))), "{other}");
        assert_eq!(acme.get_record(other, "credential", "shared-id").await.unwrap(), None, "{other}");
        assert_eq!(acme.get_record(other, DID_CATEGORY, &alice_did).await.unwrap(), None, "{other}");
        assert!(matches!(acme.delete_record(other, "credential", "shared-id").await, Err(Error::NotFound(_))));
    }
    assert!(acme.find_records(bob, "credential", &[("type", "Employee")], None).await.unwrap().is_empty());
    assert!(acme.find_records(bob, DID_CATEGORY, &[], None).await.unwrap().is_empty());
    assert!(acme.key_ids(bob).await.unwrap().is_empty());
    // The company profile sees only its own.
    let company_found = acme.find_records(company, "credential", &[("type", "Employee")], None).await.unwrap();
    assert_eq!(company_found.len(), 1);
    assert_eq!(company_found[0].id, "company-only");
    assert_eq!(acme.key_ids(company).await.unwrap(), std::slice::from_ref(&company_key.id));
    assert!(matches!(acme.sign(alice, &company_key.id, b"m").await, Err(Error::NotFound(_))));

    // The same record id in two holders is two records.
    acme.put_record(bob, "credential", "shared-id", &json!({"owner": "bob"}), &[]).await.unwrap();
    assert_eq!(acme.get_record(alice, "credential", "shared-id").await.unwrap().unwrap().value["owner"], "alice");
    assert_eq!(acme.get_record(bob, "credential", "shared-id").await.unwrap().unwrap().value["owner"], "bob");

    // Another company does not see this company's sub-wallets at all.
    let globex = wallets.create("globex").await.unwrap();
    assert!(globex.sub_wallets().await.unwrap().is_empty());
    assert!(matches!(globex.sign(alice, &alice_key.id, b"m").await, Err(Error::NotFound(_))));
    globex.create_sub_wallet("alice").await.unwrap();
    assert!(matches!(globex.sign(alice, &alice_key.id, b"m").await, Err(Error::NotFound(_))));
    assert_eq!(globex.get_record(alice, "credential", "shared-id").await.unwrap(), None);
    wallets.remove("acme").await.unwrap();
    wallets.remove("globex").await.unwrap();
}

async fn store_key_is_bound_to_the_company(env: &Env) {
    let master = MasterKey::generate();
    let wallets = env.wallets(&master);
    let x = wallets.create("company-x").await.unwrap();
    x.create_sub_wallet("alice").await.unwrap();
    wallets.create("company-y").await.unwrap();
    wallets.close().await.unwrap();

    // Company X's store under company Y's name: Y's derived key does not open it.
    env.copy_store("company-x", "company-y").await;
    match wallets.open("company-y").await {
        Err(Error::Crypto(_)) => {}
        other => panic!("company Y's key opened company X's store: {other:?}"),
    }
    // X's own key still opens X.
    let x = wallets.open("company-x").await.unwrap();
    assert_eq!(x.sub_wallets().await.unwrap(), ["alice"]);
    wallets.close().await.unwrap();
}

async fn wrong_master_key_cannot_open(env: &Env) {
    let right = MasterKey::generate();
    let wallets = env.wallets(&right);
    let acme = wallets.create("acme").await.unwrap();
    let key = acme.generate_key(Holder::Company, KeyType::Ed25519, &[]).await.unwrap();
    wallets.close().await.unwrap();
    drop(wallets);

    let intruder = env.wallets(&MasterKey::generate());
    match intruder.open("acme").await {
        Err(Error::Crypto(_)) => {}
        other => panic!("a wrong master key opened the store: {other:?}"),
    }
    // Nor may it overwrite the store by creating it again.
    assert!(matches!(intruder.create("acme").await, Err(Error::AlreadyExists(_))));

    let wallets = env.wallets(&MasterKey::parse(&right.to_text()).unwrap());
    let acme = wallets.open("acme").await.unwrap();
    assert_eq!(acme.public_key(Holder::Company, &key.id).await.unwrap(), key.public);
    wallets.remove("acme").await.unwrap();
}

async fn records_with_tag_queries(env: &Env) {
    let wallets = env.wallets(&MasterKey::generate());
    let acme = wallets.create("acme").await.unwrap();
    acme.create_sub_wallet("alice").await.unwrap();
    let alice = Holder::Sub("alice");
    let cred = "credential";
    acme.put_record(alice, cred, "c1", &json!({"n": 1}), &[("type", "Employee"), ("issuer", "acme")]).await.unwrap();
    acme.put_record(alice, cred, "c2", &json!({"n": 2}), &[("type", "Benefit"), ("issuer", "acme")]).await.unwrap();
    acme.put_record(alice, cred, "c3", &json!({"n": 3}), &[("type", "Employee"), ("issuer", "globex")]).await.unwrap();
    acme.put_record(alice, DID_CATEGORY, "c1", &json!({"not": "a credential"}), &[("type", "Employee")]).await.unwrap();

    let ids = |records: Vec<idelta_wallet::Record>| {
        let mut ids: Vec<String> = records.into_iter().map(|r| r.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(acme.find_records(alice, cred, &[], None).await.unwrap()), ["c1", "c2", "c3"]);
    assert_eq!(ids(acme.find_records(alice, cred, &[("type", "Employee")], None).await.unwrap()), ["c1", "c3"]);
    assert_eq!(
        ids(acme.find_records(alice, cred, &[("type", "Employee"), ("issuer", "acme")], None).await.unwrap()),
        ["c1"]
    );
    assert!(acme.find_records(alice, cred, &[("type", "Nothing")], None).await.unwrap().is_empty());
    assert!(acme.find_records(alice, cred, &[("unknown", "x")], None).await.unwrap().is_empty());
    assert_eq!(acme.find_records(alice, cred, &[("issuer", "acme")], Some(1)).await.unwrap().len(), 1);

    let c1 = acme.get_record(alice, cred, "c1").await.unwrap().unwrap();
    assert_eq!(c1.value, json!({"n": 1}));
    assert_eq!(c1.tags, [("issuer".to_owned(), "acme".to_owned()), ("type".to_owned(), "Employee".to_owned())]);

    // put replaces value and tags.
    acme.put_record(alice, cred, "c1", &json!({"n": 10}), &[("type", "Benefit")]).await.unwrap();
    assert_eq!(acme.get_record(alice, cred, "c1").await.unwrap().unwrap().value, json!({"n": 10}));
    assert_eq!(ids(acme.find_records(alice, cred, &[("type", "Employee")], None).await.unwrap()), ["c3"]);
    assert_eq!(ids(acme.find_records(alice, cred, &[("type", "Benefit")], None).await.unwrap()), ["c1", "c2"]);
    // Categories are separate namespaces.
    assert_eq!(
        acme.get_record(alice, DID_CATEGORY, "c1").await.unwrap().unwrap().value,
        json!({"not": "a credential"})
    );

    acme.delete_record(alice, cred, "c1").await.unwrap();
    assert_eq!(acme.get_record(alice, cred, "c1").await.unwrap(), None);
    assert!(matches!(acme.delete_record(alice, cred, "c1").await, Err(Error::NotFound(_))));
    assert!(acme.get_record(alice, DID_CATEGORY, "c1").await.unwrap().is_some());

    assert!(matches!(
        acme.put_record(alice, cred, "x", &json!(1), &[("~plain", "v")]).await,
        Err(Error::InvalidName(_))
    ));
    assert!(matches!(acme.put_record(alice, "", "x", &json!(1), &[]).await, Err(Error::InvalidName(_))));
    assert!(matches!(acme.find_records(alice, cred, &[("", "v")], None).await, Err(Error::InvalidName(_))));
    wallets.remove("acme").await.unwrap();
}

async fn restart_keeps_everything(env: &Env) {
    let master = MasterKey::generate();
    let wallets = env.wallets(&master);
    let acme = wallets.create("acme").await.unwrap();
    let company_key = acme.generate_key(Holder::Company, KeyType::Ed25519, &[]).await.unwrap();
    acme.create_sub_wallet("alice").await.unwrap();
    acme.create_sub_wallet("device-7").await.unwrap();
    let (did, did_key) = acme.create_did_key(Holder::Sub("alice")).await.unwrap();
    acme.put_record(Holder::Sub("device-7"), "credential", "att", &json!({"ok": true}), &[("kind", "attestation")])
        .await
        .unwrap();
    // No orderly close: drop everything as a crash would.
    drop(acme);
    drop(wallets);

    let wallets = env.wallets(&MasterKey::parse(&master.to_text()).unwrap());
    let acme = wallets.open("acme").await.unwrap();
    assert_eq!(acme.sub_wallets().await.unwrap(), ["alice", "device-7"]);
    let signature = acme.sign(Holder::Company, &company_key.id, b"m").await.unwrap();
    company_key.public.verify(b"m", &signature).unwrap();
    let signature = acme.sign(Holder::Sub("alice"), &did_key.id, b"m").await.unwrap();
    did_key.public.verify(b"m", &signature).unwrap();
    assert!(acme.get_record(Holder::Sub("alice"), DID_CATEGORY, &did).await.unwrap().is_some());
    let found =
        acme.find_records(Holder::Sub("device-7"), "credential", &[("kind", "attestation")], None).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].value, json!({"ok": true}));
    wallets.remove("acme").await.unwrap();
}

async fn concurrent_sub_wallet_creation(env: &Env) {
    let wallets = env.wallets(&MasterKey::generate());
    wallets.create("acme").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..32 {
        let wallets = wallets.clone();
        tasks.push(tokio::spawn(async move {
            // Every task opens through the registry: one shared store.
            let acme = wallets.open("acme").await.unwrap();
            let name = format!("employee-{i:02}");
            // Both ways of onboarding: two calls, or one.
            let (did, key) = if i % 2 == 0 {
                acme.create_sub_wallet(&name).await.unwrap();
                acme.create_did_key(Holder::Sub(&name)).await.unwrap()
            } else {
                acme.create_sub_wallet_with_did_key(&name).await.unwrap()
            };
            assert_eq!(did, format!("did:key:{}", key.id));
            (name, key)
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        created.push(task.await.unwrap());
    }
    let acme = wallets.open("acme").await.unwrap();
    assert_eq!(acme.sub_wallets().await.unwrap().len(), 32);
    for (name, key) in &created {
        let signature = acme.sign(Holder::Sub(name), &key.id, b"m").await.unwrap();
        key.public.verify(b"m", &signature).unwrap();
    }
    wallets.remove("acme").await.unwrap();
}

fn held(id: &str, format: CredentialFormat, issuer: &str, types: &[&str]) -> HeldCredential {
    let credential = match format {
        CredentialFormat::SdJwt => json!(format!("eyJ.{id}.sig~WyJzIiwibiIsMV0~")),
        _ => json!({ "id": id, "type": types, "issuer": issuer }),
    };
    HeldCredential {
        id: id.to_owned(),
        format,
        issuer: issuer.to_owned(),
        types: types.iter().map(|t| (*t).to_owned()).collect(),
        credential,
        received_at: 1_700_000_000_000,
    }
}

async fn held_credentials(env: &Env) {
    let wallets = env.wallets(&MasterKey::generate());
    let acme = wallets.create("acme").await.unwrap();
    acme.create_sub_wallet("alice").await.unwrap();
    acme.create_sub_wallet("bob").await.unwrap();
    let (alice, bob) = (Holder::Sub("alice"), Holder::Sub("bob"));
    let di = CredentialFormat::DataIntegrity;
    let sd = CredentialFormat::SdJwt;
    let all = [
        held("cr-1", di, "did:idelta:acme", &["VerifiableCredential", "EmployeeCredential"]),
        held("cr-2", sd, "did:idelta:acme", &["https://idelta.example/vct/Employee"]),
        held("cr-3", di, "did:idelta:globex", &["VerifiableCredential", "BenefitOwnershipCredential"]),
        held("cr-4", di, "did:idelta:acme", &["VerifiableCredential", "BenefitOwnershipCredential"]),
        held("cr-5", sd, "did:idelta:globex", &["https://idelta.example/vct/Voter"]),
    ];
    // Stored out of order: listing is by id.
    for c in all.iter().rev() {
        acme.store_credential(alice, c).await.unwrap();
    }
    assert!(matches!(acme.store_credential(alice, &all[0]).await, Err(Error::AlreadyExists(_))), "never replaced");
    assert_eq!(acme.credential(alice, "cr-2").await.unwrap().as_ref(), Some(&all[1]), "round trip, SD-JWT string kept");
    assert_eq!(acme.credential(alice, "cr-1").await.unwrap().as_ref(), Some(&all[0]));

    // Another holder of the same company sees none of them.
    assert_eq!(acme.credential(bob, "cr-1").await.unwrap(), None);
    assert!(acme.credentials(bob, &CredentialFilter::default(), None, 10).await.unwrap().items.is_empty());
    assert!(matches!(acme.delete_credential(bob, "cr-1").await, Err(Error::NotFound(_))));

    let ids = |page: &idelta_wallet::CredentialPage| page.items.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let everything = CredentialFilter::default();
    let first = acme.credentials(alice, &everything, None, 2).await.unwrap();
    assert_eq!((ids(&first), first.next.as_deref()), (vec!["cr-1".into(), "cr-2".into()], Some("cr-2")));
    let second = acme.credentials(alice, &everything, first.next.as_deref(), 2).await.unwrap();
    assert_eq!((ids(&second), second.next.as_deref()), (vec!["cr-3".into(), "cr-4".into()], Some("cr-4")));
    let last = acme.credentials(alice, &everything, second.next.as_deref(), 2).await.unwrap();
    assert_eq!((ids(&last), last.next), (vec!["cr-5".to_owned()], None));
    let exact = acme.credentials(alice, &everything, None, 5).await.unwrap();
    assert_eq!((exact.items.len(), exact.next), (5, None), "a full last page has no next cursor");

    let by = |format, issuer, r#type| CredentialFilter { format, issuer, r#type };
    let page = acme.credentials(alice, &by(Some(sd), None, None), None, 10).await.unwrap();
    assert_eq!(ids(&page), ["cr-2", "cr-5"]);
    let page = acme.credentials(alice, &by(None, Some("did:idelta:acme"), None), None, 10).await.unwrap();
    assert_eq!(ids(&page), ["cr-1", "cr-2", "cr-4"]);
    let page = acme.credentials(alice, &by(None, None, Some("BenefitOwnershipCredential")), None, 10).await.unwrap();
    assert_eq!(ids(&page), ["cr-3", "cr-4"], "any of the types matches");
    let page = acme
        .credentials(alice, &by(Some(di), Some("did:idelta:acme"), Some("VerifiableCredential")), None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&page), ["cr-1", "cr-4"]);

    acme.delete_credential(alice, "cr-3").await.unwrap();
    assert_eq!(acme.credential(alice, "cr-3").await.unwrap(), None);
    assert!(matches!(acme.delete_credential(alice, "cr-3").await, Err(Error::NotFound(_))));
    assert_eq!(ids(&acme.credentials(alice, &everything, None, 10).await.unwrap()), ["cr-1", "cr-2", "cr-4", "cr-5"]);

    // A value that does not fit its format is refused before anything is written.
    let mut wrong = held("cr-9", sd, "did:idelta:acme", &["x"]);
    wrong.credential = json!({ "not": "a string" });
    assert!(matches!(acme.store_credential(alice, &wrong).await, Err(Error::InvalidName(_))));
    assert_eq!(acme.credential(alice, "cr-9").await.unwrap(), None);
    wallets.remove("acme").await.unwrap();
}

/// A BLS12-381 G2 key is generated and kept in askar; its secret is lent
/// only to a signing closure, and it is the BBS key of the public key the
/// wallet reports. Ed25519 keys are never lent.
async fn bbs_keys_lend_their_secret_only_to_sign(env: &Env) {
    use idelta_issuer::bbs_2023::{add_base_proof, derive, BaseProofOptions, BbsSecretKey};
    let wallets = env.wallets(&MasterKey::generate());
    let acme = wallets.create("acme").await.unwrap();
    let key = acme.generate_key(Holder::Company, KeyType::Bls12381G2, &[("purpose", "bbs")]).await.unwrap();
    assert!(key.id.starts_with("zUC7"), "{}", key.id);
    assert!(matches!(key.public, PublicKey::Bls12381G2(ref b) if b.len() == 96), "{:?}", key.public);
    assert_eq!(acme.public_key(Holder::Company, &key.id).await.unwrap(), key.public);
    acme.generate_key(Holder::Company, KeyType::Ed25519, &[]).await.unwrap();
    assert_eq!(acme.key_ids_of(Holder::Company, KeyType::Bls12381G2).await.unwrap(), vec![key.id.clone()]);

    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:acme",
        "credentialSubject": { "id": "did:example:alice", "name": "Alice" }
    });
    let options = BaseProofOptions {
        verification_method: format!("did:key:{0}#{0}", key.id),
        mandatory_pointers: vec!["/issuer".into()],
    };
    let secured = acme
        .with_bbs_secret(Holder::Company, &key.id, |secret| {
            let bbs = BbsSecretKey::from_bytes(secret).unwrap();
            assert_eq!(bbs.public_key_multibase(), key.id, "askar's public key is the BBS one");
            add_base_proof(credential, &options, &bbs).unwrap()
        })
        .await
        .unwrap();
    derive(&secured, &["/credentialSubject/name".into()], b"nonce").unwrap();

    // The secret survives a reopen (it is in the store, not in memory).
    drop(acme);
    let acme = wallets.open("acme").await.unwrap();
    let again =
        acme.with_bbs_secret(Holder::Company, &key.id, |s| BbsSecretKey::from_bytes(s).unwrap().public_key_multibase());
    assert_eq!(again.await.unwrap(), key.id);

    let ed = acme.generate_key(Holder::Company, KeyType::Ed25519, &[]).await.unwrap();
    let refused = acme.with_bbs_secret(Holder::Company, &ed.id, |_| ()).await;
    assert!(matches!(refused, Err(Error::Crypto(_))), "{refused:?}");
    assert!(matches!(acme.with_bbs_secret(Holder::Company, "zUC7Unknown", |_| ()).await, Err(Error::NotFound(_))));
    acme.create_sub_wallet("alice").await.unwrap();
    let theirs = acme.with_bbs_secret(Holder::Sub("alice"), &key.id, |_| ()).await;
    assert!(matches!(theirs, Err(Error::NotFound(_))), "a sub-wallet cannot use the company's key: {theirs:?}");
    wallets.remove("acme").await.unwrap();
}
