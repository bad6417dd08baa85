// A JSON-LD document loader with bundled contexts only: it never fetches.
// idelta's context is read from the repository file the Rust crate embeds;
// DID documents come from the caller.
import {readFileSync} from 'node:fs';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {contexts as multikeyContexts} from '@digitalbazaar/multikey-context';
import didContext from 'did-context';

const IDELTA_V1 = 'https://idelta.example/contexts/v1';
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';

const bundled = new Map([
  ...credentialsContexts,
  ...multikeyContexts,
  ...didContext.contexts,
  [IDELTA_V1, JSON.parse(readFileSync(
    new URL('../../../issuer/contexts/idelta-v1.jsonld', import.meta.url), 'utf8'))]
]);

export function documentLoader(didDocuments = []) {
  const dids = new Map(didDocuments.map(d => [d.id, d]));
  return async url => {
    if(bundled.has(url)) {
      return {contextUrl: null, documentUrl: url, document: bundled.get(url)};
    }
    const [did] = url.split('#');
    const doc = dids.get(did);
    if(!doc) {
      throw new Error(`not bundled and never fetched: ${url}`);
    }
    if(url === did) {
      return {contextUrl: null, documentUrl: url, document: doc};
    }
    const vm = (doc.verificationMethod || []).find(m => m.id === url);
    if(!vm) {
      throw new Error(`no verification method ${url} in ${did}`);
    }
    return {contextUrl: null, documentUrl: url,
      document: {'@context': MULTIKEY_V1, ...vm}};
  };
}
