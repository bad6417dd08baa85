//! Who is calling: the operator (API key), a company admin or an employee
//! (JWT). Every token is scoped to one company; its subject must still be
//! active and its epoch current, checked on every request, so removing an
//! employee or a company, or issuing a token that replaces older ones,
//! takes effect at once.
//!
//! Subject states are cached in memory for [`SUBJECT_TTL`] and updated at
//! once by the process that changes them; another agent sharing the same
//! PostgreSQL sees a removal or a replaced token within that time.

pub mod tokens;

use crate::db::Db;
use parking_lot::RwLock;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use subtle::ConstantTimeEq as _;
use tokens::{Claims, TokenKeys, TokenRole};

/// The authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The consortium operator.
    Operator,
    /// The admin of one company.
    CompanyAdmin {
        /// The company.
        company: String,
    },
    /// One employee.
    Employee {
        /// The employee's company.
        company: String,
        /// The employee.
        employee: String,
    },
}

impl Principal {
    /// The company the caller is scoped to, if any.
    pub fn company(&self) -> Option<&str> {
        match self {
            Principal::Operator => None,
            Principal::CompanyAdmin { company } | Principal::Employee { company, .. } => Some(company),
        }
    }

    /// A label for audit records.
    pub fn label(&self) -> String {
        match self {
            Principal::Operator => "operator".into(),
            Principal::CompanyAdmin { company } => format!("admin:{company}"),
            Principal::Employee { employee, .. } => format!("employee:{employee}"),
        }
    }
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Returned when no bearer credential is present.
    #[error("missing credentials: send `Authorization: Bearer <token or operator API key>`")]
    Missing,
    /// Returned when the credential is malformed, forged, expired or for another audience.
    #[error("{0}")]
    Invalid(String),
    /// Returned when the token was valid but its subject is removed or the token was replaced.
    #[error("the token has been revoked")]
    Revoked,
    /// Returned when the database cannot be asked.
    #[error("cannot check the token now")]
    Unavailable,
}

/// How long a cached subject state is trusted before the database is
/// asked again.
pub const SUBJECT_TTL: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Clone, Copy, Debug)]
struct SubjectState {
    active: bool,
    epoch: i64,
    loaded: std::time::Instant,
}

/// Most verified tokens remembered; past that the memory starts over.
const VERIFIED_CAPACITY: usize = 100_000;

/// Authenticates bearer credentials.
pub struct Authenticator {
    operator_key_hash: [u8; 32],
    tokens: TokenKeys,
    db: Db,
    subjects: RwLock<HashMap<String, SubjectState>>,
    /// Claims of tokens whose signature and registered claims verified,
    /// by SHA-256 of the token: a token is verified once, not per request.
    /// Expiry and revocation are still checked on every request.
    verified: RwLock<HashMap<[u8; 32], Claims>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("tokens", &self.tokens).finish_non_exhaustive()
    }
}

fn subject_key(role: TokenRole, id: &str) -> String {
    match role {
        TokenRole::CompanyAdmin => format!("co:{id}"),
        TokenRole::Employee => format!("em:{id}"),
    }
}

impl Authenticator {
    /// An authenticator for `operator_api_key` and token keys.
    pub fn new(operator_api_key: &str, tokens: TokenKeys, db: Db) -> Authenticator {
        Authenticator {
            operator_key_hash: Sha256::digest(operator_api_key.as_bytes()).into(),
            tokens,
            db,
            subjects: RwLock::new(HashMap::new()),
            verified: RwLock::new(HashMap::new()),
        }
    }

    /// The token keys.
    pub fn tokens(&self) -> &TokenKeys {
        &self.tokens
    }

    /// Authenticates the credential of an `Authorization: Bearer` header
    /// at `now_secs`.
    pub async fn authenticate(&self, credential: &str, now_secs: i64) -> Result<Principal, AuthError> {
        let digest: [u8; 32] = Sha256::digest(credential.as_bytes()).into();
        if bool::from(digest.ct_eq(&self.operator_key_hash)) {
            return Ok(Principal::Operator);
        }
        if credential.matches('.').count() != 2 {
            return Err(AuthError::Invalid("the credential is neither the operator API key nor a token".into()));
        }
        let claims = self.verified_claims(credential, digest, now_secs)?;
        self.check_current(&claims).await?;
        Ok(match claims.role {
            TokenRole::CompanyAdmin => Principal::CompanyAdmin { company: claims.tid },
            TokenRole::Employee => Principal::Employee { company: claims.tid, employee: claims.sub },
        })
    }

    fn verified_claims(&self, token: &str, digest: [u8; 32], now_secs: i64) -> Result<Claims, AuthError> {
        let known = self.verified.read().get(&digest).cloned();
        let claims = match known {
            Some(claims) => claims,
            None => {
                let claims = self.tokens.verify(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
                let mut verified = self.verified.write();
                if verified.len() >= VERIFIED_CAPACITY {
                    verified.clear();
                }
                verified.insert(digest, claims.clone());
                claims
            }
        };
        // The same tolerance as the signature-time validation applies.
        let leeway = i64::try_from(tokens::LEEWAY_SECS).unwrap_or(0);
        if claims.exp.saturating_add(leeway) <= now_secs {
            self.verified.write().remove(&digest);
            return Err(AuthError::Invalid("token refused: ExpiredSignature".into()));
        }
        Ok(claims)
    }

    async fn check_current(&self, claims: &Claims) -> Result<(), AuthError> {
        if claims.role == TokenRole::CompanyAdmin && claims.sub != claims.tid {
            return Err(AuthError::Invalid("admin token subject is not its company".into()));
        }
        let company = self.state(TokenRole::CompanyAdmin, &claims.tid, &claims.tid).await?;
        if !company.active {
            return Err(AuthError::Revoked);
        }
        let subject = match claims.role {
            TokenRole::CompanyAdmin => company,
            TokenRole::Employee => self.state(TokenRole::Employee, &claims.tid, &claims.sub).await?,
        };
        if !subject.active || subject.epoch != claims.epoch {
            return Err(AuthError::Revoked);
        }
        Ok(())
    }

    async fn state(&self, role: TokenRole, company: &str, id: &str) -> Result<SubjectState, AuthError> {
        let key = subject_key(role, id);
        if let Some(s) = self.subjects.read().get(&key).filter(|s| s.loaded.elapsed() < SUBJECT_TTL) {
            return Ok(*s);
        }
        let found = match role {
            TokenRole::CompanyAdmin => {
                self.db.company(id).await.map_err(|_| AuthError::Unavailable)?.map(|c| (c.status, c.token_epoch))
            }
            TokenRole::Employee => self
                .db
                .employee(company, id)
                .await
                .map_err(|_| AuthError::Unavailable)?
                .map(|e| (e.status, e.token_epoch)),
        };
        let state = match found {
            Some((status, epoch)) => {
                SubjectState { active: status == "active", epoch, loaded: std::time::Instant::now() }
            }
            None => SubjectState { active: false, epoch: -1, loaded: std::time::Instant::now() },
        };
        self.subjects.write().insert(key, state);
        Ok(state)
    }

    /// Records a subject's new state; called by whoever changed it.
    pub fn update(&self, role: TokenRole, id: &str, active: bool, epoch: i64) {
        self.subjects
            .write()
            .insert(subject_key(role, id), SubjectState { active, epoch, loaded: std::time::Instant::now() });
    }

    /// Forgets a subject so the next request reads the database.
    pub fn forget(&self, role: TokenRole, id: &str) {
        self.subjects.write().remove(&subject_key(role, id));
    }
}
