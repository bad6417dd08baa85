//! JSON-LD to RDF and RDF Dataset Canonicalization (RDFC-1.0), for
//! `eddsa-rdfc-2022` (Data Integrity EdDSA Cryptosuites v1.0 §3.2.3,
//! "Transformation (eddsa-rdfc-2022)").
//!
//! `bbs-2023` (`crate::bbs_2023`) builds on the same conversion, in the
//! safe form [`to_dataset_safe`].
//!
//! Expansion and `toRdf` are the `json-ld` crate's (the one `sophia_jsonld`
//! wraps and re-exports), canonicalization is `sophia_c14n::rdfc10`.
//! Contexts come only from [`super::contexts`]; an unknown context URL
//! fails the load.
//!
//! Processing a context costs more than expanding a credential with it
//! (the VC 2.0 context defines thirty-one protected terms), and every
//! credential and proof configuration an issuer signs carries the same
//! `@context`. So the bundled contexts are parsed once, and the active
//! context a top-level `@context` value produces is processed once and
//! kept: the document is then expanded, without its top-level `@context`
//! entry, from that active context. That is exactly what the Expansion
//! Algorithm does with the entry (JSON-LD 1.1 Processing Algorithms §5.1.2
//! step 9: the active context becomes the result of processing the entry's
//! value against the initial context, with the document's base URL), so
//! the dataset, and the canonical N-Quads, are the same. Nested `@context`
//! entries and type-scoped contexts are processed as usual.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use locspan::Meta;
use parking_lot::Mutex;
use sophia_api::quad::Spog;
use sophia_api::source::QuadSource;
use sophia_api::term::SimpleTerm;
use sophia_jsonld::json_ld::context_processing::{Options as ProcessingOptions, Process as _};
use sophia_jsonld::json_ld::expansion::{Expand as _, Policy};
use sophia_jsonld::json_ld::future::{BoxFuture, FutureExt as _};
use sophia_jsonld::json_ld::rdf::RdfQuads as _;
use sophia_jsonld::json_ld::syntax::{Parse as _, TryFromJson as _, Value as Json};
use sophia_jsonld::json_ld::{self, Loader, RemoteDocument};
use sophia_jsonld::vocabulary::{ArcBnode, ArcIri, ArcVoc};
use sophia_jsonld::{JsonLdQuadSource, RdfTerm};

use super::contexts::BUNDLED;
use super::{Error, Result};

/// An RDF dataset as JSON-LD `toRdf` produces it: a set, so duplicate
/// statements collapse as RDF requires.
pub type Dataset = HashSet<Spog<SimpleTerm<'static>>>;

/// The metadata the JSON-LD crate keeps on every JSON node: none. Source
/// locations would only improve error messages, and cloning them (an `Arc`
/// per node, and active contexts are cloned for every type-scoped context)
/// cost more than the processing itself.
type Loc = ();
/// A JSON-LD context definition as the JSON-LD crate reads it.
type ContextSyntax = json_ld::syntax::context::Value<Loc>;
/// An active context: what processing a context yields.
type ActiveContext = json_ld::Context<ArcIri, ArcBnode, ContextSyntax, Loc>;

/// Most distinct top-level `@context` values whose active context is kept.
/// A credential's `@context` is one of a handful; anything past the bound
/// is processed each time, so odd input cannot grow the cache.
const ACTIVE_CONTEXTS_CAPACITY: usize = 64;

/// Most proof configurations whose canonical form is kept; past it the
/// cache starts over (a few per signing key and second are live).
const CONFIGURATIONS_CAPACITY: usize = 4_096;
/// Longest proof configuration kept, in bytes of JSON: real ones are a
/// few hundred, and the bound keeps the cache's memory bounded too.
const CONFIGURATION_MAX_LEN: usize = 2_048;

/// The base URL of a document given as a string, as `sophia_jsonld` uses it.
fn document_base() -> ArcIri {
    ArcIri::new_unchecked(Arc::from("x-string://"))
}

