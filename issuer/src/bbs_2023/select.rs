//! Selecting parts of a compact JSON-LD document with JSON pointers (Data
//! Integrity ECDSA Cryptosuites v1.0 §3.4.14 selectJsonLd, which bbs-2023
//! reuses).
//!
//! The selection keeps the document's `@context`, and on the path to each
//! selected value every object's `type` and non-blank `id`, so the selected
//! statements keep their subjects and classes; arrays the pointers reach
//! into keep only the selected elements, in order.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Error, Result};

/// A selection under construction: arrays are sparse until the end.
enum Node {
    Object(BTreeMap<String, Node>),
    Array(BTreeMap<usize, Node>),
    Value(Value),
}

impl Node {
    fn into_value(self) -> Value {
        match self {
            Node::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, v.into_value())).collect()),
            // Dense again: the selected elements in their original order.
            Node::Array(items) => Value::Array(items.into_values().map(Node::into_value).collect()),
            Node::Value(v) => v,
        }
    }
}

/// The selection of `document` by `pointers` (RFC 6901), or `None` when
/// there is no pointer. A pointer that matches nothing is an error.
pub fn select(document: &Value, pointers: &[String]) -> Result<Option<Value>> {
    if pointers.is_empty() {
        return Ok(None);
    }
    let Value::Object(root) = document else {
        return Err(Error::NotAnObject);
    };
    let mut selection = start(root);
    if let (Node::Object(map), Some(context)) = (&mut selection, root.get("@context")) {
        map.insert("@context".into(), Node::Value(context.clone()));
    }
    for pointer in pointers {
        let segments = parse_pointer(pointer)?;
        if segments.is_empty() {
            return Ok(Some(document.clone()));
        }
        select_path(document, pointer, &segments, &mut selection)?;
    }
    Ok(Some(selection.into_value()))
}

/// The reference tokens of a JSON pointer, unescaped (`~1` is `/`, `~0` is `~`).
pub fn parse_pointer(pointer: &str) -> Result<Vec<String>> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(Error::Pointer(format!("`{pointer}` does not start with `/`")));
    };
    rest.split('/')
        .map(|token| {
            let mut out = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                if c != '~' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('0') => out.push('~'),
                    Some('1') => out.push('/'),
                    _ => return Err(Error::Pointer(format!("`{pointer}` has an invalid `~` escape"))),
                }
            }
            Ok(out)
        })
        .collect()
}

/// A fresh selection of the object `source`: its non-blank `id` and `type`.
fn start(source: &Map<String, Value>) -> Node {
    let mut map = BTreeMap::new();
    if let Some(Value::String(id)) = source.get("id") {
        if !id.starts_with("_:") {
            map.insert("id".into(), Node::Value(Value::String(id.clone())));
        }
    }
    if let Some(types) = source.get("type") {
        map.insert("type".into(), Node::Value(types.clone()));
    }
    Node::Object(map)
}

fn select_path(document: &Value, pointer: &str, segments: &[String], selection: &mut Node) -> Result<()> {
    let no_match = || Error::Pointer(format!("`{pointer}` does not match the document"));
    let mut value = document;
    let mut selected = Some(selection);
    for segment in segments {
        let next = match value {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .ok_or_else(no_match)?;
        value = next;
        let Some(node) = selected else {
            // Inside a value an earlier pointer selected whole: only check
            // that this pointer matches too.
            continue;
        };
        let fresh = || match next {
            Value::Array(_) => Node::Array(BTreeMap::new()),
            Value::Object(map) => start(map),
            other => Node::Value(other.clone()),
        };
        selected = match node {
            Node::Object(map) => Some(map.entry(segment.clone()).or_insert_with(fresh)),
            Node::Array(items) => {
                let index = segment.parse::<usize>().map_err(|_| no_match())?;
                Some(items.entry(index).or_insert_with(fresh))
            }
            Node::Value(_) => None,
        };
    }
    // The end of the path: the whole value, which contains whatever an
    // earlier pointer selected inside it.
    if let Some(node) = selected {
        *node = Node::Value(value.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use serde_json::json;

    use super::*;

    fn doc() -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uuid:1",
            "type": ["VerifiableCredential"],
            "issuer": "did:key:z1",
            "credentialSubject": {
                "id": "_:holder",
                "type": "Person",
                "name": "Ada",
                "a/b": 1,
                "items": [{"type": "Item", "n": 0}, {"type": "Item", "n": 1}, {"type": "Item", "n": 2}]
            }
        })
    }

    #[test]
    fn selection_keeps_context_ids_and_types_on_the_path() {
        let pointers =
            ["/credentialSubject/name", "/credentialSubject/items/2/n", "/issuer", "/issuer"].map(String::from);
        let got = select(&doc(), &pointers).unwrap().unwrap();
        assert_eq!(
            got,
            json!({
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "id": "urn:uuid:1",
                "type": ["VerifiableCredential"],
                "issuer": "did:key:z1",
                "credentialSubject": {"type": "Person", "name": "Ada", "items": [{"type": "Item", "n": 2}]}
            })
        );
    }

    #[test]
    fn pointers_unescape_and_must_match() {
        let got = select(&doc(), &["/credentialSubject/a~1b".to_owned()]).unwrap().unwrap();
        assert_eq!(got["credentialSubject"]["a/b"], 1);
        assert_eq!(parse_pointer("/x~0y/~1").unwrap(), ["x~y", "/"]);
        assert!(select(&doc(), &["/credentialSubject/missing".to_owned()]).is_err());
        assert!(select(&doc(), &["/credentialSubject/items/9".to_owned()]).is_err());
        assert!(select(&doc(), &["credentialSubject".to_owned()]).is_err());
        assert!(parse_pointer("/a~2").is_err());
        assert_eq!(select(&doc(), &[]).unwrap(), None);
        assert_eq!(select(&doc(), &[String::new()]).unwrap(), Some(doc()));
    }
}
