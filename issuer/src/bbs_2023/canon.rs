//! Canonicalization with blank node labels the verifier cannot correlate,
//! and grouping of N-Quads by JSON pointers (Data Integrity ECDSA
//! Cryptosuites v1.0 §3.4, "Selective Disclosure Functions", which
//! bbs-2023 reuses; BBS Cryptosuites v1.0 §3.2.1 createShuffledIdLabelMapFunction).
//!
//! RDFC-1.0 labels blank nodes `c14n0`, `c14n1`, … by the document's
//! structure, so two disclosures of one credential could be linked by how
//! many blank nodes precede a statement. bbs-2023 replaces each canonical
//! label by `bN`, where N ranks `HMAC(hmacKey, c14nLabel)` among the
//! document's labels: stable for the holder (who has the key), meaningless
//! to everyone else.
//!
//! Selecting by JSON pointer must keep blank nodes connected across
//! selections, so the compact document is first skolemized: every node
//! object without an `id` gets `urn:bnid:<random>_<n>`, and the IRIs are
//! turned back into blank nodes after `toRdf`. Digital Bazaar skolemizes
//! the expanded form and compacts it back; skolemizing the compact form
//! directly gives the same N-Quads for the documents credentials are, and
//! [`canonicalize_and_group`] checks that it did (the deskolemized dataset
//! must canonicalize exactly as the document itself), refusing documents
//! where it would not (e.g. `@json` literals or language maps holding
//! objects).
//!
//! JSON-LD to RDF and RDFC-1.0 are `crate::data_integrity::rdfc`'s
//! (`json-ld` through `sophia_jsonld`, `sophia_c14n`), in safe mode: a key
//! no context defines is an error, never a silently unsigned claim. N-Quads lines are
//! written here, in the canonical form of RDFC-1.0 §4.5 (the escapes of
//! N-Quads canonical form), because the labels are not RDFC-1.0's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{Map, Value};
use sha2::Sha256;
use sophia_api::quad::Spog;
use sophia_api::term::{BnodeId, SimpleTerm};
use sophia_api::MownStr;

use super::select::select;
use super::{Error, Result};
use crate::data_integrity::rdfc::{canonical_nquads_of, to_dataset_safe as to_dataset, Dataset};

const SKOLEM_PREFIX: &str = "urn:bnid:";
const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";

/// The document's N-Quads grouped by sets of JSON pointers.
pub struct Grouped {
    /// Every N-Quad of the document with shuffled labels, sorted.
    pub nquads: Vec<String>,
    /// One entry per group, in the order given.
    pub groups: Vec<Group>,
    /// Input blank node label (after deskolemization) → shuffled label `bN`.
    pub labels: HashMap<String, String>,
}

/// The N-Quads one set of pointers selects.
pub struct Group {
    /// Indexes into [`Grouped::nquads`] of the selected N-Quads.
    pub matching: BTreeSet<usize>,
    /// The selection's deskolemized dataset (empty without pointers).
    pub selection: Dataset,
}

/// Canonicalizes `document` with blank nodes shuffled by `hmac_key`, and
/// finds which of its N-Quads each group of pointers selects (ECDSA
/// Cryptosuites §3.4.11 canonicalizeAndGroup).
pub fn canonicalize_and_group(document: &Value, hmac_key: &[u8], groups: &[&[String]]) -> Result<Grouped> {
    let skolemized = skolemize(document)?;
    let dataset = deskolemized(&skolemized)?;
    if canonical_nquads_of(&dataset)? != canonical_nquads_of(&to_dataset(document)?)? {
        return Err(Error::Unsupported(
            "the document has values (such as @json literals or language maps) that bbs-2023 selection cannot address"
                .into(),
        ));
    }
    let labels = shuffled_labels(hmac_key, &canonical_ids(&dataset)?)?;
    let nquads = nquads(&dataset, &labels)?;
    let positions: HashMap<&str, usize> = nquads.iter().enumerate().map(|(i, q)| (q.as_str(), i)).collect();
    let groups = groups
        .iter()
        .map(|pointers| {
            let selection = match select(&skolemized, pointers)? {
                Some(doc) => deskolemized(&doc)?,
                None => Dataset::new(),
            };
            let matching = nquads_unsorted(&selection, &labels)?
                .iter()
                .filter_map(|q| positions.get(q.as_str()).copied())
                .collect();
            Ok(Group { matching, selection })
        })
        .collect::<Result<_>>()?;
    Ok(Grouped { nquads, groups, labels })
}