/// The RDFC-1.0 canonical N-Quads of the JSON-LD document `doc`, in
/// JSON-LD's safe mode: a key no context defines is an error, not dropped,
/// so no member a verifier is shown can be left out of what is signed
/// (Digital Bazaar canonicalizes the same way and refuses such documents).
///
/// A proof configuration (a document typed `DataIntegrityProof`) is the
/// same for every proof one key makes within a second, for issuer and
/// verifier alike, so its canonical form is kept, by its exact JSON text.
pub fn canonical_nquads(doc: &serde_json::Value) -> Result<String> {
    let text = json_text(doc)?;
    let configuration = doc.get("type").and_then(serde_json::Value::as_str) == Some("DataIntegrityProof");
    if !configuration || text.len() > CONFIGURATION_MAX_LEN {
        return canonical_nquads_of(&dataset_of_text(&text, Policy::Strict)?);
    }
    static KEPT: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let kept = KEPT.get_or_init(Mutex::default);
    if let Some(nquads) = kept.lock().get(&text) {
        return Ok(nquads.clone());
    }
    let nquads = canonical_nquads_of(&dataset_of_text(&text, Policy::Strict)?)?;
    let mut kept = kept.lock();
    if kept.len() >= CONFIGURATIONS_CAPACITY {
        kept.clear();
    }
    kept.insert(text, nquads.clone());
    Ok(nquads)
}

/// The RDFC-1.0 canonical N-Quads of `dataset`.
pub fn canonical_nquads_of(dataset: &Dataset) -> Result<String> {
    let mut out = Vec::new();
    sophia_c14n::rdfc10::normalize(dataset, &mut out).map_err(|e| Error::Canonicalization(format!("RDFC-1.0: {e}")))?;
    String::from_utf8(out).map_err(|e| Error::Canonicalization(e.to_string()))
}

/// The RDF dataset of the JSON-LD document `doc` (JSON-LD 1.1 `toRdf`).
/// Keys the contexts do not define are dropped, as JSON-LD prescribes.
pub fn to_dataset(doc: &serde_json::Value) -> Result<Dataset> {
    dataset_of_text(&json_text(doc)?, Policy::Standard)
}

/// The RDF dataset of `doc`, refusing keys the contexts do not define
/// instead of dropping them (Digital Bazaar's "safe mode"): a claim that
/// produces no statement would be shown to a verifier without being signed.
pub fn to_dataset_safe(doc: &serde_json::Value) -> Result<Dataset> {
    dataset_of_text(&json_text(doc)?, Policy::Strict)
}

fn json_text(doc: &serde_json::Value) -> Result<String> {
    serde_json::to_string(doc).map_err(|e| Error::Canonicalization(e.to_string()))
}

/// The RDF dataset of the JSON-LD document whose JSON text is `text`.
fn dataset_of_text(text: &str, policy: Policy) -> Result<Dataset> {
    let base = document_base();
    let Meta(json, meta) = Json::parse_str(text, |_| ()).map_err(|e| Error::Canonicalization(format!("JSON: {e}")))?;
    // Every context is in memory, so the loader's futures are ready at once:
    // blocking here never waits on I/O, and callers need not be async.
    let quads = futures::executor::block_on(quads(json, meta, base, policy))?;
    JsonLdQuadSource::Quads(quads.into_iter())
        .collect_quads()
        .map_err(|e| Error::Canonicalization(format!("JSON-LD to RDF: {e}")))
}

/// Expands the document (from the kept active context of its top-level
/// `@context`) and lists its RDF quads, blank nodes labelled as `toRdf`
/// labels them.
async fn quads(mut json: Json<Loc>, meta: Loc, base: ArcIri, policy: Policy) -> Result<Vec<Spog<RdfTerm>>> {
    let failed = |what: &str, e: &dyn std::fmt::Display| Error::Canonicalization(format!("JSON-LD {what}: {e}"));
    let mut vocabulary = ArcVoc {};
    let mut loader = BundledLoader;
    let mut options = json_ld::Options::<ArcIri, Loc, ContextSyntax>::default().unordered();
    options.expansion_policy = policy;
    let top_context = match &mut json {
        Json::Object(object) => object.remove("@context").next().map(|entry| entry.value),
        _ => None,
    };
    let active = match top_context {
        Some(context) => active_context(&mut vocabulary, &mut loader, context, &base, &options).await?,
        None => Arc::new(ActiveContext::new(Some(base.clone()))),
    };
    let mut expanded = Meta(json, meta)
        .expand_full(
            &mut vocabulary,
            ActiveContext::clone(&active),
            Some(&base),
            &mut loader,
            options.expansion_options(),
            (),
        )
        .await
        .map_err(|e| {
            let e = e.into_value().to_string();
            if policy == Policy::Strict && e.contains("Key expansion") {
                failed("expansion", &format!("{e}: a member's key is no term of the document's @context (safe mode refuses it rather than leave it unsigned)"))
            } else {
                failed("expansion", &e)
            }
        })?;
    let mut generator = rdf_types::generator::Blank::new().with_metadata(());
    expanded.relabel_and_canonicalize_with(&mut vocabulary, &mut generator);
    let quads = expanded
        .rdf_quads_full(&mut vocabulary, &mut generator, options.rdf_direction, options.produce_generalized_rdf)
        .cloned()
        .map(|rdf_types::Quad(s, p, o, g)| {
            ([RdfTerm::from(s), RdfTerm::from(p), RdfTerm::from(o)], g.map(RdfTerm::from))
        })
        .collect();
    Ok(quads)
}

