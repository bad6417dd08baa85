//! Credential status checks: W3C Bitstring Status List v1.0 §3.2 (validate
//! algorithm) for Data Integrity credentials, and the IETF Token Status
//! List draft §8.3 (referenced token validation) for SD-JWT VCs.
//!
//! Where a list comes from is a trait, [`StatusListSource`]: the agent's
//! implementation reads it from the ledger with its inclusion proof
//! checked; offline tools can pass fixed lists. Whatever the source, the
//! list is trusted only after its own checks here: the status list
//! credential's Data Integrity proof verifies (the same [`verify`] as
//! credentials, `assertionMethod`, validity period at `now`), its issuer
//! is the credential's issuer, and it is the list the entry names. Each
//! entry becomes one named check in the [`Report`]: `status.revocation`,
//! `status.suspension` (Bitstring), `status` (Token Status List); a set
//! bit fails it with `revoked` or `suspended`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use futures::future::BoxFuture;
use idelta_revocation::bitstring::{check_status_in_credential, BitstringStatusListEntry, StatusPurpose, ENTRY_TYPE};
use idelta_revocation::token_status::{
    StatusClaim, StatusListToken, TokenStatus, TokenStatusList, STATUS_LIST_JWT_TYP,
};
use idelta_types::PublicKey;
use serde_json::Value;
use time::OffsetDateTime;

use crate::data_integrity::{verify, Expectations};
use crate::report::Report;
use crate::resolver::{KeyResolver, Relationship};

/// Where status lists are read from.
pub trait StatusListSource: Send + Sync {
    /// The `BitstringStatusListCredential` (with its proof) at `url`.
    fn bitstring_credential<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Value, String>>;
    /// The Status List Token (compact JWT) at `uri`.
    fn status_list_token<'a>(&'a self, uri: &'a str) -> BoxFuture<'a, Result<String, String>>;
    /// Whether the list last returned for `url` is a copy whose proof and
    /// issuer key this source saw verify against the same state of its
    /// origin (a source that keeps copies per ledger tree head can tell;
    /// the default never can). The validity period is checked again anyway.
    fn verified_before(&self, _url: &str) -> bool {
        false
    }
    /// Told when the list last returned for `url` verified.
    fn remember_verified(&self, _url: &str) {}
}

