//! Credential schemas: the `schema` check.
//!
//! A credential naming `credentialSchema: { id, type: "JsonSchema" }` (W3C
//! VC JSON Schema §2.1) is validated against that JSON Schema (2020-12,
//! formats asserted), which must be one of the schemas bundled with idelta
//! ([`idelta_issuer::types`]): verification never fetches a schema, so an
//! unknown id fails the check rather than being looked up. An SD-JWT VC
//! whose `vct` is one of those schema URLs has its disclosed claims
//! validated the same way, except that a claim the holder chose not to
//! disclose is not missing; so is a `bbs-2023` derived credential's.
//!
//! Each schema is compiled once per process.

use crate::report::Report;
use idelta_issuer::types::{self, CredentialType, JSON_SCHEMA};
use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// Most violations named in one answer.
const MAX_VIOLATIONS: usize = 8;

/// One way a credential breaks its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the offending value (`/credentialSubject/shares`);
    /// `""` is the credential itself.
    pub path: String,
    /// What is wrong there, as the validator says it.
    pub message: String,
    /// Whether it is a required member that is absent.
    pub missing: bool,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        write!(f, "{path}: {}", self.message)
    }
}

/// The violations, `; `-separated, at most [`MAX_VIOLATIONS`] of them.
pub fn describe(violations: &[Violation]) -> String {
    let mut text: Vec<String> = violations.iter().take(MAX_VIOLATIONS).map(Violation::to_string).collect();
    if violations.len() > MAX_VIOLATIONS {
        text.push(format!("and {} more", violations.len() - MAX_VIOLATIONS));
    }
    text.join("; ")
}

fn validators() -> &'static [Result<Validator, String>] {
    static VALIDATORS: OnceLock<Vec<Result<Validator, String>>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        types::TYPES
            .iter()
            .map(|t| {
                jsonschema::draft202012::options()
                    .should_validate_formats(true)
                    .build(&t.schema_json())
                    .map_err(|e| format!("the bundled schema of {} does not compile: {e}", t.name))
            })
            .collect()
    })
}

