//! Presentation requests in DCQL, the Digital Credentials Query Language
//! of OpenID for Verifiable Presentations 1.0 (§6, with claim paths per
//! §7 and the formats of Appendix B): parse and validate a query, pick the
//! held credentials that answer it (holder side) and check that what a
//! response presented satisfies it (verifier side). Pure: no I/O, no
//! cryptography; the signatures are checked by the format verifiers
//! before [`check_response`] is asked about the claims they vouch for.
//!
//! DCQL rather than DIF Presentation Exchange 2: it is what OpenID4VP 1.0
//! final adopted (Presentation Exchange was dropped from it), it names
//! claims by plain paths instead of JSONPath plus JSON Schema filters, and
//! its claim paths map directly onto SD-JWT disclosures and `bbs-2023`
//! selective pointers, which is what a holder needs to reveal only what
//! was asked.
//!
//! The subset (anything else is refused, naming the member, so that a
//! request never silently means less than it says):
//! - `credentials[]`: `id`, `format` (`ldp_vc` or `dc+sd-jwt`), `meta`
//!   (`type_values` for `ldp_vc`, `vct_values` for `dc+sd-jwt`, both
//!   required), `claims[]` (`id`, `path`, `values`), `claim_sets`,
//!   `multiple`, `require_cryptographic_holder_binding` (only `true`: every
//!   idelta presentation is holder-bound);
//! - `credential_sets[]`: `options`, `required`;
//! - not supported: `trusted_authorities`.
//!
//! `type_values` entries are compared with the credential's `type` values
//! as written (the terms of its contexts, e.g. `EmployeeCredential`), or
//! with the IRI such a term stands for in idelta's bundled contexts
//! (`https://www.w3.org/2018/credentials#VerifiableCredential`).

use std::collections::{BTreeMap, HashSet};

use idelta_issuer::data_integrity::contexts;
use serde_json::{Map, Value};

/// Why a DCQL query is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DcqlError {
    /// Returned when the query breaks a rule of OpenID4VP §6 (the text
    /// names the member and the rule).
    #[error("dcql_query: {0}")]
    Invalid(String),
    /// Returned when the query uses a part of DCQL idelta does not implement.
    #[error("dcql_query: {0} is not supported")]
    Unsupported(String),
}

/// Result with [`DcqlError`].
pub type Result<T, E = DcqlError> = std::result::Result<T, E>;

/// One step of a claim path (OpenID4VP §7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathElement {
    /// A string: the member of that name of an object.
    Key(String),
    /// A non-negative integer: that element of an array.
    Index(usize),
    /// `null`: every element of an array.
    All,
}

/// A claims query (OpenID4VP §6.3).
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimsQuery {
    /// The id `claim_sets` refer to it by.
    pub id: Option<String>,
    /// Where the claim is.
    pub path: Vec<PathElement>,
    /// When given, the claim must equal one of these.
    pub values: Option<Vec<Value>>,
}

/// What a credential must be, by format (OpenID4VP Appendix B).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Meta {
    /// `ldp_vc`: the credential's types include every type of one of these sets.
    TypeValues(Vec<Vec<String>>),
    /// `dc+sd-jwt`: the credential's `vct` is one of these.
    VctValues(Vec<String>),
}

/// A credential query (OpenID4VP §6.1).
#[derive(Clone, Debug, PartialEq)]
pub struct CredentialQuery {
    /// Its id: the key of its presentations in the response's `vp_token`.
    pub id: String,
    /// `ldp_vc` or `dc+sd-jwt`.
    pub format: String,
    /// Whether more than one credential may answer it.
    pub multiple: bool,
    /// The type constraint.
    pub meta: Meta,
    /// The claims asked for; `None`: none is asked for.
    pub claims: Option<Vec<ClaimsQuery>>,
    /// Alternative combinations of claim ids, most preferred first.
    pub claim_sets: Option<Vec<Vec<String>>>,
}

/// A credential set query (OpenID4VP §6.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialSetQuery {
    /// Alternatives, each a list of credential query ids that together satisfy the set.
    pub options: Vec<Vec<String>>,
    /// Whether the set must be satisfied.
    pub required: bool,
}

