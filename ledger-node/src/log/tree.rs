//! The ledger's append-only RFC 6962 Merkle tree, kept in memory.
//!
//! Every accepted transaction becomes one leaf of the log. Readers get, with
//! each answer, an inclusion proof against a signed tree head, and monitors
//! get consistency proofs between tree heads; both may name *any* historical
//! tree size, not only the current one. This module answers those requests.
//!
//! Layout: `levels[k][i]` is the hash of the complete subtree of `2^k`
//! leaves starting at leaf `i·2^k` (`levels[0]` are the leaf hashes). A
//! subtree is stored as soon as its last leaf is appended and never changes
//! afterwards, so the structure is append-only and costs two hashes per leaf
//! (≈ 64 bytes). Every node of the RFC 6962 tree of *any* size `n ≤ len` is
//! either such a complete subtree (one lookup) or lies on that tree's
//! right edge, whose hash is folded from at most `log2 n` complete subtrees.
//! Hence a proof costs `O(log n)` lookups and `O(log n)` hash computations,
//! never `O(n)` work.
//!
//! The proofs produced are RFC 6962 §2.1.1 `PATH(m, D[n])` and §2.1.2
//! `PROOF(m, D[n])`, checked by [`idelta_types::merkle::verify_inclusion`]
//! and [`idelta_types::merkle::verify_consistency`].

use idelta_types::merkle::{empty_root, node_hash, Hash};

/// Why the tree could not answer a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// Returned when a leaf index is not below the tree size it is to be
    /// proved in (`leaf_index >= tree_size`).
    #[error("leaf index {leaf_index} is out of range for tree size {tree_size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        leaf_index: u64,
        /// The tree size it was requested in.
        tree_size: u64,
    },
    /// Returned when a requested tree size exceeds the number of leaves in
    /// the log (`tree_size > len`).
    #[error("tree size {tree_size} exceeds the {len} leaves in the log")]
    SizeTooLarge {
        /// The requested tree size.
        tree_size: u64,
        /// The number of leaves the log holds.
        len: u64,
    },
    /// Returned when a consistency proof is requested from a larger tree to
    /// a smaller one (`first > second`).
    #[error("first tree size {first} exceeds second tree size {second}")]
    FirstAfterSecond {
        /// The older tree size.
        first: u64,
        /// The newer tree size.
        second: u64,
    },
    /// Returned when a consistency proof from the empty tree is requested
    /// (`first == 0`): RFC 6962 §2.1.2 defines `PROOF(m, D[n])` only for
    /// `0 < m`. (Every tree trivially extends the empty one; the verifier
    /// accepts an empty proof for it.)
    #[error("no consistency proof from the empty tree")]
    FromEmptyTree,
    /// Returned if a subtree hash the layout guarantees is absent. Never
    /// expected: it would indicate a bug in this module.
    #[error("internal error: no subtree hash at level {level}, index {index}")]
    MissingNode {
        /// The level (`log2` of the subtree's leaf count).
        level: u32,
        /// The subtree's index within its level.
        index: u64,
    },
}

/// An append-only RFC 6962 Merkle tree that can prove inclusion and
/// consistency for every historical size. See the [module docs](self).
#[derive(Clone, Default)]
pub struct MerkleTree {
    /// `levels[k][i]`: hash of the complete subtree of leaves
    /// `[i·2^k, (i+1)·2^k)`.
    levels: Vec<Vec<Hash>>,
}

impl std::fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleTree").field("len", &self.len()).finish_non_exhaustive()
    }
}

