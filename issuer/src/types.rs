//! The credential types idelta issues (design.md §6), each with a JSON
//! Schema (2020-12) bundled in the binary, so that issuing and verifying
//! never fetch one.
//!
//! A schema validates a whole W3C VC Data Model 2.0 credential, the way
//! W3C VC JSON Schema (§2.1, `JsonSchema`) applies it; the claims it
//! describes are terms of idelta's JSON-LD context
//! ([`contexts::IDELTA_V1`]), which a test here keeps true. A credential
//! names its schema with `credentialSchema: { id: <schema URL>, type:
//! "JsonSchema" }`; an SD-JWT VC names it as its `vct`.

use crate::data_integrity::contexts;
use serde_json::Value;

/// Where idelta's schemas live: `{SCHEMA_BASE}{type}` is each schema's
/// `$id`, and the agent serves it at `/schemas/{type}`.
pub const SCHEMA_BASE: &str = "https://idelta.example/schemas/";

/// The `credentialSchema.type` of a JSON Schema (W3C VC JSON Schema §2.1).
pub const JSON_SCHEMA: &str = "JsonSchema";

/// One credential type: its name (a `type` of the credential) and its
/// bundled JSON Schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialType {
    /// The type's name, as listed in the credential's `type`.
    pub name: &'static str,
    /// The schema's URL (its `$id`), also the SD-JWT VC `vct`.
    pub schema_id: &'static str,
    /// The JSON Schema document, exactly as bundled and served.
    pub schema: &'static str,
}

impl CredentialType {
    /// The schema parsed as JSON (bundled text a test proves valid).
    pub fn schema_json(&self) -> Value {
        serde_json::from_str(self.schema).unwrap_or(Value::Null)
    }

    /// The JSON-LD context defining the type and its claims.
    pub fn context(&self) -> &'static str {
        contexts::IDELTA_V1
    }
}

/// A bundled type: its schema is `schemas/{name}.json` with `$id`
/// `{SCHEMA_BASE}{name}` (a test checks that the two agree).
macro_rules! bundled {
    ($name:literal) => {
        CredentialType {
            name: $name,
            schema_id: concat!("https://idelta.example/schemas/", $name),
            schema: include_str!(concat!("../schemas/", $name, ".json")),
        }
    };
}

/// Every credential type idelta issues.
pub const TYPES: [CredentialType; 4] = [
    bundled!("EmployeeCredential"),
    bundled!("BenefitOwnershipCredential"),
    bundled!("VoterEligibilityCredential"),
    bundled!("DeviceAttestationCredential"),
];

/// The type named `name`.
pub fn by_name(name: &str) -> Option<&'static CredentialType> {
    TYPES.iter().find(|t| t.name == name)
}

/// The type whose schema URL is `id`.
pub fn by_schema_id(id: &str) -> Option<&'static CredentialType> {
    TYPES.iter().find(|t| t.schema_id == id)
}

/// Why a credential's type is ambiguous.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypeError {
    /// Returned when a credential lists two or more of idelta's types: it
    /// would have to satisfy two schemas and carry two `vct`s.
    #[error("credential.type lists more than one idelta credential type: {0} and {1}")]
    Ambiguous(&'static str, &'static str),
}

/// The idelta type that a credential's `type` member (a string or an
/// array) lists, if any; other types pass through as `None`.
pub fn of_types(type_member: Option<&Value>) -> Result<Option<&'static CredentialType>, TypeError> {
    let names: Vec<&str> = match type_member {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut found: Option<&'static CredentialType> = None;
    for t in names.into_iter().filter_map(by_name) {
        match found {
            Some(first) if first.name != t.name => return Err(TypeError::Ambiguous(first.name, t.name)),
            _ => found = Some(t),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::json;

    #[test]
    fn each_schema_is_the_type_it_says_and_lives_under_the_base() {
        for t in TYPES {
            let schema = t.schema_json();
            assert_eq!(schema["$id"], t.schema_id, "{}", t.name);
            assert_eq!(schema["title"], t.name);
            assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
            assert_eq!(t.schema_id, format!("{SCHEMA_BASE}{}", t.name));
            assert_eq!(by_name(t.name), Some(&t));
            assert_eq!(by_schema_id(t.schema_id), Some(&t));
            assert_eq!(t.context(), contexts::IDELTA_V1);
        }
    }

    /// Every claim a schema describes is a protected term of idelta's
    /// context (or `id`), and so is every type: a schema never asks for a
    /// claim that JSON-LD processing would treat as undefined.
    #[test]
    fn schemas_and_the_context_agree() {
        let context: Value = serde_json::from_str(contexts::context_document(contexts::IDELTA_V1).unwrap()).unwrap();
        let terms = context["@context"].as_object().unwrap();
        assert_eq!(terms["@protected"], true);
        for t in TYPES {
            assert!(terms.contains_key(t.name), "{} is not in the context", t.name);
            let subject = &t.schema_json()["properties"]["credentialSubject"];
            assert_eq!(subject["additionalProperties"], false, "{}: the subject is closed", t.name);
            for claim in subject["properties"].as_object().unwrap().keys() {
                assert!(claim == "id" || terms.contains_key(claim), "{}: `{claim}` is not in the context", t.name);
            }
            for required in subject["required"].as_array().unwrap() {
                let r = required.as_str().unwrap();
                assert!(subject["properties"].get(r).is_some(), "{}: required `{r}` is not described", t.name);
            }
        }
    }

    #[test]
    fn a_credential_names_at_most_one_type() {
        let of = |t: Value| of_types(Some(&t));
        assert_eq!(of(json!(["VerifiableCredential"])), Ok(None));
        assert_eq!(of_types(None), Ok(None));
        let employee = of(json!(["VerifiableCredential", "EmployeeCredential"])).unwrap();
        assert_eq!(employee.map(|t| t.name), Some("EmployeeCredential"));
        assert_eq!(of(json!("EmployeeCredential")).unwrap(), employee);
        assert_eq!(
            of(json!(["EmployeeCredential", "VoterEligibilityCredential"])),
            Err(TypeError::Ambiguous("EmployeeCredential", "VoterEligibilityCredential"))
        );
    }
}
