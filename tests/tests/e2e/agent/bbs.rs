//! bbs-2023 derived proofs through the W3C VC API: `POST
//! /vc-api/credentials/verify` dispatches them to `verifier::bbs_2023` and
//! names every check; a changed claim and a base proof are refused. The
//! issuer is a `did:key` BLS12-381 G2 key (issuing bbs-2023 from a
//! company's wallet key is not wired into the agent yet).

use idelta_issuer::bbs_2023::{add_base_proof, derive, BaseProofOptions, BbsSecretKey};
use idelta_issuer::data_integrity::contexts;
use idelta_tests::agent::{Backend, TestAgent};
use serde_json::json;

use super::vc_api::{names, verify};
use super::Tenant;

async fn derived_proofs_verify_through_the_vc_api(backend: Backend) {
    let Some(agent) = TestAgent::start(backend).await else { return };
    let a = Tenant::register(&agent, "Acme Anvils", &[]).await;
    let key = BbsSecretKey::generate().expect("key");
    let mb = key.public_key_multibase();
    let credential = json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "issuer": format!("did:key:{mb}"),
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": { "employer": "did:idelta:acme", "employeeId": "E-7", "role": "auditor" }
    });
    let options = BaseProofOptions {
        verification_method: format!("did:key:{mb}#{mb}"),
        mandatory_pointers: vec!["/issuer".into(), "/validFrom".into()],
    };
    let secured = add_base_proof(credential, &options, &key).expect("base proof");
    let derived = derive(&secured, &["/credentialSubject/role".into()], b"").expect("derived");

    let got = verify(&agent, &a.admin, &derived).await;
    assert_eq!(got["verified"], true, "{got:#}");
    assert_eq!(names(&got["checks"])[..4], ["proof", "issuer", "signature", "validity"], "{got:#}");

    let mut tampered = derived.clone();
    tampered["credentialSubject"]["role"] = json!("administrator");
    let got = verify(&agent, &a.admin, &tampered).await;
    assert_eq!((got["verified"].as_bool(), names(&got["errors"])), (Some(false), vec!["signature"]), "{got:#}");

    let got = verify(&agent, &a.admin, &secured).await;
    assert_eq!((got["verified"].as_bool(), names(&got["errors"])), (Some(false), vec!["proof"]), "{got:#}");
}

on_both_backends!(derived_proofs_verify_through_the_vc_api);