/// The `id` of a credential's `issuer` (a URL or an object with an `id`).
fn issuer_of(document: &Value) -> Option<&str> {
    match document.get("issuer") {
        Some(Value::String(id)) => Some(id),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// Checks every `BitstringStatusListEntry` of `credential`'s
/// `credentialStatus`, one check per entry named
/// `{prefix}status.{statusPurpose}`. A credential without
/// `credentialStatus` gets a warning (it cannot be revoked), not a check.
pub async fn check_bitstring(
    report: &mut Report,
    prefix: &str,
    credential: &Value,
    source: &dyn StatusListSource,
    resolver: &dyn KeyResolver,
    now: OffsetDateTime,
) {
    let entries: Vec<&Value> = match credential.get("credentialStatus") {
        None => {
            report.warn(format!("{prefix}credential has no credentialStatus: it cannot be revoked"));
            return;
        }
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item) => vec![item],
    };
    for item in entries {
        if item.get("type").and_then(Value::as_str) != Some(ENTRY_TYPE) {
            report.warn(format!("{prefix}credentialStatus of an unsupported type is not checked"));
            continue;
        }
        let (name, outcome) = match BitstringStatusListEntry::from_json(item) {
            Ok(entry) => {
                let name = format!("{prefix}status.{}", entry.status_purpose);
                (name, check_entry(&entry, credential, source, resolver, now).await)
            }
            Err(e) => (format!("{prefix}status"), Err(format!("{} ({})", e, e.spec_code()))),
        };
        report.check(&name, outcome);
    }
}

async fn check_entry(
    entry: &BitstringStatusListEntry,
    credential: &Value,
    source: &dyn StatusListSource,
    resolver: &dyn KeyResolver,
    now: OffsetDateTime,
) -> Result<(), String> {
    let list = source
        .bitstring_credential(&entry.status_list_credential)
        .await
        .map_err(|e| format!("status list unavailable (STATUS_RETRIEVAL_ERROR): {e}"))?;
    let url = &entry.status_list_credential;
    if source.verified_before(url) {
        let period = list.as_object().map_or(Ok(()), |l| crate::data_integrity::validity(l, now));
        period.map_err(|e| format!("the status list credential does not verify (STATUS_VERIFICATION_ERROR): {e}"))?;
    } else {
        let expected = Expectations { purpose: Relationship::AssertionMethod, challenge: None, domain: None, now };
        let list_report = verify(&list, resolver, expected).await;
        if !list_report.verified {
            let failed: Vec<String> = list_report
                .failures()
                .map(|c| format!("{}: {}", c.name, c.detail.clone().unwrap_or_default()))
                .collect();
            return Err(format!(
                "the status list credential does not verify (STATUS_VERIFICATION_ERROR): {}",
                failed.join("; ")
            ));
        }
        source.remember_verified(url);
    }
    if issuer_of(&list) != issuer_of(credential) {
        return Err(
            "the status list credential has another issuer than the credential (STATUS_VERIFICATION_ERROR)".into()
        );
    }
    let status = check_status_in_credential(entry, &list).map_err(|e| format!("{e} ({})", e.spec_code()))?;
    match (status.is_set(), status.purpose) {
        (false, _) => Ok(()),
        (true, StatusPurpose::Revocation) => Err("revoked".into()),
        (true, StatusPurpose::Suspension) => Err("suspended".into()),
        (true, _) => Err(format!("status {} is set", status.value)),
    }
}

/// Checks the `status` claim of an SD-JWT VC issued by `issuer` against its
/// Status List Token: one check named `{prefix}status`.
pub async fn check_token_status(
    report: &mut Report,
    prefix: &str,
    claim: &Value,
    issuer: &str,
    source: &dyn StatusListSource,
    resolver: &dyn KeyResolver,
    now: OffsetDateTime,
) {
    let outcome = token_status(claim, issuer, source, resolver, now).await;
    report.check(&format!("{prefix}status"), outcome);
}

async fn token_status(
    claim: &Value,
    issuer: &str,
    source: &dyn StatusListSource,
    resolver: &dyn KeyResolver,
    now: OffsetDateTime,
) -> Result<(), String> {
    let claim: StatusClaim =
        serde_json::from_value(claim.clone()).map_err(|e| format!("malformed status claim: {e}"))?;
    let uri = &claim.status_list.uri;
    let jwt = source.status_list_token(uri).await.map_err(|e| format!("status list unavailable: {e}"))?;
    let token = verify_status_list_token(&jwt, issuer, resolver, now).await?;
    if &token.sub != uri {
        return Err(format!("the Status List Token is for {}, not {uri}", token.sub));
    }
    let list = TokenStatusList::from_json(&token.status_list).map_err(|e| e.to_string())?;
    match list.get(claim.status_list.idx).map_err(|e| e.to_string())? {
        TokenStatus::VALID => Ok(()),
        TokenStatus::INVALID => Err("revoked".into()),
        TokenStatus::SUSPENDED => Err("suspended".into()),
        TokenStatus(other) => Err(format!("status {other:#04x}")),
    }
}

/// Verifies a Status List Token (§5.1): `typ` `statuslist+jwt`, `alg`
/// `EdDSA` (pinned), signed by an `assertionMethod` key of `issuer`, not
/// expired at `now`.
async fn verify_status_list_token(
    jwt: &str,
    issuer: &str,
    resolver: &dyn KeyResolver,
    now: OffsetDateTime,
) -> Result<StatusListToken, String> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the Status List Token is not a compact JWS".into());
    };
    let decode = |part: &str, what: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| format!("{what} is not base64url"));
    let header: Value =
        serde_json::from_slice(&decode(header, "header")?).map_err(|_| "the header is not JSON".to_owned())?;
    if header.get("typ").and_then(Value::as_str) != Some(STATUS_LIST_JWT_TYP) {
        return Err(format!("the Status List Token's typ is not {STATUS_LIST_JWT_TYP}"));
    }
    if header.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err("the Status List Token's alg is not EdDSA".into());
    }
    let kid = header.get("kid").and_then(Value::as_str).ok_or("the Status List Token has no kid")?;
    let key = resolver.resolve_key(kid, Relationship::AssertionMethod).await.map_err(|e| e.to_string())?;
    if key.controller.as_str() != issuer {
        return Err(format!(
            "the Status List Token is signed by {}, not by the issuer {issuer}",
            key.controller.as_str()
        ));
    }
    let PublicKey::Ed25519(public) = key.key else {
        return Err("the Status List Token's key is not Ed25519".into());
    };
    let signature = ed25519_dalek::Signature::from_slice(&decode(signature, "signature")?)
        .map_err(|_| "the signature is not 64 bytes".to_owned())?;
    let input = &jwt[..header_and_payload_len(jwt)];
    public
        .verify_strict(input.as_bytes(), &signature)
        .map_err(|_| "the Status List Token's signature is invalid".to_owned())?;
    let token: StatusListToken = serde_json::from_slice(&decode(payload, "payload")?)
        .map_err(|e| format!("the Status List Token's claims are malformed: {e}"))?;
    if token.exp.is_some_and(|exp| exp <= now.unix_timestamp()) {
        return Err("the Status List Token has expired".into());
    }
    Ok(token)
}

