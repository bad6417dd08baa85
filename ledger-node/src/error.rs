//! Errors of the ledger node: why a transaction was refused, and what can
//! go wrong around it (storage, lookups). HTTP status codes are chosen once,
//! in `http::error`.

use idelta_types::Did;

/// Why the ledger refused a transaction. Every variant names what is wrong
/// so the author can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Returned when the body is not a well-formed transaction.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// Returned when a signature is malformed, from an unexpected signer,
    /// by a key that does not control the signer, or does not verify.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// Returned when the author has no role and no endorser counter-signed.
    #[error("author {author} holds no role, so the write needs an endorser's counter-signature")]
    EndorsementRequired {
        /// The author.
        author: Did,
    },
    /// Returned when the named endorser may not endorse.
    #[error("{endorser} cannot endorse: {reason}")]
    InvalidEndorser {
        /// The named endorser.
        endorser: Did,
        /// Why not.
        reason: String,
    },
    /// Returned when the author lacks the permission the operation needs.
    #[error("not authorised: {0}")]
    Unauthorized(String),
    /// Returned when `seq` is not one more than the author's last: a replay
    /// or a gap.
    #[error(
        "sequence number {got} of {author} is out of order: expected {expected} (a replayed or skipped transaction)"
    )]
    Sequence {
        /// The author.
        author: Did,
        /// The only number the ledger accepts next.
        expected: u64,
        /// The number given.
        got: u64,
    },
    /// Returned when a transaction names a DID the ledger does not know.
    #[error("unknown DID {0}")]
    UnknownDid(Did),
    /// Returned when a transaction names a deactivated DID.
    #[error("DID {0} is deactivated")]
    Deactivated(Did),
    /// Returned when a create names a DID that already exists.
    #[error("DID {0} already exists")]
    AlreadyExists(Did),
    /// Returned when a DID document breaks the method's rules.
    #[error("invalid DID document: {0}")]
    InvalidDocument(String),
    /// Returned when a new DID is not derived from the key that signs its
    /// creation (anti-squatting).
    #[error("{0} is not derived from the key that signed its creation")]
    NotSelfCertifying(Did),
    /// Returned when a write would leave the network without a trustee.
    #[error("the last active trustee cannot lose the role or be deactivated")]
    LastTrustee,
    /// Returned when a role is revoked from a DID that holds none.
    #[error("{0} holds no role")]
    NoRole(Did),
    /// Returned when a genesis transaction arrives on a non-empty ledger.
    #[error("a genesis transaction is accepted only as the first entry")]
    GenesisMisplaced,
    /// Returned when a write arrives before the genesis.
    #[error("the ledger has no genesis yet")]
    NoGenesis,
    /// Returned when an account would pay more of a token than it holds.
    #[error("{account} holds {has} of token {token} but needs {needs}")]
    InsufficientBalance {
        /// The paying account (a buyer, or a treasury paying a seller).
        account: Did,
        /// The token.
        token: Did,
        /// Its balance.
        has: u64,
        /// What the transaction takes from it.
        needs: u64,
    },
    /// Returned when every unit of a benefit is sold.
    #[error("benefit {0} is sold out")]
    SoldOut(Did),
    /// Returned when a purchase would cost more than the buyer's `maxCost`.
    #[error("the purchase costs {cost}, more than maxCost {max_cost}")]
    CostExceedsMax {
        /// What it would cost, in the token paid with.
        cost: u64,
        /// The buyer's limit.
        max_cost: u64,
    },
    /// Returned when paying across tokens needs a rate the operator has not set.
    #[error("token {0} has no exchange rate (unitValue) yet")]
    NoExchangeRate(Did),
    /// Returned when a benefit was delisted.
    #[error("benefit {0} was removed")]
    BenefitRemoved(Did),
    /// Returned when a purchase falls outside a benefit's validity period.
    #[error("benefit {benefit} cannot be bought at {at} (outside validFrom..validUntil)")]
    BenefitNotValid {
        /// The benefit.
        benefit: Did,
        /// The batch time, ms since the epoch.
        at: u64,
    },
    /// Returned when the author does not own the unit or benefit it acts on.
    #[error("{account} does not own {what}")]
    NotOwner {
        /// The author.
        account: Did,
        /// What it tried to act on.
        what: String,
    },
    /// Returned when a unit has no offer, or not the one the transaction needs.
    #[error("not offered: {0}")]
    NotOffered(String),
    /// Returned when a closed account would author or receive.
    #[error("account {0} is closed")]
    AccountClosed(Did),
    /// Returned when a benefit is not on the ledger.
    #[error("unknown benefit {0}")]
    UnknownBenefit(Did),
    /// Returned when a unit does not exist.
    #[error("benefit {benefit} has no unit {unit}")]
    UnknownUnit {
        /// The benefit.
        benefit: Did,
        /// The unit number.
        unit: u64,
    },
    /// Returned when a token is not on the ledger.
    #[error("unknown token {0}")]
    UnknownToken(Did),
    /// Returned when a company creates its token twice.
    #[error("token {0} already exists")]
    TokenExists(Did),
    /// Returned when a benefit's DID breaks the benefit DID rule.
    #[error("{benefit} cannot be a benefit: {reason}")]
    InvalidBenefitDid {
        /// The DID.
        benefit: Did,
        /// Why not.
        reason: String,
    },
    /// Returned when an update would offer fewer units than were sold.
    #[error("benefit {benefit} has sold {sold} units; quantity {quantity} is fewer")]
    QuantityBelowSold {
        /// The benefit.
        benefit: Did,
        /// The quantity asked for.
        quantity: u64,
        /// Units sold.
        sold: u64,
    },
    /// Returned when a party would trade with itself as the ledger stands:
    /// a company buying its own benefit, an owner buying its own offer or
    /// swapping for a unit it already holds.
    #[error("{0}")]
    SelfDealing(String),
}

/// Failures of the node around the state machine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// Returned when the state machine refuses a transaction.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// Returned when storage fails; the node stops accepting writes.
    #[error("storage failure: {0}")]
    Storage(String),
    /// Returned when the node has stopped accepting writes after a storage
    /// failure, or is shutting down.
    #[error("the node is not accepting writes: {0}")]
    Unavailable(String),
    /// Returned when stored data is inconsistent (see `idelta ledger verify`).
    #[error("inconsistent ledger data: {0}")]
    Corrupt(String),
    /// Returned when a data directory or key file is unusable.
    #[error("{0}")]
    Config(String),
    /// Returned when a log position or tree size does not exist.
    #[error("{0}")]
    OutOfRange(String),
}

impl From<redb::Error> for NodeError {
    fn from(e: redb::Error) -> Self {
        NodeError::Storage(e.to_string())
    }
}

macro_rules! storage_from {
    ($($t:ty),*) => {$(
        impl From<$t> for NodeError {
            fn from(e: $t) -> Self { NodeError::Storage(e.to_string()) }
        }
    )*};
}
storage_from!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    std::io::Error
);

/// Result with [`NodeError`].
pub type Result<T, E = NodeError> = std::result::Result<T, E>;
