// Checks a credential's Bitstring Status List entries with Digital Bazaar's
// @digitalbazaar/vc-bitstring-status-list: the credential's proof and its
// status list credentials' proofs, matching issuers, then each status bit.
// stdin: {credential, didDocuments, statusLists: {<url>: <status list credential>}}
//   (the status list credentials as the agent serves them; nothing is fetched)
// stdout: {verified, statuses: {<statusPurpose>: <bit set>}, valid, error?}
//   where valid = verified and no bit is set; exits 0 whatever the outcome.
import * as vc from '@digitalbazaar/vc';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {documentLoader} from './loader.mjs';

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const suite = [
  new DataIntegrityProof({cryptosuite: rdfc}),
  new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()})
];
const dids = documentLoader(input.didDocuments);
const lists = new Map(Object.entries(input.statusLists || {}));
const loader = async url => lists.has(url) ?
  {contextUrl: null, documentUrl: url, document: lists.get(url)} : dids(url);

function message(error) {
  const errors = error.errors || (Array.isArray(error) ? error : [error]);
  return errors.map(e => e.message || String(e)).join('; ');
}

try {
  const result = await vc.verifyCredential({
    credential: input.credential, suite, documentLoader: loader, checkStatus
  });
  const statuses = {};
  for(const r of result.statusResult?.results || []) {
    statuses[r.credentialStatus.statusPurpose] = r.status;
  }
  const out = {
    verified: result.verified,
    statuses,
    valid: result.verified && Object.keys(statuses).length > 0 &&
      Object.values(statuses).every(set => set === false)
  };
  if(!result.verified) {
    out.error = message(result.error || result.statusResult?.error || 'not verified');
  }
  console.log(JSON.stringify(out));
} catch(e) {
  console.log(JSON.stringify({verified: false, statuses: {}, valid: false, error: e.message}));
}
