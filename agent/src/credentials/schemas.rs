//! Stage 3 of issuance: credential types, their schemas, and their
//! anchoring on the ledger.
//!
//! **Schemas.** A credential whose `type` lists one of idelta's types
//! ([`idelta_issuer::types`]) gets `credentialSchema: { id: <schema URL>,
//! type: "JsonSchema" }` and must satisfy that bundled JSON Schema; a
//! violation is a 400 naming its path. Other types pass through
//! unvalidated.
//!
//! **Ledger objects.** The consortium's schemas are ledger objects of kind
//! `schema` authored by the operator's endorser DID (which holds a role and
//! so writes without an endorsement): `{endorser}/schema/{Type}`, holding
//! the schema itself. They are published when the agent starts (in the
//! background) and at the latest before the first issuance of a typed
//! credential. Each company's credential definition for a type is a
//! `credDef` object authored by the company, `{company DID}/credDef/{Type}`,
//! published before the company first issues that type: it names the
//! schema object, the issuer DID, the verification method that signs, the
//! formats offered and the status purposes. A new version is written only
//! when its content changes (a key rotation changes the verification
//! method). What is known to be on the ledger is remembered per company
//! DID and type; concurrent first issuances of one type by one company
//! publish once.

use super::{invalid, CredentialError, Credentials, Result};
use crate::db::companies::Company;
use crate::tenants::TenantError;
use idelta_issuer::types::{self, CredentialType, JSON_SCHEMA};
use idelta_ledger_node::client::ClientError;
use idelta_types::tx::{ObjectKind, ObjectPut};
use idelta_types::Did;
use idelta_verifier::schema;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The formats a credential definition offers.
pub const FORMATS: [&str; 4] = ["eddsa-rdfc-2022", "eddsa-jcs-2022", "bbs-2023", "dc+sd-jwt"];

/// The status purposes of what idelta issues: Bitstring Status List
/// purposes for Data Integrity credentials, a Token Status List for SD-JWT
/// VCs.
pub const STATUS_PURPOSES: [&str; 2] = ["revocation", "suspension"];

/// Most (company DID, type) credential definitions remembered.
const CRED_DEFS_CAPACITY: usize = 40_000;

/// The content of a type's `schema` ledger object.
pub fn schema_object(t: &CredentialType) -> Value {
    json!({
        "type": t.name,
        "schemaId": t.schema_id,
        "context": t.context(),
        "schema": t.schema_json(),
    })
}

/// The ledger id of a type's schema object, written by `endorser`.
pub fn schema_ledger_id(endorser: &Did, t: &CredentialType) -> String {
    format!("{endorser}/{}/{}", ObjectKind::Schema.as_str(), t.name)
}

/// The content of a company's credential definition of a type; with
/// `bbs_method`, the company's bbs-2023 key (`bbsVerificationMethod`).
fn cred_def_object(
    endorser: &Did,
    t: &CredentialType,
    issuer: &str,
    verification_method: &str,
    bbs_method: Option<&str>,
) -> Value {
    let mut def = json!({
        "type": t.name,
        "schema": schema_ledger_id(endorser, t),
        "schemaId": t.schema_id,
        "issuer": issuer,
        "verificationMethod": verification_method,
        "formats": FORMATS,
        "vct": t.schema_id,
        "statusPurposes": STATUS_PURPOSES,
        "tokenStatusList": true,
    });
    if let (Some(vm), Value::Object(def)) = (bbs_method, &mut def) {
        def.insert("bbsVerificationMethod".into(), vm.into());
    }
    def
}

