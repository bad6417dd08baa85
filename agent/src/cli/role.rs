//! `idelta role`: trustees grant and revoke ledger roles
//! (docs/did-method.md §6, after Hyperledger Indy).

use super::tx::{self, KeyFile};
use super::LedgerArgs;
use clap::{Args, Subcommand, ValueEnum};
use idelta_types::tx::{Role, RoleGrant, RoleRevoke};
use idelta_types::{Did, TxType};
use std::path::PathBuf;

/// `idelta role ...`
#[derive(Subcommand, Debug)]
pub(crate) enum RoleCommand {
    /// Give a DID a role (replacing any it holds); signed by a trustee.
    #[command(
        after_help = "Example:\n  idelta role grant --keys data/trustee-keys.json --did did:idelta:... --role endorser"
    )]
    Grant(GrantArgs),
    /// Take a DID's role away; signed by a trustee. The last trustee keeps its role.
    Revoke(RevokeArgs),
}

/// Who acts on whom.
#[derive(Args, Debug)]
pub(crate) struct RoleTarget {
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Key file holding the trustee's key (e.g. DATA/trustee-keys.json).
    #[arg(long, value_name = "FILE")]
    keys: PathBuf,
    /// The trustee who signs (default: the only DID in --keys).
    #[arg(long, value_name = "DID")]
    trustee: Option<Did>,
    /// The DID whose role changes.
    #[arg(long, value_name = "DID")]
    did: Did,
}

/// `idelta role grant`.
#[derive(Args, Debug)]
pub(crate) struct GrantArgs {
    #[command(flatten)]
    target: RoleTarget,
    /// The role to grant.
    #[arg(long, value_enum, default_value_t = RoleArg::Endorser)]
    role: RoleArg,
}

/// `idelta role revoke`.
#[derive(Args, Debug)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    target: RoleTarget,
}

/// A ledger role on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum RoleArg {
    /// Governs the network: grants and revokes every role.
    Trustee,
    /// Runs infrastructure; writes without endorsement and may endorse.
    Steward,
    /// Writes without endorsement and counter-signs writes of authors.
    Endorser,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Trustee => Role::Trustee,
            RoleArg::Steward => Role::Steward,
            RoleArg::Endorser => Role::Endorser,
        }
    }
}

pub(crate) async fn run(command: RoleCommand) -> anyhow::Result<()> {
    let (target, grant) = match command {
        RoleCommand::Grant(a) => (a.target, Some(Role::from(a.role))),
        RoleCommand::Revoke(a) => (a.target, None),
    };
    let client = target.ledger.connect().await?;
    let keys = KeyFile::load(&target.keys)?;
    let trustee = match target.trustee {
        Some(t) => t,
        None => keys.only_did("--trustee")?,
    };
    let current = tx::current_document(&client, &trustee).await?;
    let signer = keys.signer(&trustee, Some(&current))?;
    let did = target.did;
    let receipt = match grant {
        Some(role) => {
            let payload = RoleGrant { did: did.clone(), role };
            tx::submit_as(&client, TxType::RoleGrant, &trustee, &payload, &signer, None).await?
        }
        None => {
            let payload = RoleRevoke { did: did.clone() };
            tx::submit_as(&client, TxType::RoleRevoke, &trustee, &payload, &signer, None).await?
        }
    };
    match grant {
        Some(role) => eprintln!(
            "{did} is now {} (leaf {}, signed by {})",
            format!("{role:?}").to_lowercase(),
            receipt.leaf_index,
            signer.kid()
        ),
        None => eprintln!("{did} holds no role now (leaf {}, signed by {})", receipt.leaf_index, signer.kid()),
    }
    Ok(())
}
