//! Identifiers of agent records: `{prefix}-{time}{random}`, lowercase hex,
//! so that ordering by id is ordering by creation (cursor pagination lists
//! oldest first) and ids are valid wallet names (`[a-z0-9-]`).

use rand::RngCore as _;

/// A new id for a record created at `now_ms`.
pub fn new_id(prefix: &str, now_ms: i64) -> String {
    let mut random = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut random);
    format!("{prefix}-{now_ms:012x}{}", hex::encode(random))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_are_wallet_names() {
        let a = new_id("em", 1_000);
        let b = new_id("em", 2_000);
        assert!(a < b);
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert_ne!(new_id("em", 5), new_id("em", 5));
    }
}