/// A validated DCQL query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The credential queries.
    pub credentials: Vec<CredentialQuery>,
    /// The credential set queries; `None`: every credential query is required.
    pub credential_sets: Option<Vec<CredentialSetQuery>>,
}

/// A credential as the query sees it: held (holder side) or presented and
/// verified (verifier side).
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// Its DCQL format: `ldp_vc` or `dc+sd-jwt`.
    pub format: &'a str,
    /// The credential's `type` values (`ldp_vc`) or its `vct` (`dc+sd-jwt`).
    pub types: &'a [String],
    /// What claim paths are evaluated against: the credential JSON
    /// (`ldp_vc`, so paths start at `credentialSubject`) or the SD-JWT's
    /// claims with its disclosures in place (`dc+sd-jwt`).
    pub claims: &'a Value,
    /// The credential's `@context` (`ldp_vc`), used to read `type` terms as IRIs.
    pub context: Option<&'a Value>,
}

/// A candidate chosen to answer a credential query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// Its index in the candidates given to [`select`].
    pub candidate: usize,
    /// JSON pointers (RFC 6901) of every claim the query asked for, as
    /// found in this candidate: what an SD-JWT presentation discloses and
    /// what a `bbs-2023` derived proof selects.
    pub pointers: Vec<String>,
}

fn invalid(detail: impl Into<String>) -> DcqlError {
    DcqlError::Invalid(detail.into())
}

/// OpenID4VP §6.1: ids are non-empty strings of alphanumerics, `_` and `-`.
fn check_id(id: &str, what: &str) -> Result<()> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(invalid(format!("{what} `{id}` must be a non-empty string of [A-Za-z0-9_-]")));
    }
    Ok(())
}

fn object<'a>(v: &'a Value, what: &str, known: &[&str]) -> Result<&'a Map<String, Value>> {
    let Value::Object(map) = v else { return Err(invalid(format!("{what} must be an object"))) };
    for key in map.keys() {
        if key == "trusted_authorities" {
            return Err(DcqlError::Unsupported(format!("{what}.trusted_authorities")));
        }
        if !known.contains(&key.as_str()) {
            return Err(DcqlError::Unsupported(format!("{what}.{key}")));
        }
    }
    Ok(map)
}

fn non_empty_array<'a>(v: Option<&'a Value>, what: &str) -> Result<Option<&'a Vec<Value>>> {
    match v {
        None => Ok(None),
        Some(Value::Array(items)) if !items.is_empty() => Ok(Some(items)),
        Some(_) => Err(invalid(format!("{what} must be a non-empty array"))),
    }
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>> {
    let items = non_empty_array(Some(v), what)?.into_iter().flatten();
    items.map(|s| s.as_str().map(str::to_owned).ok_or_else(|| invalid(format!("{what} must hold strings")))).collect()
}

fn boolean(map: &Map<String, Value>, name: &str, what: &str, default: bool) -> Result<bool> {
    match map.get(name) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(format!("{what}.{name} must be a boolean"))),
    }
}

fn parse_path(v: Option<&Value>, what: &str) -> Result<Vec<PathElement>> {
    let items =
        non_empty_array(v, &format!("{what}.path"))?.ok_or_else(|| invalid(format!("{what}.path is missing")))?;
    items
        .iter()
        .map(|e| match e {
            Value::String(s) => Ok(PathElement::Key(s.clone())),
            Value::Null => Ok(PathElement::All),
            Value::Number(n) => n
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .map(PathElement::Index)
                .ok_or_else(|| invalid(format!("{what}.path: an index must be a non-negative integer"))),
            _ => Err(invalid(format!("{what}.path elements must be strings, non-negative integers or null"))),
        })
        .collect()
}

fn parse_claim(v: &Value, what: &str) -> Result<ClaimsQuery> {
    let map = object(v, what, &["id", "path", "values"])?;
    let id = match map.get("id") {
        None => None,
        Some(Value::String(id)) => {
            check_id(id, &format!("{what}.id"))?;
            Some(id.clone())
        }
        Some(_) => return Err(invalid(format!("{what}.id must be a string"))),
    };
    let path = parse_path(map.get("path"), what)?;
    let values = match non_empty_array(map.get("values"), &format!("{what}.values"))? {
        None => None,
        Some(values) => {
            if !values.iter().all(|v| v.is_string() || v.is_i64() || v.is_u64() || v.is_boolean()) {
                return Err(invalid(format!("{what}.values must be strings, integers or booleans")));
            }
            Some(values.clone())
        }
    };
    Ok(ClaimsQuery { id, path, values })
}

