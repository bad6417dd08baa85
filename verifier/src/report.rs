//! A verification report: every check by name, and `verified` as the AND
//! of all of them. A report with no checks is not verified: nothing was
//! shown.

use serde::Serialize;

/// One check and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `signature`, `issuer`, `status`, `validity`,
    /// `holderBinding`, `challenge`, `domain`, `schema`, ...
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed, or what it established.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The result of verifying a credential or presentation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The AND of every check; false when there is none.
    pub verified: bool,
    /// Every check made, in order.
    pub checks: Vec<Check>,
    /// Things worth knowing that do not fail verification.
    pub warnings: Vec<String>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report::default()
    }

    /// Records a check; `Err` carries the reason it failed.
    pub fn check(&mut self, name: &str, outcome: Result<(), String>) -> &mut Report {
        let (passed, detail) = match outcome {
            Ok(()) => (true, None),
            Err(reason) => (false, Some(reason)),
        };
        self.checks.push(Check { name: name.to_owned(), passed, detail });
        self.verified = self.checks.iter().all(|c| c.passed);
        self
    }

    /// Records a warning.
    pub fn warn(&mut self, warning: impl Into<String>) -> &mut Report {
        self.warnings.push(warning.into());
        self
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// Whether the named check was made and passed.
    pub fn passed(&self, name: &str) -> bool {
        self.checks.iter().any(|c| c.name == name && c.passed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_is_the_and_of_every_check() {
        let mut r = Report::new();
        assert!(!r.verified, "no checks, nothing shown");
        r.check("signature", Ok(()));
        assert!(r.verified);
        r.check("status", Err("revoked".into()));
        r.check("validity", Ok(()));
        assert!(!r.verified);
        assert_eq!(r.failures().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["status"]);
        assert!(r.passed("signature") && !r.passed("status") && !r.passed("schema"));
    }
}
