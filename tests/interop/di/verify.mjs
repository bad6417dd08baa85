// Verifies a credential or presentation with Digital Bazaar's libraries.
// stdin: {credential | presentation, didDocuments, challenge?, domain?}
// stdout: {verified, error?}; exits 0 whatever the outcome.
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfc} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {createSignCryptosuite, createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
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
const loader = documentLoader(input.didDocuments);

function message(error) {
  if(!error) {
    return undefined;
  }
  const errors = error.errors || (Array.isArray(error) ? error : [error]);
  return errors.map(e => e.message || String(e)).join('; ');
}

let result;
try {
  if(input.presentation) {
    result = await vc.verify({
      presentation: input.presentation, suite, documentLoader: loader,
      challenge: input.challenge, domain: input.domain
    });
  } else {
    result = await vc.verifyCredential({
      credential: input.credential, suite, documentLoader: loader
    });
  }
  const out = {verified: result.verified};
  if(!result.verified) {
    out.error = message(result.error) ||
      JSON.stringify(result, (k, v) => v instanceof Error ? v.message : v);
  }
  console.log(JSON.stringify(out));
} catch(e) {
  console.log(JSON.stringify({verified: false, error: e.message}));
}