fn parse_meta(format: &str, v: Option<&Value>, what: &str) -> Result<Meta> {
    let v = v.ok_or_else(|| invalid(format!("{what}.meta is missing")))?;
    match format {
        "ldp_vc" => {
            let map = object(v, &format!("{what}.meta"), &["type_values"])?;
            let sets = non_empty_array(map.get("type_values"), &format!("{what}.meta.type_values"))?
                .ok_or_else(|| invalid(format!("{what}.meta.type_values is missing")))?;
            let sets = sets.iter().map(|s| strings(s, &format!("{what}.meta.type_values[]"))).collect::<Result<_>>()?;
            Ok(Meta::TypeValues(sets))
        }
        _ => {
            let map = object(v, &format!("{what}.meta"), &["vct_values"])?;
            let vcts = map.get("vct_values").ok_or_else(|| invalid(format!("{what}.meta.vct_values is missing")))?;
            Ok(Meta::VctValues(strings(vcts, &format!("{what}.meta.vct_values"))?))
        }
    }
}

fn parse_credential(v: &Value, i: usize) -> Result<CredentialQuery> {
    let what = format!("credentials[{i}]");
    let known = ["id", "format", "multiple", "meta", "claims", "claim_sets", "require_cryptographic_holder_binding"];
    let map = object(v, &what, &known)?;
    let id = map.get("id").and_then(Value::as_str).ok_or_else(|| invalid(format!("{what}.id is missing")))?;
    check_id(id, &format!("{what}.id"))?;
    let format =
        map.get("format").and_then(Value::as_str).ok_or_else(|| invalid(format!("{what}.format is missing")))?;
    if format != "ldp_vc" && format != "dc+sd-jwt" {
        return Err(DcqlError::Unsupported(format!("{what}.format `{format}` (idelta answers ldp_vc and dc+sd-jwt)")));
    }
    if !boolean(map, "require_cryptographic_holder_binding", &what, true)? {
        return Err(DcqlError::Unsupported(format!(
            "{what}.require_cryptographic_holder_binding = false (every idelta presentation is holder-bound)"
        )));
    }
    let multiple = boolean(map, "multiple", &what, false)?;
    let meta = parse_meta(format, map.get("meta"), &what)?;
    let claims = match non_empty_array(map.get("claims"), &format!("{what}.claims"))? {
        None => None,
        Some(cs) => Some(
            cs.iter()
                .enumerate()
                .map(|(j, c)| parse_claim(c, &format!("{what}.claims[{j}]")))
                .collect::<Result<Vec<_>>>()?,
        ),
    };
    let mut claim_ids = HashSet::new();
    for c in claims.iter().flatten() {
        if let Some(id) = &c.id {
            if !claim_ids.insert(id.as_str()) {
                return Err(invalid(format!("{what}.claims: the id `{id}` is used twice")));
            }
        }
    }
    let claim_sets = match non_empty_array(map.get("claim_sets"), &format!("{what}.claim_sets"))? {
        None => None,
        Some(sets) => {
            let Some(claims) = &claims else {
                return Err(invalid(format!("{what}.claim_sets needs claims")));
            };
            if claims.iter().any(|c| c.id.is_none()) {
                return Err(invalid(format!("{what}.claims: every claim needs an id when claim_sets is given")));
            }
            let sets: Vec<Vec<String>> =
                sets.iter().map(|s| strings(s, &format!("{what}.claim_sets[]"))).collect::<Result<_>>()?;
            if let Some(unknown) = sets.iter().flatten().find(|id| !claim_ids.contains(id.as_str())) {
                return Err(invalid(format!("{what}.claim_sets names `{unknown}`, which is no claim id")));
            }
            Some(sets)
        }
    };
    Ok(CredentialQuery { id: id.to_owned(), format: format.to_owned(), multiple, meta, claims, claim_sets })
}