/// Stage 3: when the credential is of one of idelta's types, adds its
/// `credentialSchema` (a different one already there is refused) and
/// validates the credential against the bundled schema. Returns the type.
pub(super) fn apply(credential: &mut Map<String, Value>) -> Result<Option<&'static CredentialType>> {
    let Some(t) = types::of_types(credential.get("type")).map_err(|e| invalid(e.to_string()))? else {
        return Ok(None);
    };
    let reference = json!({ "id": t.schema_id, "type": JSON_SCHEMA });
    match credential.get("credentialSchema") {
        None => {
            credential.insert("credentialSchema".into(), reference);
        }
        Some(given) if *given == reference => {}
        Some(_) => {
            return Err(invalid(format!(
                "credential.credentialSchema must be absent or {reference}: a {} is validated against idelta's schema",
                t.name
            )))
        }
    }
    schema::validate(t, &Value::Object(credential.clone()))
        .map_err(|v| invalid(format!("credential does not match the {} schema: {}", t.name, schema::describe(&v))))?;
    Ok(Some(t))
}

/// What this agent knows to be on the ledger.
#[derive(Debug, Default)]
pub struct Published {
    /// Set once every schema object is on the ledger; concurrent callers
    /// wait for the one publishing.
    schemas: tokio::sync::OnceCell<()>,
    /// Per (company DID, type): the credential definition content known to
    /// be the latest version on the ledger, behind a lock that one
    /// publisher holds at a time.
    cred_defs: parking_lot::Mutex<HashMap<(String, &'static str), Slot>>,
}

/// The credential definition content last published, behind its lock.
type Slot = Arc<tokio::sync::Mutex<Option<Value>>>;

/// Publishes the schemas in the background as the agent starts; a
/// failure (the operator cannot write yet, the ledger is down) is logged,
/// and the first issuance of a typed credential tries again.
pub fn spawn_schema_publication(credentials: &Arc<Credentials>) {
    let credentials = Arc::clone(credentials);
    tokio::spawn(async move {
        if let Err(e) = credentials.publish_schemas().await {
            tracing::warn!(error = %e, "credential schemas are not on the ledger yet; the first typed issuance retries");
        }
    });
}

fn ledger(e: crate::ledger::LedgerError) -> CredentialError {
    CredentialError::Tenant(TenantError::Ledger(e))
}

impl Credentials {
    /// Publishes the schema object of every type that is not on the ledger
    /// with this content yet (once per process; retried by the next caller
    /// after a failure).
    pub async fn publish_schemas(&self) -> Result<()> {
        self.published
            .schemas
            .get_or_try_init(|| async {
                let access = self.tenants.ledger();
                for t in &types::TYPES {
                    let content = schema_object(t);
                    let id = schema_ledger_id(access.endorser(), t);
                    if self.latest_object(&id).await?.as_ref() == Some(&content) {
                        continue;
                    }
                    let put = ObjectPut { kind: ObjectKind::Schema, name: t.name.to_owned(), content };
                    access.put_object_as_operator(&put).await.map_err(ledger)?;
                    tracing::info!(schema = %id, "credential schema published on the ledger");
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// The latest content of a ledger object (its proof checked), or
    /// `None` when there is none.
    async fn latest_object(&self, id: &str) -> Result<Option<Value>> {
        match self.tenants.ledger().client().object(id, None).await {
            Ok(view) => Ok(Some(view.content)),
            Err(ClientError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Makes sure the schema of `t` and `company`'s credential definition
    /// of it (naming `verification_method`, and `bbs_method` when the
    /// company has a bbs-2023 key) are on the ledger, writing what is
    /// missing or out of date.
    pub(super) async fn anchor_type(
        &self,
        company: &Company,
        t: &'static CredentialType,
        verification_method: &str,
        bbs_method: Option<&str>,
    ) -> Result<()> {
        self.publish_schemas().await?;
        let access = self.tenants.ledger();
        let content = cred_def_object(access.endorser(), t, &company.did, verification_method, bbs_method);
        let slot = {
            let mut known = self.published.cred_defs.lock();
            if known.len() >= CRED_DEFS_CAPACITY {
                known.clear();
            }
            Arc::clone(known.entry((company.did.clone(), t.name)).or_default())
        };
        let mut published = slot.lock().await;
        if published.as_ref() == Some(&content) {
            return Ok(());
        }
        let id = format!("{}/{}/{}", company.did, ObjectKind::CredDef.as_str(), t.name);
        if self.latest_object(&id).await?.as_ref() != Some(&content) {
            let did: Did = company
                .did
                .parse()
                .map_err(|e: idelta_types::Error| TenantError::Invalid(format!("company DID: {e}")))?;
            let wallet = self.tenants.wallets().open(&company.id).await.map_err(TenantError::from)?;
            let put = ObjectPut { kind: ObjectKind::CredDef, name: t.name.to_owned(), content: content.clone() };
            access.put_object(&wallet, &did, &company.key_id, verification_method, &put).await.map_err(ledger)?;
            tracing::info!(cred_def = %id, "credential definition published on the ledger");
        }
        *published = Some(content);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use idelta_types::Signer as _;

    fn credential(t: Value, subject: Value) -> Map<String, Value> {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://idelta.example/contexts/v1"],
            "type": t,
            "credentialSubject": subject,
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn typed_credentials_get_their_schema_and_are_validated() {
        let mut c = credential(
            json!(["VerifiableCredential", "DeviceAttestationCredential"]),
            json!({
                "deviceDid": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                "model": "PKG-2",
                "manufacturer": "Parcel Works",
                "custodian": "did:idelta:zCustodian",
            }),
        );
        let t = apply(&mut c).unwrap().unwrap();
        assert_eq!(t.name, "DeviceAttestationCredential");
        assert_eq!(c["credentialSchema"], json!({ "id": t.schema_id, "type": "JsonSchema" }));
        // Applying twice is harmless: the same reference is accepted.
        assert_eq!(apply(&mut c).unwrap(), Some(t));

        let mut missing = credential(json!(["VerifiableCredential", "EmployeeCredential"]), json!({ "role": "x" }));
        let e = apply(&mut missing).unwrap_err().to_string();
        assert!(e.contains("/credentialSubject") && e.contains("employer") && e.contains("employeeId"), "{e}");

        let mut other = credential(json!(["VerifiableCredential", "EmployeeCredential"]), json!({}));
        other.insert("credentialSchema".into(), json!({ "id": "https://elsewhere.example/s", "type": "JsonSchema" }));
        assert!(apply(&mut other).unwrap_err().to_string().contains("credentialSchema"));

        let mut untyped = credential(json!(["VerifiableCredential"]), json!({ "anything": 1 }));
        assert_eq!(apply(&mut untyped).unwrap(), None);
        assert!(!untyped.contains_key("credentialSchema"));

        let mut two = credential(json!(["EmployeeCredential", "VoterEligibilityCredential"]), json!({}));
        assert!(apply(&mut two).unwrap_err().to_string().contains("more than one"));
    }

    #[test]
    fn a_cred_def_names_schema_issuer_key_and_formats() {
        let endorser = Did::idelta_from_key(idelta_types::LocalSigner::from_seed([7; 32]).public_key());
        let t = types::by_name("VoterEligibilityCredential").unwrap();
        let def = cred_def_object(&endorser, t, "did:idelta:zCo", "did:idelta:zCo#key-1", None);
        assert!(def.get("bbsVerificationMethod").is_none());
        let with_bbs =
            cred_def_object(&endorser, t, "did:idelta:zCo", "did:idelta:zCo#key-1", Some("did:idelta:zCo#bbs-1"));
        assert_eq!(with_bbs["bbsVerificationMethod"], "did:idelta:zCo#bbs-1");
        assert_eq!(def["schema"], format!("{endorser}/schema/VoterEligibilityCredential"));
        assert_eq!(def["issuer"], "did:idelta:zCo");
        assert_eq!(def["verificationMethod"], "did:idelta:zCo#key-1");
        assert_eq!(def["vct"], t.schema_id);
        assert_eq!(def["formats"], json!(FORMATS));
        assert_eq!(schema_object(t)["schema"], t.schema_json());
    }
}
