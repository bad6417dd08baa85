//! RFC 6962 Merkle tree hashing and proof verification.
//!
//! The ledger's log is a Merkle tree in the sense of RFC 6962 §2.1: leaves
//! are hashed as `SHA-256(0x00 || leaf_input)` and interior nodes as
//! `SHA-256(0x01 || left || right)`, which domain-separates the two so that
//! no leaf can pose as a node (second-preimage resistance). The root of the
//! empty tree is `SHA-256("")`.
//!
//! This module holds only what a *client* needs: the hash functions and the
//! verification of audit paths and consistency proofs, following the
//! algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency)
//! step by step. Those algorithms accept exactly the proofs RFC 6962 §2.1.1
//! (`PATH`) and §2.1.2 (`PROOF`) produce. Generating proofs is the ledger's
//! job (`idelta-ledger-node`'s `log::tree`).
//!
//! Every function here is total: no input, however malformed, panics. A
//! proof of the wrong length is refused up front with
//! [`ProofError::WrongProofLength`] rather than being hashed.
//!
//! A proof only binds a leaf (or an old root) to a `(tree_size, root)`
//! *pair*; callers must take both from the same signed tree head. (With a
//! root of a different size the proof may coincidentally have the same shape,
//! e.g. leaf 0 in trees of size 3 and 4.)

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Domain-separation prefix of leaf hashes (RFC 6962 §2.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of interior node hashes (RFC 6962 §2.1).
const NODE_PREFIX: u8 = 0x01;

/// Leaf hash of RFC 6962 §2.1: `SHA-256(0x00 || leaf_input)`.
pub fn leaf_hash(leaf_input: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(leaf_input);
    hasher.finalize().into()
}

/// Interior node hash of RFC 6962 §2.1: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Root of the empty tree (RFC 6962 §2.1): `SHA-256("")`, i.e.
/// `e3b0c442…7852b855`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Returned when the leaf index is not below the tree size (which
    /// includes every index for a tree of size 0: an empty tree contains
    /// nothing).
    #[error("leaf index {leaf_index} is out of range for tree size {tree_size}")]
    IndexOutOfRange {
        /// The leaf index that was claimed.
        leaf_index: u64,
        /// The tree size it was claimed against.
        tree_size: u64,
    },
    /// Returned when the proof does not have the number of elements that the
    /// sizes (and leaf index) imply.
    #[error("proof has {actual} elements, but these sizes need {expected}")]
    WrongProofLength {
        /// The number of elements a valid proof has.
        expected: usize,
        /// The number of elements supplied.
        actual: usize,
    },
    /// Returned when the proof has the right shape but the root(s) it
    /// implies differ from the supplied one(s): wrong leaf, wrong proof
    /// element, wrong root, or a log that is not append-only.
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    /// Returned by [`verify_consistency`] when the first (older) tree size
    /// exceeds the second: a log never shrinks.
    #[error("first tree size {first} exceeds second tree size {second}")]
    InvalidSizes {
        /// The older tree size.
        first: u64,
        /// The newer tree size.
        second: u64,
    },
}

/// Number of audit-path elements for `leaf_index < tree_size`: the number
/// of iterations RFC 9162 §2.1.3.2 step 4 takes to bring `sn` to 0.
fn inclusion_proof_len(leaf_index: u64, tree_size: u64) -> usize {
    let mut fnode = leaf_index;
    let mut snode = tree_size.saturating_sub(1);
    let mut len = 0;
    while snode != 0 {
        if fnode & 1 == 0 && fnode == snode {
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        }
        fnode >>= 1;
        snode >>= 1;
        len += 1;
    }
    len
}

