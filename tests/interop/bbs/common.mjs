// Shared by the bbs-2023 scripts: stdin as JSON, the bbs-2023 suites, and a
// document loader with bundled contexts only: it never fetches. idelta's
// context is read from the repository file the Rust crate embeds; DID
// documents come from the caller (a did:key BLS12-381 G2 document).
import {readFileSync} from 'node:fs';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {
  createDiscloseCryptosuite, createSignCryptosuite, createVerifyCryptosuite
} from '@digitalbazaar/bbs-2023-cryptosuite';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {contexts as multikeyContexts} from '@digitalbazaar/multikey-context';
import didContext from 'did-context';

const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';
const bundled = new Map([
  ...credentialsContexts,
  ...multikeyContexts,
  ...didContext.contexts,
  ['https://idelta.example/contexts/v1', JSON.parse(readFileSync(
    new URL('../../../issuer/contexts/idelta-v1.jsonld', import.meta.url), 'utf8'))]
]);

export function documentLoader(didDocuments = []) {
  const dids = new Map(didDocuments.map(d => [d.id, d]));
  return async url => {
    const [did] = url.split('#');
    const document = bundled.get(url) ?? (url === did ? dids.get(did) :
      (dids.get(did)?.verificationMethod || []).filter(m => m.id === url)
        .map(m => ({'@context': MULTIKEY_V1, ...m}))[0]);
    if(!document) {
      throw new Error(`not bundled and never fetched: ${url}`);
    }
    return {contextUrl: null, documentUrl: url, document};
  };
}

export async function readInput() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

export function signSuite({signer, mandatoryPointers}) {
  return new DataIntegrityProof({
    signer, cryptosuite: createSignCryptosuite({mandatoryPointers})
  });
}

export function discloseSuite({selectivePointers, presentationHeader = ''}) {
  return new DataIntegrityProof({
    cryptosuite: createDiscloseCryptosuite({
      selectivePointers,
      presentationHeader: Uint8Array.from(Buffer.from(presentationHeader, 'hex'))
    })
  });
}

export function verifySuite() {
  return new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
}
