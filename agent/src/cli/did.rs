//! `idelta did`: create, update, deactivate and resolve `did:idelta` DIDs
//! (docs/did-method.md §3, §9).

use super::tx::{self, Endorsement, EndorserArgs, KeyFile, Signer};
use super::LedgerArgs;
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use ed25519_dalek::SigningKey;
use idelta_ledger_node::client::{ClientError, LedgerClient};
use idelta_ledger_node::keys::{secret_to_multibase, DevKey};
use idelta_ledger_node::node::ResolveOptions;
use idelta_types::log::Receipt;
use idelta_types::tx::{DidCreate, DidDeactivate, DidUpdate};
use idelta_types::{Did, DidDocument, PublicKey, Service, TxType, VerificationMethod};
use std::path::PathBuf;
use std::str::FromStr;

/// `idelta did ...`
#[derive(Subcommand, Debug)]
pub(crate) enum DidCommand {
    /// Create a new did:idelta DID with a fresh key, save the key to --keys and print the DID (only the DID) on stdout.
    #[command(after_help = "Example:\n  DID=$(idelta did create --keys me.json --endorser did:idelta:... \
                            --endorser-keys data/trustee-keys.json --service id=web,type=LinkedDomains,endpoint=https://example.com)")]
    Create(CreateArgs),
    /// Replace a DID's document: rotate its key and/or add and remove services. Signed with the current key.
    #[command(after_help = "Example:\n  idelta did update --keys me.json --did did:idelta:... --rotate \
                            --endorser did:idelta:... --endorser-keys data/trustee-keys.json")]
    Update(UpdateArgs),
    /// Deactivate a DID for good: it resolves as deactivated (HTTP 410) and can no longer write or sign.
    Deactivate(DeactivateArgs),
    /// Resolve a DID, check the answer's proof against the node's signed tree head, and print the resolution result.
    #[command(after_help = "Example:\n  idelta did resolve did:idelta:... --ledger-key z6Mk... --version-id 1")]
    Resolve(ResolveArgs),
}

/// A `--service` value: `id=ID,type=TYPE,endpoint=URL`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ServiceSpec {
    fragment: String,
    kind: String,
    endpoint: String,
}

impl ServiceSpec {
    fn to_service(&self, did: &Did) -> Service {
        Service {
            id: did.with_fragment(&self.fragment),
            kind: self.kind.clone(),
            service_endpoint: self.endpoint.clone().into(),
        }
    }
}

/// The fragment of `id`, given as `name`, `#name` or `did:...#name`.
fn fragment_of(id: &str) -> &str {
    id.rsplit_once('#').map_or(id, |(_, f)| f)
}

impl FromStr for ServiceSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (mut id, mut kind, mut endpoint) = (None, None, None);
        for part in s.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not key=value; write id=ID,type=TYPE,endpoint=URL"))?;
            let slot = match k.trim() {
                "id" => &mut id,
                "type" => &mut kind,
                "endpoint" => &mut endpoint,
                other => return Err(format!("unknown service field `{other}`; use id, type and endpoint")),
            };
            *slot = Some(v.trim().to_owned());
        }
        match (id, kind, endpoint) {
            (Some(id), Some(kind), Some(endpoint))
                if !fragment_of(&id).is_empty() && !kind.is_empty() && !endpoint.is_empty() =>
            {
                Ok(ServiceSpec { fragment: fragment_of(&id).to_owned(), kind, endpoint })
            }
            _ => Err("a service needs non-empty id, type and endpoint: id=ID,type=TYPE,endpoint=URL".into()),
        }
    }
}

/// `idelta did create`.
#[derive(Args, Debug)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Key file to add the new DID's key to (created if missing; plain-text development keys).
    #[arg(long, value_name = "FILE")]
    keys: PathBuf,
    #[command(flatten)]
    endorser: EndorserArgs,
    /// A service endpoint, id=ID,type=TYPE,endpoint=URL (repeatable; the endpoint may not contain commas).
    #[arg(long = "service", value_name = "SPEC")]
    services: Vec<ServiceSpec>,
}

/// `idelta did update`.
#[derive(Args, Debug)]
pub(crate) struct UpdateArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Key file holding the DID's current key; a rotated-in key is appended to it.
    #[arg(long, value_name = "FILE")]
    keys: PathBuf,
    /// The DID to update.
    #[arg(long, value_name = "DID")]
    did: Did,
    /// Replace the DID's keys with a fresh one, `#key-N` (the next free number); every relationship then names the
    /// new key only.
    #[arg(long)]
    rotate: bool,
    /// Add a service, id=ID,type=TYPE,endpoint=URL (repeatable).
    #[arg(long = "add-service", value_name = "SPEC")]
    add_services: Vec<ServiceSpec>,
    /// Remove the service with this id (`name`, `#name` or `did#name`; repeatable).
    #[arg(long = "remove-service", value_name = "ID")]
    remove_services: Vec<String>,
    #[command(flatten)]
    endorser: EndorserArgs,
}

