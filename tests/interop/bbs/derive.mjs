// Derives a selectively disclosed credential from a bbs-2023 base proof
// with Digital Bazaar's libraries.
// stdin: {credential, selectivePointers, presentationHeader (hex), didDocuments}
// stdout: {credential} or {error}; exits 0 whatever the outcome.
import * as vc from '@digitalbazaar/vc';
import {discloseSuite, documentLoader, readInput} from './common.mjs';

const input = await readInput();
try {
  const credential = await vc.derive({
    verifiableCredential: input.credential,
    suite: discloseSuite(input),
    documentLoader: documentLoader(input.didDocuments)
  });
  console.log(JSON.stringify({credential}));
} catch(e) {
  console.log(JSON.stringify({error: e.message}));
}