/// Validates a whole credential against the bundled schema of `t`.
pub fn validate(t: &CredentialType, credential: &Value) -> Result<(), Vec<Violation>> {
    let index = types::TYPES.iter().position(|known| known.name == t.name);
    let validator = match index.and_then(|i| validators().get(i)) {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(vec![Violation { path: String::new(), message: e.clone(), missing: false }]),
        None => {
            let message = format!("{} has no bundled schema", t.name);
            return Err(vec![Violation { path: String::new(), message, missing: false }]);
        }
    };
    let violations: Vec<Violation> = validator
        .iter_errors(credential)
        .map(|e| Violation {
            path: e.instance_path().to_string(),
            message: e.to_string(),
            missing: matches!(e.kind(), ValidationErrorKind::Required { .. }),
        })
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// The `credentialSchema` entries of a credential (an object or an array).
fn schema_refs(credential: &Value) -> Option<Vec<&Value>> {
    match credential.get("credentialSchema")? {
        Value::Array(refs) => Some(refs.iter().collect()),
        one => Some(vec![one]),
    }
}

/// Checks one `credentialSchema` entry.
fn check_ref(credential: &Value, reference: &Value) -> Result<(), String> {
    let id = reference.get("id").and_then(Value::as_str).ok_or("credentialSchema has no id")?;
    let kind = reference.get("type").and_then(Value::as_str).ok_or("credentialSchema has no type")?;
    if kind != JSON_SCHEMA {
        return Err(format!("credentialSchema type `{kind}` is not supported (only {JSON_SCHEMA})"));
    }
    let t = types::by_schema_id(id).ok_or_else(|| {
        format!("unknown schema {id}: only the bundled schemas are used, and verification never fetches one")
    })?;
    // A bbs-2023 derived credential discloses what its holder chose: a
    // required member it left out is withheld, not missing.
    let withheld_ok = crate::bbs_2023::is_bbs_2023(credential);
    match validate(t, credential) {
        Ok(()) => Ok(()),
        Err(v) => {
            let real: Vec<Violation> = v.into_iter().filter(|v| !(withheld_ok && v.missing)).collect();
            if real.is_empty() {
                Ok(())
            } else {
                Err(format!("the credential does not match {id}: {}", describe(&real)))
            }
        }
    }
}

/// Adds the check `name` (`schema`, or `credential[i].schema` inside a
/// presentation) when `credential` names a `credentialSchema`: every entry
/// must be a bundled JSON Schema that the credential satisfies. A
/// credential naming none gets no check.
pub fn check(credential: &Value, report: &mut Report, name: &str) {
    let Some(refs) = schema_refs(credential) else { return };
    let outcome = if refs.is_empty() {
        Err("credentialSchema is an empty list".to_owned())
    } else {
        refs.into_iter().try_for_each(|r| check_ref(credential, r))
    };
    report.check(name, outcome);
}

/// SD-JWT VC: when `vct` is a bundled schema's URL, adds the check
/// `schema` over the disclosed claims (as the credential's subject, `sub`
/// as its `id`, the JWT's registered claims left out). A required claim
/// that was not disclosed is not a violation: selective disclosure may
/// withhold it.
pub fn check_sd_jwt_claims(claims: &Map<String, Value>, report: &mut Report) {
    const REGISTERED: [&str; 9] = ["iss", "iat", "nbf", "exp", "vct", "vct#integrity", "cnf", "status", "sub"];
    let Some(t) = claims.get("vct").and_then(Value::as_str).and_then(types::by_schema_id) else { return };
    let mut subject: Map<String, Value> =
        claims.iter().filter(|(k, _)| !REGISTERED.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(sub) = claims.get("sub") {
        subject.insert("id".into(), sub.clone());
    }
    let credential = serde_json::json!({ "credentialSubject": subject });
    let outcome = match validate(t, &credential) {
        Ok(()) => Ok(()),
        Err(v) => {
            let real: Vec<Violation> = v.into_iter().filter(|v| !v.missing).collect();
            if real.is_empty() {
                Ok(())
            } else {
                Err(format!("the disclosed claims do not match {}: {}", t.schema_id, describe(&real)))
            }
        }
    };
    report.check("schema", outcome);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::json;

    fn employee(subject: Value) -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://idelta.example/contexts/v1"],
            "type": ["VerifiableCredential", "EmployeeCredential"],
            "credentialSchema": { "id": "https://idelta.example/schemas/EmployeeCredential", "type": "JsonSchema" },
            "credentialSubject": subject,
        })
    }

    fn run(credential: &Value) -> Report {
        let mut report = Report::new();
        report.check("signature", Ok(()));
        check(credential, &mut report, "schema");
        report
    }

    #[test]
    fn every_bundled_schema_compiles() {
        for (t, v) in types::TYPES.iter().zip(validators()) {
            assert!(v.is_ok(), "{}: {:?}", t.name, v.as_ref().err());
        }
    }

    #[test]
    fn a_valid_credential_passes_and_a_broken_one_is_named() {
        let good = employee(json!({ "id": "did:example:ada", "employer": "Acme", "employeeId": "E-1" }));
        let report = run(&good);
        assert!(report.verified && report.passed("schema"), "{report:?}");

        let missing = employee(json!({ "employer": "Acme" }));
        let report = run(&missing);
        assert!(!report.verified);
        let detail = report.failures().next().unwrap().detail.clone().unwrap();
        assert!(detail.contains("/credentialSubject") && detail.contains("employeeId"), "{detail}");

        let wrong = employee(json!({ "employer": "Acme", "employeeId": 7, "salary": 1 }));
        let violations = validate(types::by_name("EmployeeCredential").unwrap(), &wrong).unwrap_err();
        let text = describe(&violations);
        assert!(text.contains("/credentialSubject/employeeId"), "{text}");
        assert!(text.contains("salary"), "an unknown claim is named: {text}");

        let bad_date = employee(json!({ "employer": "Acme", "employeeId": "E-1", "employedSince": "last year" }));
        let text = describe(&validate(types::by_name("EmployeeCredential").unwrap(), &bad_date).unwrap_err());
        assert!(text.contains("/credentialSubject/employedSince"), "formats are asserted: {text}");
    }

    #[test]
    fn a_bbs_derived_credential_may_withhold_but_not_break() {
        let mut withheld = employee(json!({ "employer": "Acme" }));
        withheld["proof"] = json!({ "type": "DataIntegrityProof", "cryptosuite": "bbs-2023" });
        let report = run(&withheld);
        assert!(report.verified, "an undisclosed employeeId is not missing: {report:?}");
        withheld["credentialSubject"]["employeeId"] = json!(7);
        assert!(!run(&withheld).verified, "a disclosed claim of the wrong type still fails");
    }

    #[test]
    fn unknown_or_unsupported_schemas_fail_and_none_means_no_check() {
        let mut c = employee(json!({ "employer": "Acme", "employeeId": "E-1" }));
        c["credentialSchema"]["id"] = json!("https://schemas.example/elsewhere");
        let report = run(&c);
        assert!(!report.verified);
        assert!(report.failures().next().unwrap().detail.as_deref().unwrap().contains("never fetches"));

        c["credentialSchema"] = json!({ "id": "https://idelta.example/schemas/EmployeeCredential", "type": "X" });
        assert!(!run(&c).verified);
        c["credentialSchema"] = json!([]);
        assert!(!run(&c).verified);

        c.as_object_mut().unwrap().remove("credentialSchema");
        let report = run(&c);
        assert!(report.verified && !report.checks.iter().any(|c| c.name == "schema"), "{report:?}");
    }

    #[test]
    fn sd_jwt_claims_may_withhold_but_not_break() {
        let vct = "https://idelta.example/schemas/VoterEligibilityCredential";
        let claims = |extra: Value| {
            let mut m = json!({ "iss": "did:example:i", "iat": 1, "vct": vct, "sub": "did:example:v", "_sd_alg": "x" });
            m.as_object_mut().unwrap().remove("_sd_alg");
            m.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            m.as_object().unwrap().clone()
        };
        let mut report = Report::new();
        check_sd_jwt_claims(&claims(json!({ "election": "AGM 2026" })), &mut report);
        assert!(report.passed("schema"), "an undisclosed eligibleVoter is not missing: {report:?}");

        let mut report = Report::new();
        check_sd_jwt_claims(&claims(json!({ "eligibleVoter": "yes" })), &mut report);
        assert!(!report.verified);
        assert!(report.failures().next().unwrap().detail.as_deref().unwrap().contains("eligibleVoter"));

        let mut report = Report::new();
        let mut other = claims(json!({}));
        other.insert("vct".into(), json!("https://example.com/other"));
        check_sd_jwt_claims(&other, &mut report);
        assert!(report.checks.is_empty(), "a vct of someone else's gets no schema check");
    }
}