/// `idelta did deactivate`.
#[derive(Args, Debug)]
pub(crate) struct DeactivateArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Key file holding the DID's current key.
    #[arg(long, value_name = "FILE")]
    keys: PathBuf,
    /// The DID to deactivate.
    #[arg(long, value_name = "DID")]
    did: Did,
    #[command(flatten)]
    endorser: EndorserArgs,
}

/// `idelta did resolve`.
#[derive(Args, Debug)]
pub(crate) struct ResolveArgs {
    /// The DID to resolve.
    did: Did,
    #[command(flatten)]
    ledger: LedgerArgs,
    /// Resolve this version (1 is the create, each update adds one).
    #[arg(long, value_name = "N", conflicts_with = "version_time")]
    version_id: Option<u64>,
    /// Resolve the version in force at this time (RFC 3339, e.g. 2025-01-31T12:00:00Z).
    #[arg(long, value_name = "TIME")]
    version_time: Option<String>,
}

pub(crate) async fn run(command: DidCommand) -> anyhow::Result<()> {
    match command {
        DidCommand::Create(args) => {
            let client = args.ledger.connect().await?;
            let endorsement = args.endorser.load(&client, &args.keys).await?;
            let mut keys = KeyFile::load(&args.keys)?;
            let (did, receipt) = create(&client, &mut keys, endorsement.as_ref(), &args.services).await?;
            eprintln!("created {did} at leaf {}; its key is in {}", receipt.leaf_index, keys.path().display());
            println!("{did}");
        }
        DidCommand::Update(args) => {
            let client = args.ledger.connect().await?;
            let endorsement = args.endorser.load(&client, &args.keys).await?;
            let mut keys = KeyFile::load(&args.keys)?;
            let edit = Edit { rotate: args.rotate, add: args.add_services, remove: args.remove_services };
            let (receipt, new_kid) = update(&client, &mut keys, &args.did, &edit, endorsement.as_ref()).await?;
            eprintln!("updated {} at leaf {}", args.did, receipt.leaf_index);
            if let Some(kid) = new_kid {
                eprintln!("its key is now {kid}, saved in {}", keys.path().display());
            }
        }
        DidCommand::Deactivate(args) => {
            let client = args.ledger.connect().await?;
            let endorsement = args.endorser.load(&client, &args.keys).await?;
            let keys = KeyFile::load(&args.keys)?;
            let current = tx::current_document(&client, &args.did).await?;
            let signer = keys.signer(&args.did, Some(&current))?;
            let receipt = tx::submit_as(
                &client,
                TxType::DidDeactivate,
                &args.did,
                &DidDeactivate {},
                &signer,
                endorsement.as_ref(),
            )
            .await?;
            eprintln!("deactivated {} at leaf {}", args.did, receipt.leaf_index);
        }
        DidCommand::Resolve(args) => resolve(args).await?,
    }
    Ok(())
}

/// Creates a DID with a fresh key and `services`; the key is saved in
/// `keys` before the write is submitted.
pub(crate) async fn create(
    client: &LedgerClient,
    keys: &mut KeyFile,
    endorsement: Option<&Endorsement>,
    services: &[ServiceSpec],
) -> anyhow::Result<(Did, Receipt)> {
    let (dev, key) = DevKey::generate();
    let did = dev.did.clone();
    let services = services.iter().map(|s| s.to_service(&did)).collect();
    let document = DidDocument::with_ed25519_key(&did, &PublicKey::Ed25519(key.verifying_key()), services);
    document.validate(&did).context("the new DID document is invalid")?;
    let signer = Signer::new(dev.kid.clone(), key);
    let tx = tx::signed(TxType::DidCreate, &did, 1, &DidCreate { document }, &signer, endorsement)?;
    let receipt = tx::with_staged_key(keys, dev, tx::submit(client, &tx)).await?;
    Ok((did, receipt))
}

/// What `idelta did update` changes.
#[derive(Debug, Default)]
pub(crate) struct Edit {
    rotate: bool,
    add: Vec<ServiceSpec>,
    remove: Vec<String>,
}

