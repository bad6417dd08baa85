//! The settlement report: a pure function of the settlement entries, so
//! anyone replaying the log computes the same report.
//!
//! Each cross-token payment appends one entry: `payer` (the company whose
//! token the buyer spent; its treasury received those tokens) owes `payee`
//! (the company whose benefit, or whose token, was delivered) `value`
//! settlement micro-units, and the payee owes `commission` of that to the
//! commission's beneficiary. For a period `[from, to)` of batch times:
//!
//! - `gross`: per ordered pair, the sums of value and commission, and the count;
//! - `net`: per unordered pair, the one who owes more pays the difference
//!   (pairs that cancel out are left out);
//! - `commission`: per payee, the commission it owes;
//! - `positions`: per party, receivable − payable − commission owed
//!   (+ commission received, for the beneficiary); they sum to zero.
//!
//! Sums are taken in `u128`/`i128` and must fit the report's `u64`/`i64`:
//! a period whose totals do not is refused (ask for a shorter one).

use idelta_types::loyalty::views::{CompanyAmount, GrossRow, NetRow, PositionRow, SettlementReport};
use idelta_types::Did;
use std::collections::BTreeMap;

/// One cross-token payment, as the settlement sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementEntry {
    /// Leaf of the paying transaction.
    pub leaf_index: u64,
    /// Its batch time.
    pub timestamp_ms: u64,
    /// The company that owes.
    pub payer: Did,
    /// The company that is owed.
    pub payee: Did,
    /// Settlement micro-units.
    pub value: u64,
    /// What the payee owes the beneficiary out of `value`.
    pub commission: u64,
    /// Who the commission is owed to (none without a commission set).
    pub beneficiary: Option<Did>,
}

/// Returned when a period's totals do not fit 64 bits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the settlement totals from {from} to {to} exceed 64-bit amounts; ask for a shorter period")]
pub struct Overflow {
    /// Start of the period.
    pub from: u64,
    /// End of the period.
    pub to: u64,
}

#[derive(Default)]
struct Gross {
    value: u128,
    commission: u128,
    count: u64,
}

