// Issues an SD-JWT VC with @sd-jwt/sd-jwt-vc and a fresh Ed25519 key; the
// issuer is the key's did:key, so idelta can resolve it without a network.
// stdin (all optional): { claims, disclose: [top-level names], vct, holderJwk, iat, exp }
// stdout: { sdjwt, issuerJwk, iss, kid }
import { generateKeyPairSync } from 'node:crypto';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { didKeyOf, hasher, readStdinJson, signerFor } from './common.mjs';
import { randomBytes } from 'node:crypto';

const input = await readStdinJson();
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const issuerJwk = publicKey.export({ format: 'jwk' });
const { did, kid } = didKeyOf(issuerJwk);

const sdjwt = new SDJwtVcInstance({
  hasher,
  hashAlg: 'sha-256',
  signer: signerFor(privateKey),
  signAlg: 'EdDSA',
  saltGenerator: (n) => randomBytes(n).toString('base64url'),
});
const claims = input.claims ?? { given_name: 'Grace', family_name: 'Hopper', employee_id: 'E-1906' };
const disclose = input.disclose ?? Object.keys(claims);
const iat = input.iat ?? Math.floor(Date.now() / 1000);
const payload = { iss: did, iat, vct: input.vct ?? 'https://idelta.example/EmployeeCredential', ...claims };
if (input.exp !== undefined) payload.exp = input.exp;
if (input.holderJwk) payload.cnf = { jwk: input.holderJwk };
const token = await sdjwt.issue(payload, { _sd: disclose }, { header: { kid } });
console.log(JSON.stringify({ sdjwt: token, issuerJwk, iss: did, kid }));
