// Ed25519 (EdDSA, RFC 8037) signing and verification for @sd-jwt, from
// node's own crypto: @sd-jwt/crypto-nodejs 0.19 offers only ECDSA.
import { createHash, createPublicKey, sign, verify } from 'node:crypto';

export const hasher = (data, alg = 'sha-256') => {
  if (alg !== 'sha-256') throw new Error(`unsupported hash ${alg}`);
  return new Uint8Array(createHash('sha256').update(data).digest());
};

export const signerFor = (privateKey) => async (data) =>
  sign(null, Buffer.from(data), privateKey).toString('base64url');

export const verifierFor = (publicJwk) => {
  const key = createPublicKey({ key: publicJwk, format: 'jwk' });
  return async (data, signature) =>
    verify(null, Buffer.from(data), key, Buffer.from(signature, 'base64url'));
};

// Verifies a KB-JWT with the holder key in the credential's `cnf.jwk`.
export const kbVerifier = async (data, signature, payload) => {
  const jwk = payload?.cnf?.jwk;
  if (!jwk) throw new Error('no cnf.jwk in the credential');
  return verifierFor(jwk)(data, signature);
};

export async function readStdinJson() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text ? JSON.parse(text) : {};
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58btc(bytes) {
  let n = BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'));
  let out = '';
  while (n > 0n) { out = B58[Number(n % 58n)] + out; n /= 58n; }
  for (const b of bytes) { if (b !== 0) break; out = '1' + out; }
  return out;
}

// did:key of an Ed25519 JWK (W3C did:key v0.7: multicodec 0xed01 + key).
export function didKeyOf(jwk) {
  const raw = Buffer.from(jwk.x, 'base64url');
  const mb = 'z' + base58btc(Buffer.concat([Buffer.from([0xed, 0x01]), raw]));
  return { did: `did:key:${mb}`, kid: `did:key:${mb}#${mb}` };
}