/// Updates `did` as `edit` says, signed with its current key. Returns the
/// receipt and, after a rotation, the new key's id.
async fn update(
    client: &LedgerClient,
    keys: &mut KeyFile,
    did: &Did,
    edit: &Edit,
    endorsement: Option<&Endorsement>,
) -> anyhow::Result<(Receipt, Option<String>)> {
    let current = tx::current_document(client, did).await?;
    let signer = keys.signer(did, Some(&current))?;
    let mut document = current.clone();
    for id in &edit.remove {
        let full = did.with_fragment(fragment_of(id));
        let before = document.service.len();
        document.service.retain(|s| s.id != full);
        if document.service.len() == before {
            let ids: Vec<&str> = current.service.iter().map(|s| s.id.as_str()).collect();
            bail!(
                "{did} has no service {full} (its services: {})",
                if ids.is_empty() { "none".into() } else { ids.join(", ") }
            );
        }
    }
    for spec in &edit.add {
        let service = spec.to_service(did);
        if document.service.iter().any(|s| s.id == service.id) {
            bail!(
                "{did} already has service {}; replace it with --remove-service {} --add-service ...",
                service.id,
                spec.fragment
            );
        }
        document.service.push(service);
    }
    let new_key = edit.rotate.then(|| rotate(&mut document, did, keys));
    if document == current {
        bail!("nothing to change: pass --rotate, --add-service or --remove-service");
    }
    document.validate(did).context("the updated DID document would be invalid")?;
    let payload = DidUpdate { document };
    let write = tx::submit_as(client, TxType::DidUpdate, did, &payload, &signer, endorsement);
    match new_key {
        Some(dev) => {
            let kid = dev.kid.clone();
            let receipt = tx::with_staged_key(keys, dev, write).await?;
            Ok((receipt, Some(kid)))
        }
        None => Ok((write.await?, None)),
    }
}

/// Replaces the keys of `document` with a fresh `#key-N` and returns its
/// key-file entry. N is one more than any `key-N` the document or the key
/// file has used, so a fragment is never reused for another key.
fn rotate(document: &mut DidDocument, did: &Did, keys: &KeyFile) -> DevKey {
    let used = document.verification_method.iter().map(|m| m.id.as_str()).chain(keys.kids(did));
    let n = used.filter_map(|id| fragment_of(id).strip_prefix("key-")?.parse::<u64>().ok()).max().unwrap_or(0) + 1;
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let public = PublicKey::Ed25519(key.verifying_key());
    let kid = did.with_fragment(&format!("key-{n}"));
    document.verification_method = vec![VerificationMethod {
        id: kid.clone(),
        kind: "Multikey".into(),
        controller: did.clone(),
        public_key_multibase: public.to_multibase(),
    }];
    document.authentication = vec![kid.clone()];
    document.assertion_method = vec![kid.clone()];
    document.capability_invocation = vec![kid.clone()];
    if !document.capability_delegation.is_empty() {
        document.capability_delegation = vec![kid.clone()];
    }
    DevKey {
        did: did.clone(),
        kid,
        public_key_multibase: public.to_multibase(),
        secret_key_multibase: secret_to_multibase(&key).to_string(),
    }
}

async fn resolve(args: ResolveArgs) -> anyhow::Result<()> {
    let client = args.ledger.connect().await?;
    let options =
        ResolveOptions { version_id: args.version_id.map(|v| v.to_string()), version_time: args.version_time };
    let verified = match client.resolve(&args.did, &options).await {
        Ok(v) => v,
        Err(ClientError::NotFound) => {
            bail!("{} is not on the ledger at {} (or has no such version)", args.did, client.base_url())
        }
        Err(e) => return Err(tx::explain(e, &client)).with_context(|| format!("cannot resolve {}", args.did)),
    };
    let json = serde_json::to_string_pretty(&verified.result).context("cannot print the result")?;
    println!("{json}");
    let leaf = verified.result.did_document_metadata.ledger.as_ref().map_or(0, |l| l.leaf_index);
    eprintln!(
        "verified: leaf {leaf} is in the log of {} entries signed by {}",
        verified.sth.tree_size,
        idelta_types::log::node_signer_id(client.node_key())
    );
    if verified.deactivated {
        let version = verified.result.did_document_metadata.version_id.as_deref().unwrap_or("?");
        eprintln!(
            "note: {} is deactivated; the proof covers the deactivation, not the document shown (check that with \
             --version-id {version})",
            args.did
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_specs_parse() {
        let s: ServiceSpec = "id=#web,type=LinkedDomains,endpoint=https://example.com/?a=b".parse().unwrap();
        assert_eq!(
            s,
            ServiceSpec {
                fragment: "web".into(),
                kind: "LinkedDomains".into(),
                endpoint: "https://example.com/?a=b".into()
            }
        );
        assert!("id=web,type=X".parse::<ServiceSpec>().is_err());
        assert!("id=web,type=X,endpoint=u,colour=red".parse::<ServiceSpec>().is_err());
        assert!("web".parse::<ServiceSpec>().is_err());
    }

    #[test]
    fn rotation_takes_the_next_free_key_number() {
        let (dev, key) = DevKey::generate();
        let mut doc = DidDocument::with_ed25519_key(&dev.did, &PublicKey::Ed25519(key.verifying_key()), vec![]);
        let keys = KeyFile::load(std::path::Path::new("/nonexistent/keys.json")).unwrap();
        let new = rotate(&mut doc, &dev.did, &keys);
        assert_eq!(new.kid, dev.did.with_fragment("key-2"));
        assert_eq!(doc.verification_method.len(), 1);
        assert_eq!(doc.capability_invocation, vec![new.kid.clone()]);
        doc.validate(&dev.did).unwrap();
        let newer = rotate(&mut doc, &dev.did, &keys);
        assert_eq!(newer.kid, dev.did.with_fragment("key-3"));
    }
}
