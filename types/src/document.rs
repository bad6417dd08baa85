//! DID documents as `did:idelta` stores them (DID Core §5, docs/did-method.md §3).
//!
//! The ledger keeps documents exactly as their controller wrote them, after
//! checking the rules below, so what a resolver returns can be compared byte
//! for byte with the transaction the log proves.

use crate::did::Did;
use crate::error::{Error, Result};
use crate::multikey::PublicKey;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The DID Core v1 context, first in every document.
pub const DID_CONTEXT: &str = "https://www.w3.org/ns/did/v1";
/// The Multikey context.
pub const MULTIKEY_CONTEXT: &str = "https://w3id.org/security/multikey/v1";
/// Most verification methods one document may carry.
pub const MAX_VERIFICATION_METHODS: usize = 32;
/// Most services one document may carry.
pub const MAX_SERVICES: usize = 32;

/// A DID document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DidDocument {
    /// JSON-LD contexts; the first is [`DID_CONTEXT`].
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    /// The DID this document describes.
    pub id: Did,
    /// Public keys, each a `Multikey`.
    pub verification_method: Vec<VerificationMethod>,
    /// Keys that authenticate as the DID subject.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authentication: Vec<String>,
    /// Keys that sign credentials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assertion_method: Vec<String>,
    /// Keys that control the DID: they sign its ledger updates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capability_invocation: Vec<String>,
    /// Keys that may delegate capabilities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capability_delegation: Vec<String>,
    /// Service endpoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<Service>,
}

/// A verification method of type `Multikey`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationMethod {
    /// Absolute DID URL `did#fragment`.
    pub id: String,
    /// Always `Multikey`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The DID that controls the key: the document's own DID.
    pub controller: Did,
    /// The key, multibase base58btc with a multicodec prefix.
    pub public_key_multibase: String,
}

/// A service endpoint (DID Core §5.4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// Absolute DID URL `did#fragment`.
    pub id: String,
    /// Service type, e.g. `LinkedDomains` or `DIDCommMessaging`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A URL string, a map or a set, as DID Core allows.
    pub service_endpoint: serde_json::Value,
}

impl DidDocument {
    /// A document with one Ed25519 key, `#key-1`, used for authentication,
    /// assertions and control.
    pub fn with_ed25519_key(did: &Did, key: &PublicKey, services: Vec<Service>) -> DidDocument {
        let kid = did.with_fragment("key-1");
        DidDocument {
            context: vec![DID_CONTEXT.into(), MULTIKEY_CONTEXT.into()],
            id: did.clone(),
            verification_method: vec![VerificationMethod {
                id: kid.clone(),
                kind: "Multikey".into(),
                controller: did.clone(),
                public_key_multibase: key.to_multibase(),
            }],
            authentication: vec![kid.clone()],
            assertion_method: vec![kid.clone()],
            capability_invocation: vec![kid],
            capability_delegation: vec![],
            service: services,
        }
    }

    /// The verification method with id `vm_id`.
    pub fn method(&self, vm_id: &str) -> Option<&VerificationMethod> {
        self.verification_method.iter().find(|m| m.id == vm_id)
    }

    /// The controller keys: verification methods referenced from
    /// `capabilityInvocation`, parsed. Only these authorise ledger writes.
    pub fn controller_keys(&self) -> Result<Vec<(String, PublicKey)>> {
        self.capability_invocation
            .iter()
            .map(|id| {
                let vm = self.method(id).ok_or_else(|| {
                    Error::InvalidDocument(format!("capabilityInvocation `{id}` names no verification method"))
                })?;
                Ok((id.clone(), PublicKey::from_multibase(&vm.public_key_multibase)?))
            })
            .collect()
    }

