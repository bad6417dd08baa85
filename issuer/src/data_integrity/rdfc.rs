//! JSON-LD to RDF and RDF Dataset Canonicalization (RDFC-1.0), for
//! `eddsa-rdfc-2022` (Data Integrity EdDSA Cryptosuites v1.0 §3.2.3,
//! "Transformation (eddsa-rdfc-2022)").
//!
//! `bbs-2023` (`crate::bbs_2023`) builds on the same conversion, in the
//! safe form [`to_dataset_safe`].
//!
//! Expansion and `toRdf` are the `json-ld` crate's (through `sophia_jsonld`),
//! canonicalization is `sophia_c14n::rdfc10`. Contexts come only from
//! [`super::contexts`]; an unknown context URL fails the load.

use std::collections::HashSet;

use sophia_api::quad::Spog;
use sophia_api::source::QuadSource;
use sophia_api::term::SimpleTerm;
use sophia_jsonld::loader::{BoxFuture, ClosureLoader, FutureExt};
use sophia_jsonld::options::Policy;
use sophia_jsonld::{JsonLdOptions, JsonLdParser};

use super::contexts::context_document;
use super::{Error, Result};

/// An RDF dataset as JSON-LD `toRdf` produces it: a set, so duplicate
/// statements collapse as RDF requires.
pub type Dataset = HashSet<Spog<SimpleTerm<'static>>>;

/// The RDFC-1.0 canonical N-Quads of the JSON-LD document `doc`.
pub fn canonical_nquads(doc: &serde_json::Value) -> Result<String> {
    canonical_nquads_of(&to_dataset(doc)?)
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
    parse(doc, Policy::Standard)
}

/// The RDF dataset of `doc`, refusing keys the contexts do not define
/// instead of dropping them (Digital Bazaar's "safe mode"): a claim that
/// produces no statement would be shown to a verifier without being signed.
pub fn to_dataset_safe(doc: &serde_json::Value) -> Result<Dataset> {
    parse(doc, Policy::Strict)
}

fn parse(doc: &serde_json::Value, policy: Policy) -> Result<Dataset> {
    let text = serde_json::to_string(doc).map_err(|e| Error::Canonicalization(e.to_string()))?;
    let options = JsonLdOptions::new().with_expansion_policy(policy).with_document_loader_closure(|| {
        ClosureLoader::new(|iri: sophia_api::prelude::Iri<String>| -> BoxFuture<'static, Result<String, String>> {
            let url = iri.as_str().to_owned();
            async move {
                context_document(&url)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("context {url} is not bundled; contexts are never fetched"))
            }
            .boxed()
        })
    });
    let parser = JsonLdParser::new_with_options(options);
    // Every context is in memory, so the loader's futures are ready at once:
    // blocking here never waits on I/O, and callers need not be async.
    let source = futures::executor::block_on(parser.async_parse_str(&text));
    source.collect_quads().map_err(|e| Error::Canonicalization(format!("JSON-LD to RDF: {e}")))
}