/// The sorted N-Quads of `document` (without its proof) relabelled as a
/// derived proof says: canonical label `c14nN` becomes `bM` for each
/// N → M of `label_map` (BBS Cryptosuites §3.3.8 createVerifyData step 4).
/// A blank node the map does not cover is an error.
pub fn nquads_with_label_map(document: &Value, label_map: &BTreeMap<u64, u64>) -> Result<Vec<String>> {
    let dataset = to_dataset(document)?;
    let labels = canonical_ids(&dataset)?
        .into_iter()
        .map(|(input, c14n)| {
            let to = c14n
                .strip_prefix("c14n")
                .and_then(|n| n.parse::<u64>().ok())
                .and_then(|n| label_map.get(&n))
                .ok_or_else(|| Error::ProofValue(format!("the label map does not cover blank node {c14n}")))?;
            Ok((input, format!("b{to}")))
        })
        .collect::<Result<HashMap<_, _>>>()?;
    nquads(&dataset, &labels)
}

/// Canonical labels of a dataset: input blank node label → `c14nN`
/// (RDFC-1.0 issued identifiers map).
pub fn canonical_ids(dataset: &Dataset) -> Result<HashMap<String, String>> {
    let (_, ids) =
        sophia_c14n::rdfc10::relabel(dataset).map_err(|e| Error::Canonicalization(format!("RDFC-1.0: {e}")))?;
    Ok(ids.into_iter().map(|(input, c14n)| (input.to_string(), c14n.as_str().to_owned())).collect())
}