    /// Checks the rules of docs/did-method.md §3 for a document of `did`
    /// and returns its controller keys, each key parsed exactly once.
    pub fn validate(&self, did: &Did) -> Result<Vec<(String, PublicKey)>> {
        let bad = |m: String| Err(Error::InvalidDocument(m));
        if &self.id != did {
            return bad(format!("document id `{}` is not the DID `{did}`", self.id));
        }
        if self.context.first().map(String::as_str) != Some(DID_CONTEXT) {
            return bad(format!("@context must start with `{DID_CONTEXT}`"));
        }
        if self.verification_method.is_empty() {
            return bad("verificationMethod must not be empty".into());
        }
        if self.verification_method.len() > MAX_VERIFICATION_METHODS {
            return bad(format!("at most {MAX_VERIFICATION_METHODS} verification methods"));
        }
        if self.service.len() > MAX_SERVICES {
            return bad(format!("at most {MAX_SERVICES} services"));
        }
        let mut ids = HashSet::new();
        let mut keys = Vec::with_capacity(self.verification_method.len());
        for vm in &self.verification_method {
            check_fragment_id(did, &vm.id, "verificationMethod")?;
            if !ids.insert(vm.id.as_str()) {
                return bad(format!("duplicate id `{}`", vm.id));
            }
            if vm.kind != "Multikey" {
                return bad(format!("verification method `{}` must have type Multikey", vm.id));
            }
            if &vm.controller != did {
                return bad(format!("verification method `{}` must be controlled by `{did}`", vm.id));
            }
            keys.push((vm.id.as_str(), PublicKey::from_multibase(&vm.public_key_multibase)?));
        }
        for (name, refs) in [
            ("authentication", &self.authentication),
            ("assertionMethod", &self.assertion_method),
            ("capabilityInvocation", &self.capability_invocation),
            ("capabilityDelegation", &self.capability_delegation),
        ] {
            for r in refs {
                if self.method(r).is_none() {
                    return bad(format!("{name} entry `{r}` names no verification method"));
                }
            }
        }
        let controllers: Vec<(String, PublicKey)> = self
            .capability_invocation
            .iter()
            .filter_map(|id| keys.iter().find(|(k, _)| k == id).map(|(_, key)| (id.clone(), key.clone())))
            .collect();
        if controllers.is_empty() {
            return bad("capabilityInvocation must name at least one key: nobody could update the DID".into());
        }
        if let Some((id, _)) = controllers.iter().find(|(_, k)| !matches!(k, PublicKey::Ed25519(_))) {
            return bad(format!("controller key `{id}` must be Ed25519"));
        }
        for s in &self.service {
            check_fragment_id(did, &s.id, "service")?;
            if !ids.insert(s.id.as_str()) {
                return bad(format!("duplicate id `{}`", s.id));
            }
            if s.kind.is_empty() {
                return bad(format!("service `{}` needs a type", s.id));
            }
            let endpoint_ok = match &s.service_endpoint {
                serde_json::Value::String(u) => !u.is_empty(),
                serde_json::Value::Object(_) | serde_json::Value::Array(_) => true,
                _ => false,
            };
            if !endpoint_ok {
                return bad(format!("service `{}` endpoint must be a URL, a map or a set", s.id));
            }
        }
        Ok(controllers)
    }
}

fn check_fragment_id(did: &Did, id: &str, what: &str) -> Result<()> {
    match id.strip_prefix(did.as_str()).and_then(|r| r.strip_prefix('#')) {
        Some(f) if !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) => Ok(()),
        _ => Err(Error::InvalidDocument(format!("{what} id `{id}` must be `{did}#fragment`"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fixture() -> (Did, DidDocument) {
        let key = PublicKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]).verifying_key());
        let did = Did::idelta_from_key(&key);
        let doc = DidDocument::with_ed25519_key(&did, &key, vec![]);
        (did, doc)
    }

    #[test]
    fn generated_document_is_valid_and_round_trips() {
        let (did, doc) = fixture();
        doc.validate(&did).unwrap();
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(serde_json::from_str::<DidDocument>(&json).unwrap(), doc);
        assert_eq!(doc.controller_keys().unwrap().len(), 1);
    }

    #[test]
    fn rule_violations_are_named() {
        let (did, doc) = fixture();
        let mut d = doc.clone();
        d.capability_invocation.clear();
        assert!(d.validate(&did).unwrap_err().to_string().contains("capabilityInvocation"));
        let mut d = doc.clone();
        d.verification_method[0].kind = "Ed25519VerificationKey2020".into();
        assert!(d.validate(&did).is_err());
        let mut d = doc.clone();
        d.authentication.push(format!("{did}#nope"));
        assert!(d.validate(&did).unwrap_err().to_string().contains("#nope"));
        let mut d = doc.clone();
        d.service.push(Service { id: "#svc".into(), kind: "X".into(), service_endpoint: "https://a".into() });
        assert!(d.validate(&did).is_err());
        let other = Did::idelta_from_key(&PublicKey::Ed25519(
            ed25519_dalek::SigningKey::from_bytes(&[4u8; 32]).verifying_key(),
        ));
        assert!(doc.validate(&other).is_err());
        assert!(serde_json::from_str::<DidDocument>(
            r#"{"id":"did:web:a","@context":[],"verificationMethod":[],"extra":1}"#
        )
        .is_err());
    }
}