/// Length of `header.payload` in a compact JWS.
fn header_and_payload_len(jwt: &str) -> usize {
    jwt.rfind('.').unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::resolver::DidKeyResolver;
    use idelta_issuer::data_integrity::{add_proof, Cryptosuite, ProofOptions, ProofPurpose};
    use idelta_revocation::bitstring::{status_list_credential, ListCredential};
    use idelta_revocation::{StatusIndex, StatusList};
    use idelta_types::signer::{LocalSigner, Signer};
    use serde_json::json;
    use std::collections::HashMap;

    struct Fixed(HashMap<String, Value>, HashMap<String, String>);

    impl StatusListSource for Fixed {
        fn bitstring_credential<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<Value, String>> {
            Box::pin(async move { self.0.get(url).cloned().ok_or_else(|| format!("no list at {url}")) })
        }
        fn status_list_token<'a>(&'a self, uri: &'a str) -> BoxFuture<'a, Result<String, String>> {
            Box::pin(async move { self.1.get(uri).cloned().ok_or_else(|| format!("no token at {uri}")) })
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn did_of(signer: &LocalSigner) -> (String, String) {
        (signer.did_key(), signer.did_key_url())
    }

    async fn signed(doc: Value, signer: &LocalSigner) -> Value {
        let (_, vm) = did_of(signer);
        let options = ProofOptions {
            cryptosuite: Cryptosuite::EddsaJcs2022,
            verification_method: vm,
            proof_purpose: ProofPurpose::AssertionMethod,
            created: now(),
            challenge: None,
            domain: None,
        };
        add_proof(doc, options, signer).await.unwrap()
    }

    async fn list_vc(url: &str, signer: &LocalSigner, purpose: StatusPurpose, set: &[u32]) -> Value {
        let mut list = StatusList::minimum();
        for &i in set {
            list.set(StatusIndex::new(i), 1).unwrap();
        }
        let (did, _) = did_of(signer);
        let params = ListCredential { url, issuer: &did, purpose, valid_from: now(), valid_until: None, ttl: None };
        signed(status_list_credential(&params, &list).unwrap(), signer).await
    }

    fn credential(issuer: &str, entries: Value) -> Value {
        json!({ "issuer": issuer, "credentialStatus": entries })
    }

    fn entry(url: &str, purpose: StatusPurpose, i: u32) -> Value {
        BitstringStatusListEntry::new(url, purpose, StatusIndex::new(i)).to_json()
    }

    #[tokio::test]
    async fn revoked_and_suspended_entries_fail_their_named_checks() {
        let issuer = LocalSigner::from_seed([1; 32]);
        let (did, _) = did_of(&issuer);
        let (rev, sus) =
            ("https://a.example/status-lists/co/revocation-1", "https://a.example/status-lists/co/suspension-1");
        let source = Fixed(
            [
                (rev.to_owned(), list_vc(rev, &issuer, StatusPurpose::Revocation, &[5]).await),
                (sus.to_owned(), list_vc(sus, &issuer, StatusPurpose::Suspension, &[6]).await),
            ]
            .into(),
            HashMap::new(),
        );
        let check = |rev_i: u32, sus_i: u32| {
            let vc = credential(
                &did,
                json!([entry(rev, StatusPurpose::Revocation, rev_i), entry(sus, StatusPurpose::Suspension, sus_i)]),
            );
            let source = &source;
            async move {
                let mut report = Report::new();
                check_bitstring(&mut report, "", &vc, source, &DidKeyResolver, now()).await;
                report
            }
        };
        let ok = check(1, 2).await;
        assert!(ok.verified && ok.passed("status.revocation") && ok.passed("status.suspension"), "{ok:?}");
        let revoked = check(5, 2).await;
        assert!(!revoked.verified);
        assert_eq!(revoked.failures().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["status.revocation"]);
        assert_eq!(revoked.failures().next().unwrap().detail.as_deref(), Some("revoked"));
        let suspended = check(1, 6).await;
        assert_eq!(suspended.failures().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["status.suspension"]);
    }

    #[tokio::test]
    async fn a_list_of_another_issuer_or_tampered_is_refused() {
        let issuer = LocalSigner::from_seed([1; 32]);
        let other = LocalSigner::from_seed([2; 32]);
        let (did, _) = did_of(&issuer);
        let url = "https://a.example/status-lists/co/revocation-1";
        let mut tampered = list_vc(url, &issuer, StatusPurpose::Revocation, &[5]).await;
        tampered["credentialSubject"]["encodedList"] = json!(StatusList::minimum().encode().unwrap());
        for (list, why) in [
            (list_vc(url, &other, StatusPurpose::Revocation, &[]).await, "another issuer"),
            (tampered, "does not verify"),
        ] {
            let source = Fixed([(url.to_owned(), list)].into(), HashMap::new());
            let vc = credential(&did, json!(entry(url, StatusPurpose::Revocation, 5)));
            let mut report = Report::new();
            check_bitstring(&mut report, "", &vc, &source, &DidKeyResolver, now()).await;
            assert!(!report.verified, "{why}");
            let detail = report.failures().next().unwrap().detail.clone().unwrap();
            assert!(detail.contains(why), "{detail}");
        }
        // Unreachable list: fails, never passes by default.
        let source = Fixed(HashMap::new(), HashMap::new());
        let vc = credential(&did, json!(entry(url, StatusPurpose::Revocation, 1)));
        let mut report = Report::new();
        check_bitstring(&mut report, "", &vc, &source, &DidKeyResolver, now()).await;
        assert!(!report.verified && report.failures().next().unwrap().name == "status.revocation");
    }

    async fn token_jwt(signer: &LocalSigner, uri: &str, statuses: &[(u32, u8)], exp: Option<OffsetDateTime>) -> String {
        let (did, vm) = did_of(signer);
        let mut list = TokenStatusList::new(idelta_revocation::token_status::Bits::TWO);
        for &(i, s) in statuses {
            list.set(StatusIndex::new(i), TokenStatus(s)).unwrap();
        }
        let mut claims = StatusListToken::new(uri, &list, now()).unwrap().issuer(&did);
        if let Some(exp) = exp {
            claims = claims.expires(exp);
        }
        let header = json!({ "alg": "EdDSA", "kid": vm, "typ": STATUS_LIST_JWT_TYP });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.claims().to_string())
        );
        let sig = signer.sign(input.as_bytes()).await.unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    #[tokio::test]
    async fn token_status_valid_invalid_suspended_and_expired() {
        let issuer = LocalSigner::from_seed([1; 32]);
        let (did, _) = did_of(&issuer);
        let uri = "https://a.example/status-lists/co/token-1";
        let jwt = token_jwt(&issuer, uri, &[(3, 1), (4, 2)], None).await;
        let source = Fixed(HashMap::new(), [(uri.to_owned(), jwt.clone())].into());
        for (idx, expect) in [(2u32, None), (3, Some("revoked")), (4, Some("suspended"))] {
            let claim = StatusClaim::new(uri, StatusIndex::new(idx)).to_json();
            let mut report = Report::new();
            check_token_status(&mut report, "", &claim, &did, &source, &DidKeyResolver, now()).await;
            assert_eq!(report.failures().next().and_then(|c| c.detail.as_deref()), expect, "{idx}");
        }
        let claim = StatusClaim::new(uri, StatusIndex::new(2)).to_json();
        let expired = token_jwt(&issuer, uri, &[], Some(now() - time::Duration::seconds(1))).await;
        let other = LocalSigner::from_seed([2; 32]);
        let mut flipped = jwt.clone();
        flipped.replace_range(flipped.len() - 3.., if jwt.ends_with("AAA") { "BBB" } else { "AAA" });
        for (token, why) in [
            (expired, "expired"),
            (token_jwt(&other, uri, &[], None).await, "not by the issuer"),
            (flipped, "signature"),
        ] {
            let source = Fixed(HashMap::new(), [(uri.to_owned(), token)].into());
            let mut report = Report::new();
            check_token_status(&mut report, "", &claim, &did, &source, &DidKeyResolver, now()).await;
            let detail = report.failures().next().and_then(|c| c.detail.clone()).unwrap_or_default();
            assert!(detail.contains(why), "{why}: {detail}");
        }
    }
}