/// Input label → `bN`, N the rank of `HMAC-SHA-256(key, c14n label)`
/// (multibase base64url) among all of them (createShuffledIdLabelMapFunction).
fn shuffled_labels(hmac_key: &[u8], canonical: &HashMap<String, String>) -> Result<HashMap<String, String>> {
    let mut hmacs = canonical
        .iter()
        .map(|(input, c14n)| {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(hmac_key).map_err(|e| Error::Sign(format!("HMAC key: {e}")))?;
            mac.update(c14n.as_bytes());
            Ok((format!("u{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())), input.clone()))
        })
        .collect::<Result<Vec<_>>>()?;
    hmacs.sort();
    Ok(hmacs.into_iter().enumerate().map(|(rank, (_, input))| (input, format!("b{rank}"))).collect())
}

/// `document` with an `id` on every node object that has none, and blank
/// node ids `_:x` turned into `urn:bnid:x`.
fn skolemize(document: &Value) -> Result<Value> {
    let mut random = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut random);
    let mut labeler = Labeler { prefix: format!("{SKOLEM_PREFIX}_{}_", hex(&random)), count: 0 };
    let mut out = document.clone();
    match &mut out {
        Value::Object(map) => labeler.node(map),
        _ => return Err(Error::NotAnObject),
    }
    Ok(out)
}

struct Labeler {
    prefix: String,
    count: usize,
}

impl Labeler {
    fn node(&mut self, map: &mut Map<String, Value>) {
        if map.contains_key("@value") {
            return;
        }
        for (key, value) in map.iter_mut() {
            if key != "@context" {
                self.value(value);
            }
        }
        if map.contains_key("@list") || map.contains_key("@set") {
            return;
        }
        let id = map.get("id").or_else(|| map.get("@id")).cloned();
        match id {
            None => {
                map.insert("id".into(), Value::String(format!("{}{}", self.prefix, self.count)));
                self.count += 1;
            }
            Some(Value::String(id)) => {
                if let Some(label) = id.strip_prefix("_:") {
                    let key = if map.contains_key("id") { "id" } else { "@id" };
                    map.insert(key.into(), Value::String(format!("{SKOLEM_PREFIX}{label}")));
                }
            }
            Some(_) => {}
        }
    }

    fn value(&mut self, value: &mut Value) {
        match value {
            Value::Object(map) => self.node(map),
            Value::Array(items) => items.iter_mut().for_each(|item| self.value(item)),
            _ => {}
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The dataset of a skolemized document, skolem IRIs back to blank nodes.
fn deskolemized(document: &Value) -> Result<Dataset> {
    let deskolemize = |term: SimpleTerm<'static>| -> Result<SimpleTerm<'static>> {
        match &term {
            SimpleTerm::Iri(iri) => match iri.as_str().strip_prefix(SKOLEM_PREFIX) {
                Some(label) => BnodeId::new(MownStr::from(label.to_owned()))
                    .map(SimpleTerm::BlankNode)
                    .map_err(|_| Error::Canonicalization(format!("`{label}` is not a blank node label"))),
                None => Ok(term),
            },
            _ => Ok(term),
        }
    };
    to_dataset(document)?
        .into_iter()
        .map(|([s, p, o], g)| -> Result<Spog<SimpleTerm<'static>>> {
            Ok(([deskolemize(s)?, deskolemize(p)?, deskolemize(o)?], g.map(deskolemize).transpose()?))
        })
        .collect()
}

/// The dataset's N-Quads with blank nodes relabelled, sorted.
fn nquads(dataset: &Dataset, labels: &HashMap<String, String>) -> Result<Vec<String>> {
    let mut lines = nquads_unsorted(dataset, labels)?;
    lines.sort_unstable();
    Ok(lines)
}

fn nquads_unsorted(dataset: &Dataset, labels: &HashMap<String, String>) -> Result<Vec<String>> {
    dataset
        .iter()
        .map(|([s, p, o], g)| {
            let mut line = String::new();
            for term in [Some(s), Some(p), Some(o), g.as_ref()].into_iter().flatten() {
                write_term(term, labels, &mut line)?;
                line.push(' ');
            }
            line.push_str(".\n");
            Ok(line)
        })
        .collect()
}

/// Writes `term` in canonical N-Quads form (RDFC-1.0 §4.5, N-Quads §4).
fn write_term(term: &SimpleTerm<'_>, labels: &HashMap<String, String>, out: &mut String) -> Result<()> {
    match term {
        SimpleTerm::Iri(iri) => {
            out.push('<');
            out.push_str(iri.as_str());
            out.push('>');
        }
        SimpleTerm::BlankNode(id) => {
            let label = labels
                .get(id.as_str())
                .ok_or_else(|| Error::Canonicalization(format!("blank node _:{} has no label", id.as_str())))?;
            out.push_str("_:");
            out.push_str(label);
        }
        SimpleTerm::LiteralDatatype(lexical, datatype) => {
            write_literal(lexical, out);
            if datatype.as_str() != XSD_STRING {
                out.push_str("^^<");
                out.push_str(datatype.as_str());
                out.push('>');
            }
        }
        SimpleTerm::LiteralLanguage(lexical, tag, direction) => {
            write_literal(lexical, out);
            out.push('@');
            out.push_str(&tag.as_str().to_ascii_lowercase());
            if let Some(direction) = direction {
                out.push_str(&format!("--{direction}"));
            }
        }
        SimpleTerm::Triple(_) | SimpleTerm::Variable(_) => {
            return Err(Error::Canonicalization("RDF 1.2 triple terms and variables are not supported".into()))
        }
    }
    Ok(())
}

fn write_literal(lexical: &str, out: &mut String) {
    out.push('"');
    for c in lexical.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if c <= '\x1f' || c == '\x7f' => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use serde_json::json;

    use super::*;
    use crate::data_integrity::contexts;
    use crate::data_integrity::rdfc::canonical_nquads;

    fn doc() -> Value {
        json!({
            "@context": [contexts::CREDENTIALS_V2, contexts::IDELTA_V1],
            "type": ["VerifiableCredential", "EmployeeCredential"],
            "issuer": "did:key:z1",
            "validFrom": "2025-01-01T00:00:00Z",
            "credentialSubject": {"employer": "did:idelta:acme", "employeeId": "E-1\n\"2\"", "role": "auditor"}
        })
    }

    #[test]
    fn lines_are_rdfc_lines_under_other_labels() {
        // Relabelled with the canonical labels themselves, the lines are
        // exactly RDFC-1.0's: the writer and the grouping agree with it.
        let dataset = to_dataset(&doc()).unwrap();
        let ids = canonical_ids(&dataset).unwrap();
        assert_eq!(ids.len(), 2, "the credential and its subject are blank nodes");
        assert_eq!(nquads(&dataset, &ids).unwrap().concat(), canonical_nquads(&doc()).unwrap());
    }

    #[test]
    fn labels_are_shuffled_by_the_hmac_key_and_groups_select() {
        let pointers = ["/credentialSubject/role".to_owned()];
        let a = canonicalize_and_group(&doc(), &[1; 32], &[&pointers, &[]]).unwrap();
        let b = canonicalize_and_group(&doc(), &[2; 32], &[&pointers]).unwrap();
        let mut labels: Vec<_> = a.labels.values().cloned().collect();
        labels.sort();
        assert_eq!(labels, ["b0", "b1"]);
        assert_eq!(a.nquads.len(), b.nquads.len());
        // The role, and on the path to it the credential's types and its
        // link to the subject; not the other claims.
        let selected: Vec<_> = a.groups[0].matching.iter().map(|&i| a.nquads[i].as_str()).collect();
        assert_eq!(selected.len(), 4, "{selected:?}");
        assert_eq!(a.nquads.len(), 8, "{:?}", a.nquads);
        assert!(selected.iter().any(|q| q.contains("\"auditor\"")));
        assert!(selected.iter().filter(|q| q.contains("#type>")).count() == 2);
        assert!(selected.iter().any(|q| q.contains("#credentialSubject>")));
        assert!(a.groups[1].matching.is_empty());
    }
}
