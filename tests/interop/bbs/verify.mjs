// Verifies a credential with a bbs-2023 derived proof with Digital
// Bazaar's libraries.
// stdin: {credential, didDocuments}
// stdout: {verified, error?}; exits 0 whatever the outcome.
import * as vc from '@digitalbazaar/vc';
import {documentLoader, readInput, verifySuite} from './common.mjs';

const input = await readInput();
try {
  const result = await vc.verifyCredential({
    credential: input.credential, suite: verifySuite(),
    documentLoader: documentLoader(input.didDocuments)
  });
  const out = {verified: result.verified};
  if(!result.verified) {
    const errors = result.error?.errors || [result.error];
    out.error = errors.map(e => e?.message || String(e)).join('; ') ||
      JSON.stringify(result, (k, v) => v instanceof Error ? v.message : v);
  }
  console.log(JSON.stringify(out));
} catch(e) {
  console.log(JSON.stringify({verified: false, error: e.message}));
}
