// Verifies an SD-JWT VC presentation with @sd-jwt/sd-jwt-vc.
// stdin: { presentation, issuerJwk, nonce?, aud?, now? }
// stdout: { verified, claims?, error? }
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { hasher, kbVerifier, readStdinJson, verifierFor } from './common.mjs';

const input = await readStdinJson();
try {
  const sdjwt = new SDJwtVcInstance({
    hasher,
    hashAlg: 'sha-256',
    verifier: verifierFor(input.issuerJwk),
    kbVerifier,
  });
  const options = {};
  if (input.now !== undefined) options.currentDate = input.now;
  if (input.nonce !== undefined) options.keyBindingNonce = input.nonce;
  const result = await sdjwt.verify(input.presentation, options);
  // The library leaves these to the caller: pin them as a verifier must.
  if (result.header?.typ !== 'dc+sd-jwt') throw new Error(`typ is ${result.header?.typ}`);
  if (result.header?.alg !== 'EdDSA') throw new Error(`alg is ${result.header?.alg}`);
  if (input.aud !== undefined && result.kb?.payload?.aud !== input.aud) {
    throw new Error(`KB-JWT aud is ${result.kb?.payload?.aud}`);
  }
  console.log(JSON.stringify({ verified: true, claims: result.payload, kb: result.kb?.payload }));
} catch (e) {
  console.log(JSON.stringify({ verified: false, error: String(e?.message ?? e) }));
}