/// The active context that processing `context` against the initial
/// context yields, kept per distinct `@context` value.
async fn active_context(
    vocabulary: &mut ArcVoc,
    loader: &mut BundledLoader,
    context: Meta<Json<Loc>, Loc>,
    base: &ArcIri,
    options: &json_ld::Options<ArcIri, Loc, ContextSyntax>,
) -> Result<Arc<ActiveContext>> {
    static KEPT: OnceLock<Mutex<HashMap<String, Arc<ActiveContext>>>> = OnceLock::new();
    let kept = KEPT.get_or_init(Mutex::default);
    let key = context.value().to_string();
    if let Some(active) = kept.lock().get(&key) {
        return Ok(Arc::clone(active));
    }
    let syntax = ContextSyntax::try_from_json(context)
        .map_err(|e| Error::Canonicalization(format!("JSON-LD @context: {}", e.value())))?;
    let processing: ProcessingOptions = options.expansion_options().into();
    let active = syntax
        .process_with(vocabulary, &ActiveContext::new(Some(base.clone())), loader, Some(base.clone()), processing)
        .await
        .map_err(|e| Error::Canonicalization(format!("JSON-LD context processing: {}", e.value())))?
        .into_processed();
    let active = Arc::new(active);
    let mut kept = kept.lock();
    if kept.len() < ACTIVE_CONTEXTS_CAPACITY {
        kept.insert(key, Arc::clone(&active));
    }
    Ok(active)
}

/// Loads only the bundled contexts, each parsed once.
struct BundledLoader;

/// A bundled context document, parsed (or why it does not parse).
type ParsedContext = std::result::Result<Meta<Json<Loc>, Loc>, String>;

/// The bundled contexts, parsed: `(url, document)`.
fn parsed_contexts() -> &'static [(&'static str, ParsedContext)] {
    static PARSED: OnceLock<Vec<(&'static str, ParsedContext)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        BUNDLED
            .iter()
            .map(|(url, doc)| {
                let parsed = Json::parse_str(doc, |_| ()).map_err(|e| e.to_string());
                (*url, parsed)
            })
            .collect()
    })
}

impl Loader<ArcIri, Loc> for BundledLoader {
    type Output = Json<Loc>;
    type Error = String;

