//! Bundled JSON-LD contexts and the document loader built on them.
//!
//! Verifying must never touch the network (VC Data Integrity 1.0 §2.4,
//! "Contexts and Vocabularies"; JSON-LD 1.1 §10.1 on privacy), so every
//! context idelta issues or accepts is compiled into the binary. A URL that
//! is not listed here is an error, never a fetch.

/// `https://www.w3.org/ns/credentials/v2`, the VC Data Model 2.0 context.
pub const CREDENTIALS_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// `https://w3id.org/security/multikey/v1`, the Multikey context.
pub const MULTIKEY_V1: &str = "https://w3id.org/security/multikey/v1";
/// `https://idelta.example/contexts/v1`, idelta's credential types.
pub const IDELTA_V1: &str = "https://idelta.example/contexts/v1";

/// The published VC 2.0 context, byte for byte as Digital Bazaar's
/// `@digitalbazaar/credentials-context` 3.2.0 ships it.
const CREDENTIALS_V2_DOC: &str = include_str!("../../contexts/credentials-v2.jsonld");
/// As `@digitalbazaar/multikey-context` 2.0.1 ships it.
const MULTIKEY_V1_DOC: &str = include_str!("../../contexts/multikey-v1.jsonld");
/// idelta's own context: `@protected` terms for its four credential types.
const IDELTA_V1_DOC: &str = include_str!("../../contexts/idelta-v1.jsonld");

/// Every bundled context: `(url, document)`.
pub const BUNDLED: &[(&str, &str)] =
    &[(CREDENTIALS_V2, CREDENTIALS_V2_DOC), (MULTIKEY_V1, MULTIKEY_V1_DOC), (IDELTA_V1, IDELTA_V1_DOC)];

/// The bundled document for `url`, if there is one.
pub fn context_document(url: &str) -> Option<&'static str> {
    BUNDLED.iter().find(|(u, _)| *u == url).map(|(_, doc)| *doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_context_is_json_with_a_context() {
        for (url, doc) in BUNDLED {
            let v: serde_json::Value = serde_json::from_str(doc).unwrap();
            assert!(v.get("@context").is_some_and(|c| c.is_object()), "{url}");
        }
        assert!(context_document("https://example.com/other").is_none());
    }
}