/// Number of consistency-proof elements for `0 < first < second`: the
/// iterations RFC 9162 §2.1.4.2 step 6 takes to bring `sn` to 0, plus the
/// seed element (step 5) unless `first` is a power of two (step 2 then
/// supplies `first_hash` as the seed instead).
fn consistency_proof_len(first: u64, second: u64) -> usize {
    let mut fnode = first.saturating_sub(1);
    let mut snode = second.saturating_sub(1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut len = usize::from(!first.is_power_of_two());
    while snode != 0 {
        if fnode & 1 == 0 && fnode == snode {
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        }
        fnode >>= 1;
        snode >>= 1;
        len += 1;
    }
    len
}

/// Root implied by an inclusion proof (RFC 9162 §2.1.3.2).
///
/// `audit_path` is RFC 6962's `PATH(leaf_index, D[tree_size])`, nearest
/// sibling first. The result still has to be compared with a trusted root
/// of `tree_size` leaves; [`verify_inclusion`] does both.
pub fn root_from_inclusion_proof(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &Hash,
    audit_path: &[Hash],
) -> Result<Hash, ProofError> {
    // Step 1.
    if leaf_index >= tree_size {
        return Err(ProofError::IndexOutOfRange { leaf_index, tree_size });
    }
    let expected = inclusion_proof_len(leaf_index, tree_size);
    let wrong_length = ProofError::WrongProofLength { expected, actual: audit_path.len() };
    if audit_path.len() != expected {
        return Err(wrong_length);
    }
    // Steps 2 and 3 (`tree_size > leaf_index >= 0`, so no underflow).
    let mut fnode = leaf_index;
    let mut snode = tree_size - 1;
    let mut r = *leaf_hash;
    // Step 4.
    for p in audit_path {
        if snode == 0 {
            return Err(wrong_length);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5, first half (the length check above makes it hold already).
    if snode != 0 {
        return Err(wrong_length);
    }
    Ok(r)
}

/// Verifies that `leaf_hash` is leaf number `leaf_index` (0-based) of the
/// tree of `tree_size` leaves whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &Hash,
    audit_path: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf_index, tree_size, leaf_hash, audit_path)?;
    if computed == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Verifies that the tree of `first` leaves with root `first_root` is a
/// prefix of the tree of `second` leaves with root `second_root`, i.e. that
/// the log only appended in between (RFC 9162 §2.1.4.2).
///
/// `proof` is RFC 6962's `PROOF(first, D[second])`. Edge cases:
/// * `first > second` → [`ProofError::InvalidSizes`];
/// * `first == second` → valid iff `proof` is empty and the roots are equal;
/// * `first == 0 < second` → every tree extends the empty one, so the proof
///   must be empty; `first_root` must still be the empty tree's root
///   ([`empty_root`]), since any other value is a false claim about the old
///   tree.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::InvalidSizes { first, second });
    }
    if first == second || first == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength { expected: 0, actual: proof.len() });
        }
        let first_ok = first != 0 || *first_root == empty_root();
        if !first_ok || (first == second && first_root != second_root) {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    // Now 0 < first < second.
    let expected = consistency_proof_len(first, second);
    let wrong_length = ProofError::WrongProofLength { expected, actual: proof.len() };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    // Steps 1, 2 and 5: the seed is `first_hash` when `first` is a power of
    // two (conceptually prepended to the path), else the path's first value.
    let (seed, rest) = if first.is_power_of_two() {
        (first_root, proof)
    } else {
        match proof.split_first() {
            Some(split) => split,
            None => return Err(wrong_length),
        }
    };
    // Steps 3 and 4.
    let mut fnode = first - 1;
    let mut snode = second - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = *seed;
    let mut sr = *seed;
    // Step 6.
    for c in rest {
        if snode == 0 {
            return Err(wrong_length);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 7.
    if snode != 0 {
        return Err(wrong_length);
    }
    if fr != *first_root || sr != *second_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    //! Known-answer tests and edge cases. The exhaustive cross-check against
    //! an independent RFC 6962 construction (every size up to 70, every
    //! index, every mutation) lives with the proof generator, in
    //! `idelta-ledger-node`'s `log::tree` tests.

    use super::*;
    use rand::{Rng, SeedableRng};

    fn h(hex_str: &str) -> Hash {
        assert_eq!(hex_str.len(), 64);
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex_str[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// The leaf inputs of the certificate-transparency / transparency-dev
    /// test trees (`testonly/constants.go`, `proof/verify_test.go`).
    const CT_LEAVES: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];

    /// MTH of the first `n` CT leaves, for n = 1..=8 (index n - 1).
    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn ct_root(n: u64) -> Hash {
        h(CT_ROOTS[n as usize - 1])
    }

    /// transparency-dev `inclusionProofs` (their leaf numbers are 1-based;
    /// these are 0-based): (leaf_index, tree_size, proof).
    fn ct_inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (
                0,
                8,
                vec![
                    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                5,
                8,
                vec![
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (2, 3, vec![h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
            (
                1,
                5,
                vec![
                    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
        ]
    }

    /// transparency-dev `consistencyProofs`: (first, second, proof).
    fn ct_consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (1, 1, vec![]),
            (
                1,
                8,
                vec![
                    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                6,
                8,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                2,
                5,
                vec![
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
            (
                6,
                7,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
        ]
    }

    fn flip(hash: &Hash, bit: usize) -> Hash {
        let mut out = *hash;
        out[bit / 8] ^= 1 << (bit % 8);
        out
    }

    #[test]
    fn empty_root_is_sha256_of_empty_string() {
        assert_eq!(empty_root(), h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        // MTH({""}) = SHA-256(0x00), the first CT root.
        assert_eq!(leaf_hash(b""), ct_root(1));
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut concat = Vec::from(a);
        concat.extend_from_slice(&b);
        assert_ne!(node_hash(&a, &b), leaf_hash(&concat));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    }

    #[test]
    fn ct_roots_from_hand_built_trees() {
        let l: Vec<Hash> = CT_LEAVES.iter().map(|x| leaf_hash(x)).collect();
        let n01 = node_hash(&l[0], &l[1]);
        let n23 = node_hash(&l[2], &l[3]);
        let n45 = node_hash(&l[4], &l[5]);
        let n67 = node_hash(&l[6], &l[7]);
        let n0123 = node_hash(&n01, &n23);
        assert_eq!(l[0], ct_root(1));
        assert_eq!(n01, ct_root(2));
        assert_eq!(node_hash(&n01, &l[2]), ct_root(3));
        assert_eq!(n0123, ct_root(4));
        assert_eq!(node_hash(&n0123, &l[4]), ct_root(5));
        assert_eq!(node_hash(&n0123, &n45), ct_root(6));
        assert_eq!(node_hash(&n0123, &node_hash(&n45, &l[6])), ct_root(7));
        assert_eq!(node_hash(&n0123, &node_hash(&n45, &n67)), ct_root(8));
    }

    #[test]
    fn ct_inclusion_vectors_verify_and_mutations_fail() {
        for (index, size, proof) in ct_inclusion_vectors() {
            let leaf = leaf_hash(CT_LEAVES[index as usize]);
            let root = ct_root(size);
            assert_eq!(root_from_inclusion_proof(index, size, &leaf, &proof), Ok(root));
            verify_inclusion(index, size, &leaf, &proof, &root).unwrap();

            let wrong_leaf = leaf_hash(b"WrongLeaf");
            assert!(verify_inclusion(index, size, &wrong_leaf, &proof, &root).is_err());
            assert!(verify_inclusion(index, size, &leaf, &proof, &empty_root()).is_err());
            for j in 0..size + 2 {
                if j != index {
                    assert!(verify_inclusion(j, size, &leaf, &proof, &root).is_err());
                }
            }
            assert!(verify_inclusion(index, size * 2, &leaf, &proof, &root).is_err());
            assert!(verify_inclusion(index, size / 2, &leaf, &proof, &root).is_err());
            for i in 0..proof.len() {
                for bit in [0, 3, 255] {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i], bit);
                    assert_eq!(verify_inclusion(index, size, &leaf, &bad, &root), Err(ProofError::RootMismatch));
                }
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(matches!(
                verify_inclusion(index, size, &leaf, &longer, &root),
                Err(ProofError::WrongProofLength { .. })
            ));
            let mut prefixed = vec![root];
            prefixed.extend_from_slice(&proof);
            assert!(verify_inclusion(index, size, &leaf, &prefixed, &root).is_err());
            assert!(matches!(
                verify_inclusion(index, size, &leaf, &proof[..proof.len() - 1], &root),
                Err(ProofError::WrongProofLength { .. })
            ));
        }
    }

    #[test]
    fn ct_consistency_vectors_verify_and_mutations_fail() {
        for (first, second, proof) in ct_consistency_vectors() {
            let (r1, r2) = (ct_root(first), ct_root(second));
            verify_consistency(first, second, &r1, &r2, &proof).unwrap();
            if first == second {
                continue;
            }
            assert_eq!(verify_consistency(first, second, &r2, &r1, &proof), Err(ProofError::RootMismatch));
            for other in 1..=8 {
                if other != first {
                    let wrong_old = ct_root(other);
                    assert!(verify_consistency(first, second, &wrong_old, &r2, &proof).is_err());
                }
                if other != second {
                    let wrong_new = ct_root(other);
                    assert!(verify_consistency(first, second, &r1, &wrong_new, &proof).is_err());
                }
            }
            assert!(verify_consistency(first, second, &r1, &r2, &[]).is_err());
            assert!(verify_consistency(first - 1, second, &r1, &r2, &proof).is_err());
            assert!(verify_consistency(first + 1, second, &r1, &r2, &proof).is_err());
            assert!(verify_consistency(first, second * 2, &r1, &r2, &proof).is_err());
            assert!(verify_consistency(first, second / 2, &r1, &r2, &proof).is_err());
            assert!(verify_consistency(first, second, &r1, &r2, &proof[..proof.len() - 1]).is_err());
            for extra in [r1, r2, proof[0]] {
                let mut longer = proof.clone();
                longer.push(extra);
                assert!(verify_consistency(first, second, &r1, &r2, &longer).is_err());
                let mut prefixed = vec![extra];
                prefixed.extend_from_slice(&proof);
                assert!(verify_consistency(first, second, &r1, &r2, &prefixed).is_err());
            }
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i] = flip(&bad[i], 4);
                assert_eq!(verify_consistency(first, second, &r1, &r2, &bad), Err(ProofError::RootMismatch));
            }
        }
    }

    #[test]
    fn single_leaf_tree_has_empty_proof() {
        let leaf = leaf_hash(b"data");
        verify_inclusion(0, 1, &leaf, &[], &leaf).unwrap();
        assert_eq!(verify_inclusion(0, 1, &leaf, &[], &empty_root()), Err(ProofError::RootMismatch));
        assert_eq!(
            verify_inclusion(0, 1, &leaf, &[leaf], &leaf),
            Err(ProofError::WrongProofLength { expected: 0, actual: 1 })
        );
    }

    #[test]
    fn empty_tree_contains_nothing() {
        let some = leaf_hash(b"x");
        for (index, size) in [(0, 0), (1, 0), (1, 1), (2, 1), (u64::MAX, u64::MAX)] {
            assert_eq!(
                verify_inclusion(index, size, &some, &[], &empty_root()),
                Err(ProofError::IndexOutOfRange { leaf_index: index, tree_size: size })
            );
        }
    }

    #[test]
    fn consistency_edge_cases() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let e = empty_root();
        // Equal sizes: empty proof and equal roots.
        verify_consistency(0, 0, &e, &e, &[]).unwrap();
        verify_consistency(5, 5, &a, &a, &[]).unwrap();
        assert_eq!(verify_consistency(5, 5, &a, &b, &[]), Err(ProofError::RootMismatch));
        assert_eq!(verify_consistency(0, 0, &e, &a, &[]), Err(ProofError::RootMismatch));
        assert_eq!(verify_consistency(0, 0, &a, &a, &[]), Err(ProofError::RootMismatch));
        assert_eq!(
            verify_consistency(5, 5, &a, &a, &[a]),
            Err(ProofError::WrongProofLength { expected: 0, actual: 1 })
        );
        // From the empty tree: trivially consistent, with an empty proof.
        verify_consistency(0, 1, &e, &a, &[]).unwrap();
        verify_consistency(0, u64::MAX, &e, &b, &[]).unwrap();
        assert_eq!(
            verify_consistency(0, 3, &e, &a, &[e]),
            Err(ProofError::WrongProofLength { expected: 0, actual: 1 })
        );
        assert_eq!(verify_consistency(0, 3, &a, &b, &[]), Err(ProofError::RootMismatch));
        // Shrinking.
        assert_eq!(verify_consistency(2, 1, &a, &b, &[]), Err(ProofError::InvalidSizes { first: 2, second: 1 }));
        assert_eq!(verify_consistency(1, 0, &a, &e, &[]), Err(ProofError::InvalidSizes { first: 1, second: 0 }));
        // 0 < first < second needs a non-empty proof.
        assert!(matches!(verify_consistency(1, 2, &a, &b, &[]), Err(ProofError::WrongProofLength { actual: 0, .. })));
    }

    #[test]
    fn proof_lengths_match_known_shapes() {
        // PATH lengths: a perfect tree of 2^k leaves needs k siblings.
        for k in 0..64 {
            let size = 1u64 << k;
            assert_eq!(inclusion_proof_len(0, size), k);
            assert_eq!(inclusion_proof_len(size - 1, size), k);
        }
        // The last leaf of a size-5 tree sits right under the root.
        assert_eq!(inclusion_proof_len(4, 5), 1);
        assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), 63);
        // PROOF lengths from the CT vectors.
        assert_eq!(consistency_proof_len(1, 8), 3);
        assert_eq!(consistency_proof_len(6, 8), 3);
        assert_eq!(consistency_proof_len(2, 5), 2);
        assert_eq!(consistency_proof_len(6, 7), 3);
        // 62 left siblings down the right spine, then the last two subtrees.
        assert_eq!(consistency_proof_len(u64::MAX - 1, u64::MAX), 64);
    }

    /// Random and extreme inputs must yield `Ok` or `Err`, never a panic or
    /// an endless loop.
    #[test]
    fn never_panics_on_arbitrary_input() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(6962);
        let interesting = [0, 1, 2, 3, 7, 8, 9, u64::MAX - 1, u64::MAX, 1 << 63];
        let pick = |rng: &mut rand::rngs::StdRng| -> u64 {
            if rng.gen_bool(0.3) {
                interesting[rng.gen_range(0..interesting.len())]
            } else if rng.gen_bool(0.5) {
                rng.gen_range(0..100)
            } else {
                rng.gen()
            }
        };
        for _ in 0..20_000 {
            let (x, y) = (pick(&mut rng), pick(&mut rng));
            let len = rng.gen_range(0..140);
            let proof: Vec<Hash> = (0..len).map(|_| rng.gen()).collect();
            let (r1, r2): (Hash, Hash) = (rng.gen(), rng.gen());
            let _ = root_from_inclusion_proof(x, y, &r1, &proof);
            let _ = verify_inclusion(x, y, &r1, &proof, &r2);
            let _ = verify_consistency(x, y, &r1, &r2, &proof);
            // With the exact expected length the hashing loops run too.
            if x < y {
                let n = inclusion_proof_len(x, y);
                let _ = verify_inclusion(x, y, &r1, &proof[..n.min(proof.len())], &r2);
                if x > 0 {
                    let n = consistency_proof_len(x, y);
                    let _ = verify_consistency(x, y, &r1, &r2, &proof[..n.min(proof.len())]);
                }
            }
        }
    }
}