    fn load_with<'a>(
        &'a mut self,
        _vocabulary: &'a mut (impl Sync + Send + rdf_types::IriVocabularyMut<Iri = ArcIri>),
        url: ArcIri,
    ) -> BoxFuture<'a, json_ld::LoadingResult<ArcIri, Loc, Json<Loc>, String>>
    where
        ArcIri: 'a,
    {
        async move {
            let found = parsed_contexts().iter().find(|(u, _)| *u == url.as_str());
            match found {
                Some((_, Ok(doc))) => {
                    let media = "application/ld+json".parse().map_err(|_| "media type".to_owned())?;
                    Ok(RemoteDocument::new(Some(url), Some(media), doc.clone()))
                }
                Some((_, Err(e))) => Err(format!("bundled context {} does not parse: {e}", url.as_str())),
                None => Err(format!("context {} is not bundled; contexts are never fetched", url.as_str())),
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::data_integrity::contexts::{context_document, CREDENTIALS_V2, IDELTA_V1, MULTIKEY_V1};
    use serde_json::json;
    use sophia_jsonld::loader::ClosureLoader;
    use sophia_jsonld::{JsonLdOptions, JsonLdParser};

    /// What `sophia_jsonld`'s own parser makes of `doc` in safe mode, every
    /// context processed where it stands: the reference the kept contexts
    /// must match.
    fn reference_nquads(doc: &serde_json::Value) -> Result<String> {
        canonical_nquads_of(&reference_dataset(doc, Policy::Strict)?)
    }

    fn reference_dataset(doc: &serde_json::Value, policy: Policy) -> Result<Dataset> {
        let options = JsonLdOptions::new().with_expansion_policy(policy).with_document_loader_closure(|| {
            ClosureLoader::new(|iri: sophia_api::prelude::Iri<String>| -> BoxFuture<'static, Result<String, String>> {
                let url = iri.as_str().to_owned();
                async move { context_document(&url).map(str::to_owned).ok_or_else(|| format!("{url} is not bundled")) }
                    .boxed()
            })
        });
        let parser = JsonLdParser::new_with_options(options);
        let source = futures::executor::block_on(parser.async_parse_str(&doc.to_string()));
        source.collect_quads().map_err(|e| Error::Canonicalization(e.to_string()))
    }

    fn documents() -> Vec<serde_json::Value> {
        let credential = json!({
            "@context": [CREDENTIALS_V2, IDELTA_V1],
            "type": ["VerifiableCredential", "EmployeeCredential"],
            "issuer": { "id": "did:idelta:z6MkIssuer", "name": "Acme" },
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {
                "id": "did:key:z6MkHolder",
                "employer": "Acme",
                "employeeId": "E-1",
                "employedSince": "2024-03-01T09:00:00Z",
            },
            "credentialStatus": {
                "id": "https://idelta.example/status/1#42",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "42",
                "statusListCredential": "https://idelta.example/status/1",
            },
        });
        let proof_config = json!({
            "@context": [CREDENTIALS_V2, IDELTA_V1],
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2026-01-01T00:00:00Z",
            "verificationMethod": "did:idelta:z6MkIssuer#key-1",
            "proofPurpose": "assertionMethod",
        });
        let mut embedded = credential.clone();
        embedded["proof"] = proof_config.clone();
        embedded["proof"].as_object_mut().unwrap().remove("@context");
        embedded["proof"]["proofValue"] =
            "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a22gkfUKods5D2UAUL5n2Brbx".into();
        let presentation = json!({
            "@context": [CREDENTIALS_V2],
            "type": ["VerifiablePresentation"],
            "holder": "did:key:z6MkHolder",
            "verifiableCredential": [embedded],
        });
        let nested_context = json!({
            "@context": CREDENTIALS_V2,
            "type": "VerifiableCredential",
            "issuer": "did:key:z6MkIssuer",
            "credentialSubject": {
                "@context": [MULTIKEY_V1, { "nickname": "https://example.com/vocab#nickname" }],
                "id": "did:key:z6MkHolder",
                "nickname": "Ally",
            },
        });
        let inline_context = json!({
            "@context": [CREDENTIALS_V2, { "@vocab": "https://example.com/vocab#", "@base": "https://example.com/" }],
            "id": "credentials/7",
            "type": ["VerifiableCredential", "Other"],
            "issuer": "did:key:z6MkIssuer",
            "credentialSubject": { "free": ["a", 1, 2.5, true, null], "when": { "@value": "x", "@language": "en" } },
        });
        let no_context = json!({ "http://schema.org/name": "no context", "@id": "https://example.com/x" });
        vec![credential, proof_config, presentation, nested_context, inline_context, no_context]
    }

    #[test]
    fn kept_contexts_canonicalize_exactly_as_full_processing_does() {
        for doc in documents() {
            let want = reference_nquads(&doc).unwrap();
            assert!(!want.is_empty() || doc.get("@context").is_none(), "{doc}");
            // Twice: the first processes and keeps the context, the second reuses it.
            assert_eq!(canonical_nquads(&doc).unwrap(), want, "first: {doc}");
            assert_eq!(canonical_nquads(&doc).unwrap(), want, "again: {doc}");
        }
    }

    #[test]
    fn the_safe_form_refuses_what_the_reference_refuses() {
        let undefined = json!({ "@context": [CREDENTIALS_V2], "type": "VerifiableCredential", "undefinedTerm": 1 });
        assert!(reference_dataset(&undefined, Policy::Strict).is_err());
        assert!(to_dataset_safe(&undefined).is_err());
        assert_eq!(to_dataset(&undefined).unwrap(), reference_dataset(&undefined, Policy::Standard).unwrap());
        for doc in documents().into_iter().take(5) {
            assert_eq!(to_dataset_safe(&doc).ok(), reference_dataset(&doc, Policy::Strict).ok(), "{doc}");
        }
    }

    #[test]
    fn errors_stay_errors() {
        // An unknown context; a protected term redefined.
        let top = json!({ "@context": ["https://example.com/unknown"], "type": "Thing" });
        let protected = json!({ "@context": [CREDENTIALS_V2, { "name": "https://example.com/mine" }], "name": "x" });
        for doc in [top, protected] {
            assert!(reference_nquads(&doc).is_err(), "the reference accepts {doc}");
            assert!(canonical_nquads(&doc).is_err(), "{doc}");
            assert!(canonical_nquads(&doc).is_err(), "again: {doc}");
        }
        // A nested unknown context: whatever the reference makes of it.
        let nested = json!({
            "@context": [CREDENTIALS_V2],
            "credentialSubject": { "@context": "https://example.com/unknown", "id": "did:example:1", "x": 1 },
        });
        assert_eq!(canonical_nquads(&nested).ok(), reference_nquads(&nested).ok(), "{nested}");
    }
}