/// The report over the entries whose batch time is in `[from, to)`;
/// `entries` are in log order, hence by time.
pub fn report(entries: &[SettlementEntry], from: u64, to: u64, tree_size: u64) -> Result<SettlementReport, Overflow> {
    let fit = |v: u128| u64::try_from(v).map_err(|_| Overflow { from, to });
    let start = entries.partition_point(|e| e.timestamp_ms < from);
    let end = entries.partition_point(|e| e.timestamp_ms < to).max(start);
    let period = entries.get(start..end).unwrap_or_default();

    let mut gross: BTreeMap<(&Did, &Did), Gross> = BTreeMap::new();
    let mut commission: BTreeMap<&Did, u128> = BTreeMap::new();
    let mut positions: BTreeMap<&Did, i128> = BTreeMap::new();
    for e in period {
        let g = gross.entry((&e.payer, &e.payee)).or_default();
        g.value += u128::from(e.value);
        g.commission += u128::from(e.commission);
        g.count += 1;
        let (value, fee) = (i128::from(e.value), i128::from(e.commission));
        *positions.entry(&e.payee).or_default() += value - fee;
        *positions.entry(&e.payer).or_default() -= value;
        if let Some(beneficiary) = &e.beneficiary {
            *commission.entry(&e.payee).or_default() += u128::from(e.commission);
            *positions.entry(beneficiary).or_default() += fee;
        }
    }

    let mut net = Vec::new();
    for ((payer, payee), g) in &gross {
        let back = gross.get(&(*payee, *payer)).map_or(0, |b| b.value);
        // Each unordered pair once, from the side that owes more.
        if g.value > back {
            net.push(NetRow { payer: (*payer).clone(), payee: (*payee).clone(), amount: fit(g.value - back)? });
        }
    }
    Ok(SettlementReport {
        tree_size,
        from,
        to,
        gross: gross
            .iter()
            .map(|((payer, payee), g)| {
                Ok(GrossRow {
                    payer: (*payer).clone(),
                    payee: (*payee).clone(),
                    value: fit(g.value)?,
                    commission: fit(g.commission)?,
                    count: g.count,
                })
            })
            .collect::<Result<_, Overflow>>()?,
        net,
        commission: commission
            .into_iter()
            .filter(|(_, amount)| *amount > 0)
            .map(|(company, amount)| Ok(CompanyAmount { company: company.clone(), amount: fit(amount)? }))
            .collect::<Result<_, Overflow>>()?,
        positions: positions
            .into_iter()
            .map(|(company, amount)| {
                let amount = i64::try_from(amount).map_err(|_| Overflow { from, to })?;
                Ok(PositionRow { company: company.clone(), amount })
            })
            .collect::<Result<_, Overflow>>()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn did(name: &str) -> Did {
        format!("did:web:{name}.example").parse().unwrap()
    }

    fn entry(ts: u64, payer: &Did, payee: &Did, value: u64, commission: u64, op: Option<&Did>) -> SettlementEntry {
        SettlementEntry {
            leaf_index: ts,
            timestamp_ms: ts,
            payer: payer.clone(),
            payee: payee.clone(),
            value,
            commission,
            beneficiary: op.cloned(),
        }
    }

    /// The pure arithmetic by hand (the state-level worked example in
    /// `loyalty/tests.rs` produces such entries from purchases).
    #[test]
    fn gross_net_commission_positions_by_hand() {
        let (a, b, c, op) = (did("a"), did("b"), did("c"), did("operator"));
        let entries = vec![
            entry(5, &a, &b, 999, 0, None), // before the period
            entry(10, &a, &b, 1_000_000, 20_000, Some(&op)),
            entry(11, &b, &a, 300_000, 6_000, Some(&op)),
            entry(12, &a, &b, 500_000, 10_000, Some(&op)),
            entry(13, &c, &a, 200_000, 4_000, Some(&op)),
            entry(14, &b, &c, 50_000, 1_000, Some(&op)),
            entry(15, &c, &b, 50_000, 1_000, Some(&op)), // cancels b->c exactly
            entry(20, &a, &b, 7, 0, None),               // at `to`: outside
        ];
        let r = report(&entries, 10, 20, 99).unwrap();
        assert_eq!((r.tree_size, r.from, r.to), (99, 10, 20));
        // gross a->b = 1_000_000 + 500_000 = 1_500_000 (2 entries), commission 30_000
        let g: Vec<_> = r.gross.iter().map(|g| (&g.payer, &g.payee, g.value, g.commission, g.count)).collect();
        let mut want = vec![
            (&a, &b, 1_500_000, 30_000, 2),
            (&b, &a, 300_000, 6_000, 1),
            (&b, &c, 50_000, 1_000, 1),
            (&c, &a, 200_000, 4_000, 1),
            (&c, &b, 50_000, 1_000, 1),
        ];
        want.sort();
        assert_eq!(g, want);
        // net: a owes b 1_500_000 - 300_000 = 1_200_000; c owes a 200_000; b<->c cancels.
        let n: Vec<_> = r.net.iter().map(|n| (&n.payer, &n.payee, n.amount)).collect();
        let mut want = vec![(&a, &b, 1_200_000), (&c, &a, 200_000)];
        want.sort();
        assert_eq!(n, want);
        // commission owed per payee: b 20_000 + 10_000 + 1_000 = 31_000; a 6_000 + 4_000 = 10_000; c 1_000
        let c_rows: Vec<_> = r.commission.iter().map(|c| (&c.company, c.amount)).collect();
        assert_eq!(c_rows, vec![(&a, 10_000), (&b, 31_000), (&c, 1_000)]);
        // positions = receivable - payable - commission owed (+ received):
        // a: 300_000 + 200_000 - 1_500_000 - 10_000 = -1_010_000
        // b: 1_500_000 + 50_000 - 300_000 - 50_000 - 31_000 = 1_169_000
        // c: 50_000 - 200_000 - 50_000 - 1_000 = -201_000
        // operator: 10_000 + 31_000 + 1_000 = 42_000
        let p: Vec<_> = r.positions.iter().map(|p| (&p.company, p.amount)).collect();
        assert_eq!(p, vec![(&a, -1_010_000), (&b, 1_169_000), (&c, -201_000), (&op, 42_000)]);
        assert_eq!(p.iter().map(|(_, v)| v).sum::<i64>(), 0);
    }

    #[test]
    fn empty_and_inverted_periods_and_overflow() {
        let (a, b) = (did("a"), did("b"));
        let r = report(&[], 0, 10, 1).unwrap();
        assert!(r.gross.is_empty() && r.net.is_empty() && r.positions.is_empty());
        let max = i64::MAX as u64;
        let entries = vec![entry(1, &a, &b, max, 0, None), entry(2, &a, &b, max, 0, None)];
        assert!(report(&entries, 5, 0, 1).unwrap().gross.is_empty());
        // Gross fits (2 * i64::MAX < u64::MAX) but b's position does not fit an i64.
        assert_eq!(report(&entries, 0, 10, 1), Err(Overflow { from: 0, to: 10 }));
        assert_eq!(report(&entries, 0, 2, 1).unwrap().positions[1].amount, i64::MAX);
    }
}