/// Largest power of two strictly below `n`; `n` must be at least 2.
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one leaf. The argument is the leaf *hash*
    /// ([`idelta_types::merkle::leaf_hash`] of the leaf input), not the
    /// input itself. Amortised `O(1)`, worst case `O(log n)` hashes.
    pub fn push(&mut self, leaf_hash: Hash) {
        let mut hash = leaf_hash;
        let mut level = 0;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                return;
            };
            row.push(hash);
            // An even count means the pushed hash completed a pair, hence a
            // subtree one level up.
            if row.len() % 2 == 1 {
                return;
            }
            let [left, right] = match row.get(row.len() - 2..) {
                Some([left, right]) => [left, right],
                _ => return,
            };
            hash = node_hash(left, right);
            level += 1;
        }
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash of leaf `index`, if present.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.subtree(0, index)
    }

    /// Root (`MTH`, RFC 6962 §2.1) of the tree formed by the first
    /// `tree_size` leaves; [`empty_root`] for size 0.
    pub fn root(&self, tree_size: u64) -> Result<Hash, TreeError> {
        self.check_size(tree_size)?;
        if tree_size == 0 {
            return Ok(empty_root());
        }
        self.range_hash(0, tree_size)
    }

    /// Audit path `PATH(leaf_index, D[tree_size])` (RFC 6962 §2.1.1),
    /// nearest sibling first.
    pub fn inclusion_proof(&self, leaf_index: u64, tree_size: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(tree_size)?;
        if leaf_index >= tree_size {
            return Err(TreeError::IndexOutOfRange { leaf_index, tree_size });
        }
        // Walk from the root to the leaf, collecting siblings top-down. Only
        // the first left turn (if any) has a right sibling on the tree's
        // incomplete right edge; below it every sibling is a lookup.
        let mut proof = Vec::new();
        let (mut lo, mut hi) = (0, tree_size);
        while hi - lo > 1 {
            let mid = lo + split_point(hi - lo);
            if leaf_index < mid {
                proof.push(self.range_hash(mid, hi)?);
                hi = mid;
            } else {
                proof.push(self.range_hash(lo, mid)?);
                lo = mid;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    /// Consistency proof `PROOF(first, D[second])` (RFC 6962 §2.1.2):
    /// empty when `first == second`.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(second)?;
        if first > second {
            return Err(TreeError::FirstAfterSecond { first, second });
        }
        if first == 0 {
            return Err(TreeError::FromEmptyTree);
        }
        // SUBPROOF(m, D[lo:hi], whole), unrolled; nodes collected top-down.
        let mut proof = Vec::new();
        let (mut lo, mut hi) = (0, second);
        let mut m = first;
        let mut whole = true;
        loop {
            let n = hi - lo;
            if m == n {
                if !whole {
                    proof.push(self.range_hash(lo, hi)?);
                }
                break;
            }
            // Here 0 < m < n, so n >= 2.
            let k = split_point(n);
            if m <= k {
                proof.push(self.range_hash(lo + k, hi)?);
                hi = lo + k;
            } else {
                proof.push(self.range_hash(lo, lo + k)?);
                lo += k;
                m -= k;
                whole = false;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    fn check_size(&self, tree_size: u64) -> Result<(), TreeError> {
        let len = self.len();
        if tree_size > len {
            return Err(TreeError::SizeTooLarge { tree_size, len });
        }
        Ok(())
    }

    /// The stored hash of the complete subtree `[index·2^level,
    /// (index+1)·2^level)`, if all its leaves are present.
    fn subtree(&self, level: u32, index: u64) -> Option<Hash> {
        let row = self.levels.get(usize::try_from(level).ok()?)?;
        row.get(usize::try_from(index).ok()?).copied()
    }

    /// `MTH(D[start:end])` for a non-empty node `[start, end)` of some RFC
    /// 6962 tree of size `<= len`. Such a node starts at a multiple of the
    /// largest power of two `<= end - start`, so it splits into complete
    /// subtrees of strictly decreasing sizes (the set bits of
    /// `end - start`); its hash is their right fold with [`node_hash`].
    fn range_hash(&self, start: u64, end: u64) -> Result<Hash, TreeError> {
        let mut remaining = end.saturating_sub(start);
        let mut chunk_end = end;
        let mut acc: Option<Hash> = None;
        while remaining != 0 {
            let level = remaining.trailing_zeros();
            let size = 1u64 << level;
            let chunk_start = chunk_end - size;
            let index = chunk_start >> level;
            let missing = TreeError::MissingNode { level, index };
            if chunk_start & (size - 1) != 0 {
                return Err(missing);
            }
            let hash = self.subtree(level, index).ok_or(missing)?;
            acc = Some(match acc {
                None => hash,
                Some(right) => node_hash(&hash, &right),
            });
            remaining &= remaining - 1;
            chunk_end = chunk_start;
        }
        acc.ok_or(TreeError::MissingNode { level: 0, index: start })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use idelta_types::merkle::{
        leaf_hash, root_from_inclusion_proof, verify_consistency, verify_inclusion, ProofError,
    };

    /// The largest tree size checked exhaustively.
    const MAX: usize = 70;

    // ---- Independent construction, straight from RFC 6962 §2.1 ----------
    //
    // Over leaf *inputs*, recursive, with `k` the largest power of two
    // smaller than `n`. Deliberately naive (O(n) hashing per call).

    fn rfc_k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// MTH(D[n]), §2.1.
    fn rfc_mth(d: &[Vec<u8>]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => leaf_hash(&d[0]),
            n => {
                let k = rfc_k(n);
                node_hash(&rfc_mth(&d[..k]), &rfc_mth(&d[k..]))
            }
        }
    }

    /// PATH(m, D[n]), §2.1.1.
    fn rfc_path(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = rfc_k(n);
        if m < k {
            let mut p = rfc_path(m, &d[..k]);
            p.push(rfc_mth(&d[k..]));
            p
        } else {
            let mut p = rfc_path(m - k, &d[k..]);
            p.push(rfc_mth(&d[..k]));
            p
        }
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true), §2.1.2.
    fn rfc_proof(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
        rfc_subproof(m, d, true)
    }

    fn rfc_subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { Vec::new() } else { vec![rfc_mth(d)] };
        }
        let k = rfc_k(n);
        if m <= k {
            let mut p = rfc_subproof(m, &d[..k], b);
            p.push(rfc_mth(&d[k..]));
            p
        } else {
            let mut p = rfc_subproof(m - k, &d[k..], false);
            p.push(rfc_mth(&d[..k]));
            p
        }
    }

    // ---- Fixtures --------------------------------------------------------

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

    /// `count` distinct leaf inputs: the eight certificate-transparency test
    /// leaves, then varied-length generated ones.
    fn leaf_inputs(count: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|i| match CT_LEAVES.get(i) {
                Some(ct) => ct.to_vec(),
                None => format!("leaf #{i}{}", "x".repeat(i % 5)).into_bytes(),
            })
            .collect()
    }

    fn tree_of(d: &[Vec<u8>]) -> MerkleTree {
        let mut tree = MerkleTree::new();
        for input in d {
            tree.push(leaf_hash(input));
        }
        tree
    }

    /// Reference roots, proofs, and leaf hashes for all sizes `0..=MAX + 2`
    /// (two sizes past `MAX` so mutations can claim a larger tree).
    struct Reference {
        leaves: Vec<Hash>,
        /// `roots[n]` = MTH of the first `n` leaves.
        roots: Vec<Hash>,
        /// `paths[n][i]` = PATH(i, D[n]).
        paths: Vec<Vec<Vec<Hash>>>,
        /// `proofs[n][m]` = PROOF(m, D[n]) for 1 <= m <= n (index 0 unused).
        proofs: Vec<Vec<Vec<Hash>>>,
    }

    fn reference() -> Reference {
        let top = MAX + 2;
        let d = leaf_inputs(top);
        let leaves = d.iter().map(|x| leaf_hash(x)).collect();
        let roots = (0..=top).map(|n| rfc_mth(&d[..n])).collect();
        let paths = (0..=top).map(|n| (0..n).map(|i| rfc_path(i, &d[..n])).collect()).collect();
        let proofs = (0..=top)
            .map(|n| (0..=n).map(|m| if m == 0 { Vec::new() } else { rfc_proof(m, &d[..n]) }).collect())
            .collect();
        Reference { leaves, roots, paths, proofs }
    }

    fn flip(hash: &Hash, bit: usize) -> Hash {
        let mut out = *hash;
        out[bit / 8] ^= 1 << (bit % 8);
        out
    }

    // ---- Tests ------------------------------------------------------------

    /// The CT roots (the 8-leaf root as given in RFC 6962 test data) guard
    /// the reference construction itself.
    #[test]
    fn reference_and_tree_match_known_ct_roots() {
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let d = leaf_inputs(8);
        let tree = tree_of(&d);
        for (n, want) in roots.iter().enumerate() {
            let hex_of = |h: Hash| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
            assert_eq!(hex_of(rfc_mth(&d[..n])), *want, "reference, size {n}");
            assert_eq!(hex_of(tree.root(n as u64).unwrap()), *want, "tree, size {n}");
        }
    }

    /// Every tree of length 1..=70, every historical size n <= length, every
    /// leaf i < n: the tree's root and PATH equal the reference's, and the
    /// proof verifies against the reference root.
    #[test]
    fn inclusion_proofs_match_reference_for_every_size_and_index() {
        let r = reference();
        let mut tree = MerkleTree::new();
        assert_eq!(tree.root(0).unwrap(), empty_root());
        for len in 1..=MAX {
            tree.push(r.leaves[len - 1]);
            assert_eq!(tree.len(), len as u64);
            for n in 0..=len {
                assert_eq!(tree.root(n as u64).unwrap(), r.roots[n], "root({n}), len {len}");
                for i in 0..n {
                    let proof = tree.inclusion_proof(i as u64, n as u64).unwrap();
                    assert_eq!(proof, r.paths[n][i], "PATH({i}, D[{n}]), len {len}");
                }
            }
        }
        for n in 1..=MAX {
            for i in 0..n {
                let proof = &r.paths[n][i];
                let (i64_, n64) = (i as u64, n as u64);
                verify_inclusion(i64_, n64, &r.leaves[i], proof, &r.roots[n]).unwrap();
                assert_eq!(root_from_inclusion_proof(i64_, n64, &r.leaves[i], proof), Ok(r.roots[n]));
            }
        }
    }

    /// Every 1 <= m <= n <= len <= 70: the tree's PROOF(m, D[n]) equals the
    /// reference's and verifies against the reference roots.
    #[test]
    fn consistency_proofs_match_reference_for_every_pair_of_sizes() {
        let r = reference();
        let mut tree = MerkleTree::new();
        for len in 1..=MAX {
            tree.push(r.leaves[len - 1]);
            for n in 1..=len {
                for m in 1..=n {
                    let proof = tree.consistency_proof(m as u64, n as u64).unwrap();
                    assert_eq!(proof, r.proofs[n][m], "PROOF({m}, D[{n}]), len {len}");
                }
            }
        }
        for n in 1..=MAX {
            for m in 1..=n {
                verify_consistency(m as u64, n as u64, &r.roots[m], &r.roots[n], &r.proofs[n][m]).unwrap();
            }
            // From the empty tree: the verifier accepts an empty proof.
            verify_consistency(0, n as u64, &empty_root(), &r.roots[n], &[]).unwrap();
        }
    }

    /// Every inclusion case up to 70 leaves, every mutation refused.
    ///
    /// "Wrong tree size" is checked against the root of the *claimed* size:
    /// a proof names a (size, root) pair, and with the root of the claimed
    /// size a proof verifies iff it is that size's real proof. (Against the
    /// original root a wrong size can coincide in shape, e.g. leaf 0 of 3
    /// vs. 4 leaves, which is why a signed tree head binds size and root.)
    #[test]
    fn mutated_inclusion_proofs_are_refused() {
        let r = reference();
        let top = MAX + 2;
        for n in 1..=MAX {
            let (n64, root) = (n as u64, r.roots[n]);
            for i in 0..n {
                let (i64_, leaf, proof) = (i as u64, r.leaves[i], &r.paths[n][i]);
                let check = |index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash| {
                    verify_inclusion(index, size, leaf, proof, root)
                };
                // Wrong leaf: every other leaf of the log, and a foreign one.
                for (j, other) in r.leaves.iter().enumerate() {
                    if j != i {
                        assert_eq!(
                            check(i64_, n64, other, proof, &root),
                            Err(ProofError::RootMismatch),
                            "leaf {j} as {i} of {n}"
                        );
                    }
                }
                assert!(check(i64_, n64, &leaf_hash(b"not in the log"), proof, &root).is_err());
                // Leaf input instead of leaf hash (missing 0x00 prefix).
                assert!(check(i64_, n64, &rfc_mth(&[]), proof, &root).is_err());
                // A flipped bit in each element, at both ends of the hash.
                for e in 0..proof.len() {
                    for bit in [0, 131, 255] {
                        let mut bad = proof.clone();
                        bad[e] = flip(&bad[e], bit);
                        assert_eq!(
                            check(i64_, n64, &leaf, &bad, &root),
                            Err(ProofError::RootMismatch),
                            "bit {bit} of element {e}, PATH({i}, D[{n}])"
                        );
                    }
                }
                // Truncated, extended at either end, elements swapped.
                if let Some((_, head)) = proof.split_last() {
                    assert!(matches!(check(i64_, n64, &leaf, head, &root), Err(ProofError::WrongProofLength { .. })));
                }
                for extra in [root, leaf, [0; 32]] {
                    let mut longer = proof.clone();
                    longer.push(extra);
                    assert!(matches!(
                        check(i64_, n64, &leaf, &longer, &root),
                        Err(ProofError::WrongProofLength { .. })
                    ));
                    longer.rotate_right(1);
                    assert!(check(i64_, n64, &leaf, &longer, &root).is_err());
                }
                if proof.len() >= 2 {
                    let mut swapped = proof.clone();
                    swapped.swap(0, proof.len() - 1);
                    assert!(check(i64_, n64, &leaf, &swapped, &root).is_err());
                }
                // Wrong leaf index, in range or not.
                for j in 0..top as u64 {
                    if j != i64_ {
                        assert!(
                            check(j, n64, &leaf, proof, &root).is_err(),
                            "PATH({i}, D[{n}]) accepted for index {j}"
                        );
                    }
                }
                // Wrong tree size, with that size's root.
                for s in 0..=top {
                    if s == n {
                        continue;
                    }
                    let result = check(i64_, s as u64, &leaf, proof, &r.roots[s]);
                    if i >= s {
                        assert!(matches!(result, Err(ProofError::IndexOutOfRange { .. })));
                    } else {
                        let real = r.paths[s][i] == *proof;
                        assert_eq!(result.is_ok(), real, "PATH({i}, D[{n}]) as size {s}");
                    }
                }
                // Wrong root: every other size's root.
                for (s, other_root) in r.roots.iter().enumerate() {
                    if s != n {
                        assert!(check(i64_, n64, &leaf, proof, other_root).is_err());
                    }
                }
            }
        }
    }

    /// Every consistency case 1 <= m < n <= 70, every mutation refused.
    ///
    /// As for inclusion, wrong sizes are checked with the claimed sizes'
    /// roots: with the original roots a proof can fit another size too
    /// (PROOF(2, D[3]) = [leaf 2] also "proves" 2 -> 4 against root 3).
    #[test]
    fn mutated_consistency_proofs_are_refused() {
        let r = reference();
        let top = MAX + 2;
        for n in 2..=MAX {
            for m in 1..n {
                let (m64, n64) = (m as u64, n as u64);
                let (old, new, proof) = (r.roots[m], r.roots[n], &r.proofs[n][m]);
                let check = |first: u64, second: u64, r1: &Hash, r2: &Hash, p: &[Hash]| {
                    verify_consistency(first, second, r1, r2, p)
                };
                check(m64, n64, &old, &new, proof).unwrap();
                // Swapped roots (always different here: distinct leaves).
                assert_ne!(old, new);
                assert_eq!(check(m64, n64, &new, &old, proof), Err(ProofError::RootMismatch));
                // Wrong old root / wrong new root: every other size's root,
                // and a bit-flipped one.
                for (s, other) in r.roots.iter().enumerate() {
                    if s != m {
                        assert!(
                            check(m64, n64, other, &new, proof).is_err(),
                            "PROOF({m}, D[{n}]) accepted old root of size {s}"
                        );
                    }
                    if s != n {
                        assert!(check(m64, n64, &old, other, proof).is_err());
                    }
                }
                assert!(check(m64, n64, &flip(&old, 7), &new, proof).is_err());
                assert!(check(m64, n64, &old, &flip(&new, 7), proof).is_err());
                // A flipped bit in each element.
                for e in 0..proof.len() {
                    for bit in [0, 100, 255] {
                        let mut bad = proof.clone();
                        bad[e] = flip(&bad[e], bit);
                        assert_eq!(
                            check(m64, n64, &old, &new, &bad),
                            Err(ProofError::RootMismatch),
                            "bit {bit} of element {e}, PROOF({m}, D[{n}])"
                        );
                    }
                }
                // Empty, truncated, extended at either end, swapped.
                assert!(check(m64, n64, &old, &new, &[]).is_err());
                if let Some((_, head)) = proof.split_last() {
                    assert!(matches!(check(m64, n64, &old, &new, head), Err(ProofError::WrongProofLength { .. })));
                }
                for extra in [old, new, proof[0]] {
                    let mut longer = proof.clone();
                    longer.push(extra);
                    assert!(matches!(check(m64, n64, &old, &new, &longer), Err(ProofError::WrongProofLength { .. })));
                    longer.rotate_right(1);
                    assert!(check(m64, n64, &old, &new, &longer).is_err());
                }
                if proof.len() >= 2 && proof[0] != proof[proof.len() - 1] {
                    let mut swapped = proof.clone();
                    swapped.swap(0, proof.len() - 1);
                    assert!(check(m64, n64, &old, &new, &swapped).is_err());
                }
                // Wrong sizes, with the roots of the claimed sizes: accepted
                // iff the proof *is* the claimed sizes' proof.
                for s in 0..=top {
                    if s != m {
                        let result = check(s as u64, n64, &r.roots[s], &new, proof);
                        let real = s >= 1 && s <= n && r.proofs[n][s] == *proof;
                        assert_eq!(result.is_ok(), real, "PROOF({m}, D[{n}]) as first={s}");
                    }
                    if s != n {
                        let result = check(m64, s as u64, &old, &r.roots[s], proof);
                        let real = s >= m && r.proofs[s][m] == *proof;
                        assert_eq!(result.is_ok(), real, "PROOF({m}, D[{n}]) as second={s}");
                    }
                }
                // Sizes swapped: a log never shrinks.
                assert_eq!(
                    check(n64, m64, &old, &new, proof),
                    Err(ProofError::InvalidSizes { first: n64, second: m64 })
                );
            }
        }
    }

    #[test]
    fn requests_beyond_the_log_are_refused() {
        let mut tree = MerkleTree::default();
        assert!(tree.is_empty());
        assert_eq!(tree.len(), 0);
        assert_eq!(tree.leaf(0), None);
        assert_eq!(tree.root(0), Ok(empty_root()));
        assert_eq!(tree.inclusion_proof(0, 0), Err(TreeError::IndexOutOfRange { leaf_index: 0, tree_size: 0 }));
        assert_eq!(tree.root(1), Err(TreeError::SizeTooLarge { tree_size: 1, len: 0 }));

        let d = leaf_inputs(5);
        for input in &d {
            tree.push(leaf_hash(input));
        }
        assert!(!tree.is_empty());
        assert_eq!(tree.leaf(4), Some(leaf_hash(&d[4])));
        assert_eq!(tree.leaf(5), None);
        assert_eq!(tree.leaf(u64::MAX), None);
        assert_eq!(tree.root(6), Err(TreeError::SizeTooLarge { tree_size: 6, len: 5 }));
        assert_eq!(tree.inclusion_proof(0, 6), Err(TreeError::SizeTooLarge { tree_size: 6, len: 5 }));
        assert_eq!(tree.inclusion_proof(3, 3), Err(TreeError::IndexOutOfRange { leaf_index: 3, tree_size: 3 }));
        assert_eq!(
            tree.inclusion_proof(u64::MAX, 5),
            Err(TreeError::IndexOutOfRange { leaf_index: u64::MAX, tree_size: 5 })
        );
        assert_eq!(tree.consistency_proof(4, 3), Err(TreeError::FirstAfterSecond { first: 4, second: 3 }));
        assert_eq!(tree.consistency_proof(0, 3), Err(TreeError::FromEmptyTree));
        assert_eq!(tree.consistency_proof(0, 0), Err(TreeError::FromEmptyTree));
        assert_eq!(tree.consistency_proof(1, u64::MAX), Err(TreeError::SizeTooLarge { tree_size: u64::MAX, len: 5 }));
        assert_eq!(tree.consistency_proof(5, 5), Ok(Vec::new()));
        assert_eq!(tree.inclusion_proof(0, 1), Ok(Vec::new()));
        assert!(format!("{tree:?}").contains("len: 5"));
    }

    /// A larger tree, spot-checked: proofs for sizes far from powers of two
    /// still verify, and their length is the RFC's (`O(log n)`).
    #[test]
    fn large_tree_proofs_verify() {
        let mut tree = MerkleTree::new();
        let count = 100_003u64;
        for i in 0..count {
            tree.push(leaf_hash(&i.to_be_bytes()));
        }
        for size in [1, 2, 3, 1000, 65_535, 65_536, 65_537, 99_999, count] {
            let root = tree.root(size).unwrap();
            for index in [0, size / 3, size / 2, size - 1] {
                let proof = tree.inclusion_proof(index, size).unwrap();
                assert!(proof.len() <= 17);
                let leaf = tree.leaf(index).unwrap();
                verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
            }
            for first in [1, (size / 2).max(1), (size - 1).max(1), size] {
                let proof = tree.consistency_proof(first, size).unwrap();
                let old = tree.root(first).unwrap();
                verify_consistency(first, size, &old, &root, &proof).unwrap();
            }
        }
    }
}