impl Query {
    /// Parses and validates a DCQL query (OpenID4VP §6), naming the first
    /// member that is wrong or unsupported.
    pub fn parse(v: &Value) -> Result<Query> {
        let map = object(v, "dcql_query", &["credentials", "credential_sets"])?;
        let credentials = non_empty_array(map.get("credentials"), "credentials")?
            .ok_or_else(|| invalid("credentials is missing"))?
            .iter()
            .enumerate()
            .map(|(i, c)| parse_credential(c, i))
            .collect::<Result<Vec<_>>>()?;
        let mut ids = HashSet::new();
        for c in &credentials {
            if !ids.insert(c.id.as_str()) {
                return Err(invalid(format!("credentials: the id `{}` is used twice", c.id)));
            }
        }
        let credential_sets = match non_empty_array(map.get("credential_sets"), "credential_sets")? {
            None => None,
            Some(sets) => Some(
                sets.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let what = format!("credential_sets[{i}]");
                        let set = object(s, &what, &["options", "required"])?;
                        let options = non_empty_array(set.get("options"), &format!("{what}.options"))?
                            .ok_or_else(|| invalid(format!("{what}.options is missing")))?
                            .iter()
                            .map(|o| strings(o, &format!("{what}.options[]")))
                            .collect::<Result<Vec<_>>>()?;
                        if let Some(unknown) = options.iter().flatten().find(|id| !ids.contains(id.as_str())) {
                            return Err(invalid(format!(
                                "{what}.options names `{unknown}`, which is no credential id"
                            )));
                        }
                        Ok(CredentialSetQuery { options, required: boolean(set, "required", &what, true)? })
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        Ok(Query { credentials, credential_sets })
    }

    /// The credential query `id`.
    pub fn credential(&self, id: &str) -> Option<&CredentialQuery> {
        self.credentials.iter().find(|c| c.id == id)
    }

    /// Which credential queries must be answered, given which of them can
    /// be (`answerable`): every query when there are no credential sets;
    /// otherwise, per set, the first option whose queries are all
    /// answerable, or `Err` naming a required set none of whose options is.
    pub fn required(&self, answerable: &dyn Fn(&str) -> bool) -> Result<Vec<&str>, String> {
        let Some(sets) = &self.credential_sets else {
            return Ok(self.credentials.iter().map(|c| c.id.as_str()).collect());
        };
        let mut out: Vec<&str> = Vec::new();
        for (i, set) in sets.iter().enumerate() {
            match set.options.iter().find(|o| o.iter().all(|id| answerable(id))) {
                Some(option) => {
                    for id in option {
                        if !out.contains(&id.as_str()) {
                            out.push(id);
                        }
                    }
                }
                None if set.required => {
                    return Err(format!("credential_sets[{i}]: no option can be satisfied ({:?})", set.options));
                }
                None => {}
            }
        }
        Ok(out)
    }
}

/// `path` as text, for messages: `credentialSubject.role`, `nationalities[*]`.
pub fn path_text(path: &[PathElement]) -> String {
    let mut out = String::new();
    for e in path {
        match e {
            PathElement::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathElement::Index(i) => out.push_str(&format!("[{i}]")),
            PathElement::All => out.push_str("[*]"),
        }
    }
    out
}

fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Evaluates a claim path (OpenID4VP §7.2): the selected values with the
/// JSON pointer of each. Empty when the claim is absent.
fn select_path<'a>(root: &'a Value, path: &[PathElement]) -> Vec<(String, &'a Value)> {
    let mut current = vec![(String::new(), root)];
    for element in path {
        let mut next = Vec::new();
        for (pointer, v) in current {
            match (element, v) {
                (PathElement::Key(k), Value::Object(map)) => {
                    if let Some(child) = map.get(k) {
                        next.push((format!("{pointer}/{}", pointer_token(k)), child));
                    }
                }
                (PathElement::Index(i), Value::Array(items)) => {
                    if let Some(child) = items.get(*i) {
                        next.push((format!("{pointer}/{i}"), child));
                    }
                }
                (PathElement::All, Value::Array(items)) => {
                    next.extend(items.iter().enumerate().map(|(i, child)| (format!("{pointer}/{i}"), child)));
                }
                _ => {}
            }
        }
        current = next;
    }
    current
}

/// The IRI a `type` term stands for in the bundled contexts of `context`,
/// if one of them defines it.
fn type_iri(term: &str, context: Option<&Value>) -> Option<String> {
    let urls: Vec<&str> = match context? {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        Value::String(url) => vec![url.as_str()],
        _ => return None,
    };
    urls.iter().rev().find_map(|url| {
        let doc: Value = serde_json::from_str(contexts::context_document(url)?).ok()?;
        match doc.get("@context")?.get(term)? {
            Value::String(iri) => Some(iri.clone()),
            Value::Object(def) => def.get("@id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        }
    })
}

fn check_meta(meta: &Meta, candidate: &Candidate<'_>) -> Result<(), String> {
    match meta {
        Meta::VctValues(vcts) => {
            if candidate.types.iter().any(|t| vcts.contains(t)) {
                Ok(())
            } else {
                Err(format!("its vct is none of {vcts:?}"))
            }
        }
        Meta::TypeValues(sets) => {
            let has = |wanted: &String| {
                candidate.types.iter().any(|t| t == wanted || type_iri(t, candidate.context).as_ref() == Some(wanted))
            };
            if sets.iter().any(|set| set.iter().all(has)) {
                Ok(())
            } else {
                Err(format!("its types {:?} include no set of {sets:?}", candidate.types))
            }
        }
    }
}

fn claim_pointers(claim: &ClaimsQuery, candidate: &Candidate<'_>) -> Result<Vec<String>, String> {
    let found = select_path(candidate.claims, &claim.path);
    if found.is_empty() {
        return Err(format!("claim {} is missing", path_text(&claim.path)));
    }
    match &claim.values {
        None => Ok(found.into_iter().map(|(p, _)| p).collect()),
        Some(values) => {
            let hits: Vec<String> = found.into_iter().filter(|(_, v)| values.contains(v)).map(|(p, _)| p).collect();
            if hits.is_empty() {
                Err(format!("claim {} is none of the values asked for", path_text(&claim.path)))
            } else {
                Ok(hits)
            }
        }
    }
}

/// Whether `candidate` answers `query`: its format, type and claims (the
/// first claim set it satisfies, or all the claims when there are no claim
/// sets). `Ok` carries the pointers of the claims to present; `Err` names
/// the first thing that does not match.
pub fn answers(query: &CredentialQuery, candidate: &Candidate<'_>) -> Result<Vec<String>, String> {
    if candidate.format != query.format {
        return Err(format!("its format is {}, not {}", candidate.format, query.format));
    }
    check_meta(&query.meta, candidate)?;
    let Some(claims) = &query.claims else { return Ok(Vec::new()) };
    let all_of = |ids: Option<&[String]>| -> Result<Vec<String>, String> {
        let mut pointers = Vec::new();
        for claim in claims {
            let wanted = match (ids, &claim.id) {
                (None, _) => true,
                (Some(ids), Some(id)) => ids.contains(id),
                (Some(_), None) => false,
            };
            if wanted {
                pointers.extend(claim_pointers(claim, candidate)?);
            }
        }
        Ok(pointers)
    };
    match &query.claim_sets {
        None => all_of(None),
        Some(sets) => {
            let mut first_failure = None;
            for set in sets {
                match all_of(Some(set)) {
                    Ok(pointers) => return Ok(pointers),
                    Err(e) => {
                        first_failure.get_or_insert(e);
                    }
                }
            }
            Err(first_failure.unwrap_or_else(|| "no claim set is satisfied".into()))
        }
    }
}

/// Holder side: which of `candidates` to present for each credential
/// query, honouring `multiple` and the credential sets. `Err` names a
/// query that must be answered and that no candidate answers, with why the
/// candidates do not.
pub fn select(query: &Query, candidates: &[Candidate<'_>]) -> Result<BTreeMap<String, Vec<Chosen>>, String> {
    let mut answering: BTreeMap<&str, Vec<Chosen>> = BTreeMap::new();
    let mut why_not: BTreeMap<&str, String> = BTreeMap::new();
    for q in &query.credentials {
        let mut chosen = Vec::new();
        for (i, c) in candidates.iter().enumerate() {
            match answers(q, c) {
                Ok(pointers) => {
                    chosen.push(Chosen { candidate: i, pointers });
                    if !q.multiple {
                        break;
                    }
                }
                Err(e) => {
                    why_not.entry(q.id.as_str()).or_insert(e);
                }
            }
        }
        if !chosen.is_empty() {
            answering.insert(q.id.as_str(), chosen);
        }
    }
    let required =
        query.required(&|id| answering.contains_key(id)).map_err(|e| format!("{e}: nothing held answers"))?;
    let mut out = BTreeMap::new();
    for id in required {
        match answering.remove(id) {
            Some(chosen) => {
                out.insert(id.to_owned(), chosen);
            }
            None => {
                let why = why_not.get(id).map_or_else(|| "no credential of that format is held".into(), Clone::clone);
                return Err(format!("credential query `{id}`: nothing held answers it ({why})"));
            }
        }
    }
    Ok(out)
}

/// Verifier side: whether the presented (and verified) credentials
/// satisfy `query`. `presented` maps each `vp_token` key to the
/// credentials presented under it. `Err` names the credential query and
/// the claim that is not met, or a key the query does not have.
pub fn check_response(query: &Query, presented: &BTreeMap<String, Vec<Candidate<'_>>>) -> Result<(), String> {
    for (id, credentials) in presented {
        let q = query.credential(id).ok_or_else(|| format!("vp_token key `{id}` is no credential query id"))?;
        if credentials.is_empty() {
            return Err(format!("credential query `{id}`: an empty list of presentations"));
        }
        if credentials.len() > 1 && !q.multiple {
            return Err(format!("credential query `{id}`: {} presentations, but multiple is false", credentials.len()));
        }
        for c in credentials {
            answers(q, c).map_err(|e| format!("credential query `{id}`: {e}"))?;
        }
    }
    let required = query.required(&|id| presented.contains_key(id))?;
    if let Some(missing) = required.iter().find(|id| !presented.contains_key(**id)) {
        return Err(format!("credential query `{missing}` is not answered"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::json;

    fn employee_query() -> Value {
        json!({ "credentials": [{
            "id": "employment",
            "format": "ldp_vc",
            "meta": { "type_values": [["VerifiableCredential", "EmployeeCredential"]] },
            "claims": [
                { "id": "role", "path": ["credentialSubject", "role"] },
                { "id": "employer", "path": ["credentialSubject", "employer"], "values": ["did:idelta:acme"] },
            ],
        }]})
    }

    fn vc() -> Value {
        json!({
            "@context": [contexts::CREDENTIALS_V2, "https://idelta.example/contexts/v1"],
            "type": ["VerifiableCredential", "EmployeeCredential"],
            "credentialSubject": { "id": "did:key:z6Mk", "role": "engineer", "employer": "did:idelta:acme",
                "tags": ["a", "b/c"] },
        })
    }

    fn types(v: &Value) -> Vec<String> {
        v["type"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn queries_are_validated_naming_the_member() {
        Query::parse(&employee_query()).unwrap();
        let cases = [
            (json!({}), "credentials is missing"),
            (json!({ "credentials": [] }), "non-empty"),
            (json!({ "credentials": [{ "id": "a b", "format": "ldp_vc", "meta": {} }] }), "credentials[0].id"),
            (json!({ "credentials": [{ "id": "a", "format": "mso_mdoc", "meta": {} }] }), "mso_mdoc"),
            (json!({ "credentials": [{ "id": "a", "format": "ldp_vc" }] }), "meta is missing"),
            (json!({ "credentials": [{ "id": "a", "format": "dc+sd-jwt", "meta": {} }] }), "vct_values"),
            (
                json!({ "credentials": [{ "id": "a", "format": "dc+sd-jwt", "meta": { "vct_values": ["x"] },
                    "claims": [{ "path": [] }] }] }),
                "claims[0].path",
            ),
            (
                json!({ "credentials": [{ "id": "a", "format": "dc+sd-jwt", "meta": { "vct_values": ["x"] },
                    "claims": [{ "path": ["a", -1] }] }] }),
                "non-negative",
            ),
            (
                json!({ "credentials": [{ "id": "a", "format": "dc+sd-jwt", "meta": { "vct_values": ["x"] },
                    "claims": [{ "path": ["a"] }], "claim_sets": [["x"]] }] }),
                "needs an id",
            ),
            (
                json!({ "credentials": [{ "id": "a", "format": "dc+sd-jwt", "meta": { "vct_values": ["x"] },
                    "claims": [{ "id": "n", "path": ["a"] }], "claim_sets": [["m"]] }] }),
                "`m`",
            ),
            (
                json!({ "credentials": [
                    { "id": "a", "format": "dc+sd-jwt", "meta": { "vct_values": ["x"] } },
                    { "id": "a", "format": "dc+sd-jwt", "meta": { "vct_values": ["y"] } }] }),
                "used twice",
            ),
            (
                json!({ "credentials": [{ "id": "a", "format": "dc+sd-jwt", "meta": { "vct_values": ["x"] } }],
                    "credential_sets": [{ "options": [["b"]] }] }),
                "`b`",
            ),
            (
                json!({ "credentials": [{ "id": "a", "format": "dc+sd-jwt", "meta": { "vct_values": ["x"] },
                    "trusted_authorities": [] }] }),
                "trusted_authorities is not supported",
            ),
            (
                json!({ "credentials": [{ "id": "a", "format": "dc+sd-jwt", "meta": { "vct_values": ["x"] },
                    "require_cryptographic_holder_binding": false }] }),
                "holder-bound",
            ),
            (json!({ "credentials": [], "extra": 1 }), "extra"),
        ];
        for (q, named) in cases {
            let e = Query::parse(&q).unwrap_err().to_string();
            assert!(e.contains(named), "{q}: {e}");
        }
    }

    #[test]
    fn a_credential_answers_with_the_pointers_of_what_was_asked() {
        let q = Query::parse(&employee_query()).unwrap();
        let vc = vc();
        let t = types(&vc);
        let c = Candidate { format: "ldp_vc", types: &t, claims: &vc, context: vc.get("@context") };
        let pointers = answers(&q.credentials[0], &c).unwrap();
        assert_eq!(pointers, ["/credentialSubject/role", "/credentialSubject/employer"]);

        // Each mismatch is named.
        let mut other = vc.clone();
        other["credentialSubject"]["employer"] = json!("did:idelta:globex");
        let c2 = Candidate { claims: &other, ..c };
        assert!(answers(&q.credentials[0], &c2).unwrap_err().contains("credentialSubject.employer"));
        other["credentialSubject"].as_object_mut().unwrap().remove("role");
        let c3 = Candidate { claims: &other, ..c };
        assert!(answers(&q.credentials[0], &c3).unwrap_err().contains("credentialSubject.role is missing"));
        let wrong_types = vec!["VerifiableCredential".to_owned(), "BenefitOwnershipCredential".to_owned()];
        assert!(answers(&q.credentials[0], &Candidate { types: &wrong_types, ..c }).unwrap_err().contains("types"));
        assert!(answers(&q.credentials[0], &Candidate { format: "dc+sd-jwt", ..c }).unwrap_err().contains("format"));
    }

    #[test]
    fn type_values_may_be_iris_of_the_bundled_contexts() {
        let q = json!({ "credentials": [{ "id": "e", "format": "ldp_vc",
            "meta": { "type_values": [["https://www.w3.org/2018/credentials#VerifiableCredential"]] } }] });
        let q = Query::parse(&q).unwrap();
        let vc = vc();
        let t = types(&vc);
        let c = Candidate { format: "ldp_vc", types: &t, claims: &vc, context: vc.get("@context") };
        assert_eq!(answers(&q.credentials[0], &c).unwrap(), Vec::<String>::new());
        // Without the context the term means nothing.
        assert!(answers(&q.credentials[0], &Candidate { context: None, ..c }).is_err());
    }

    #[test]
    fn paths_select_array_elements_and_escape_pointers() {
        let vc = vc();
        let all = select_path(
            &vc,
            &[PathElement::Key("credentialSubject".into()), PathElement::Key("tags".into()), PathElement::All],
        );
        assert_eq!(
            all.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["/credentialSubject/tags/0", "/credentialSubject/tags/1"]
        );
        let one = select_path(
            &vc,
            &[PathElement::Key("credentialSubject".into()), PathElement::Key("tags".into()), PathElement::Index(1)],
        );
        assert_eq!(one, [("/credentialSubject/tags/1".to_owned(), &json!("b/c"))]);
        assert!(select_path(&vc, &[PathElement::Key("type".into()), PathElement::Key("x".into())]).is_empty());
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
        assert_eq!(path_text(&[PathElement::Key("a".into()), PathElement::All, PathElement::Index(2)]), "a[*][2]");
    }

    #[test]
    fn claim_sets_take_the_first_that_is_satisfied() {
        let q = json!({ "credentials": [{ "id": "p", "format": "dc+sd-jwt", "meta": { "vct_values": ["urn:pid"] },
            "claims": [ { "id": "a", "path": ["address"] }, { "id": "n", "path": ["name"] }, { "id": "b", "path": ["birthdate"] } ],
            "claim_sets": [["a", "n"], ["n", "b"]] }] });
        let q = Query::parse(&q).unwrap();
        let claims = json!({ "vct": "urn:pid", "name": "Ada", "birthdate": "1815-12-10" });
        let t = vec!["urn:pid".to_owned()];
        let c = Candidate { format: "dc+sd-jwt", types: &t, claims: &claims, context: None };
        assert_eq!(answers(&q.credentials[0], &c).unwrap(), ["/name", "/birthdate"]);
        let only_name = json!({ "name": "Ada" });
        let e = answers(&q.credentials[0], &Candidate { claims: &only_name, ..c }).unwrap_err();
        assert!(e.contains("address is missing"), "{e}");
    }

    #[test]
    fn select_honours_multiple_and_credential_sets() {
        let q = json!({
            "credentials": [
                { "id": "emp", "format": "ldp_vc", "meta": { "type_values": [["EmployeeCredential"]] } },
                { "id": "ben", "format": "ldp_vc", "meta": { "type_values": [["BenefitOwnershipCredential"]] }, "multiple": true },
                { "id": "pid", "format": "dc+sd-jwt", "meta": { "vct_values": ["urn:pid"] } },
            ],
            "credential_sets": [
                { "options": [["pid"], ["emp"]] },
                { "options": [["ben"]], "required": false },
            ],
        });
        let q = Query::parse(&q).unwrap();
        let e = json!({});
        let emp = vec!["EmployeeCredential".to_owned()];
        let ben = vec!["BenefitOwnershipCredential".to_owned()];
        let cand = |types| Candidate { format: "ldp_vc", types, claims: &e, context: None };
        let held = [cand(&emp), cand(&ben), cand(&emp), cand(&ben)];
        let chosen = select(&q, &held).unwrap();
        assert_eq!(chosen.keys().collect::<Vec<_>>(), ["ben", "emp"], "pid absent, so emp; ben optional but held");
        assert_eq!(chosen["emp"].iter().map(|c| c.candidate).collect::<Vec<_>>(), [0], "not multiple: one");
        assert_eq!(chosen["ben"].iter().map(|c| c.candidate).collect::<Vec<_>>(), [1, 3], "multiple: all");
        let e = select(&q, &[cand(&ben)]).unwrap_err();
        assert!(e.contains("credential_sets[0]"), "{e}");
        let plain = Query::parse(&employee_query()).unwrap();
        let e = select(&plain, &[cand(&ben)]).unwrap_err();
        assert!(e.contains("`employment`") && e.contains("types"), "{e}");
    }

    fn answer<'a>(entries: Vec<(&str, Vec<Candidate<'a>>)>) -> BTreeMap<String, Vec<Candidate<'a>>> {
        entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    #[test]
    fn a_response_must_answer_what_was_asked_and_nothing_else() {
        let q = Query::parse(&employee_query()).unwrap();
        let vc = vc();
        let t = types(&vc);
        let c = Candidate { format: "ldp_vc", types: &t, claims: &vc, context: vc.get("@context") };
        check_response(&q, &answer(vec![("employment", vec![c])])).unwrap();
        assert!(check_response(&q, &answer(vec![])).unwrap_err().contains("`employment` is not answered"));
        assert!(check_response(&q, &answer(vec![("employment", vec![c, c])])).unwrap_err().contains("multiple"));
        let e = check_response(&q, &answer(vec![("employment", vec![c]), ("x", vec![c])])).unwrap_err();
        assert!(e.contains("`x`"), "{e}");
        let mut tampered = vc.clone();
        tampered["credentialSubject"].as_object_mut().unwrap().remove("role");
        let e =
            check_response(&q, &answer(vec![("employment", vec![Candidate { claims: &tampered, ..c }])])).unwrap_err();
        assert!(e.contains("credentialSubject.role"), "{e}");
    }
}
