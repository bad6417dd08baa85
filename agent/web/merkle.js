// Checks a ledger answer in the browser, without trusting the server that
// gave it (design.md §4, RFC 6962 / RFC 9162), with WebCrypto only:
//
// - leaf hash: SHA-256(0x00 || leaf_input), leaf_input being exactly the
//   logged bytes: 0x01 || timestamp (u64 big-endian ms) || JCS(transaction);
// - inclusion: the audit path folded to a root (RFC 9162 §2.1.3.2), which
//   must equal the signed tree head's root for the same tree size;
// - tree head signature: Ed25519 over RFC 6962 §3.5's TreeHeadSignature
//   (0 || 1 || timestamp u64 || tree_size u64 || root), by the node key
//   named as a did:key, where the browser supports Ed25519.
//
// Sizes and indices are BigInt: JavaScript's bit operators are 32-bit.

/** Bytes of standard, padded base64. */
export function fromBase64(text) {
  const bin = atob(String(text));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
  return out;
}

/** Lower-case hex of bytes. */
export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether WebCrypto is there at all: only in secure contexts (https, localhost). */
export const hasWebCrypto = () => Boolean(globalThis.crypto && crypto.subtle);

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** RFC 6962 §2.1 leaf hash. */
export const leafHash = (leafInput) => sha256(concat(Uint8Array.of(0), leafInput));

const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

/**
 * The root an inclusion proof implies (RFC 9162 §2.1.3.2), or an Error
 * saying why the proof cannot be right.
 */
export async function rootFromInclusion(leafIndex, treeSize, leaf, path) {
  let fn = BigInt(leafIndex);
  let sn = BigInt(treeSize) - 1n;
  if (fn > sn) throw new Error(`leaf ${leafIndex} is not below tree size ${treeSize}`);
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) throw new Error('the audit path is longer than this tree needs');
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error('the audit path is shorter than this tree needs');
  return r;
}

/** The 50 bytes a tree head signature covers. */
export function treeHeadSigningInput(timestamp, treeSize, root) {
  const out = new Uint8Array(50);
  const view = new DataView(out.buffer);
  out[0] = 0; // version v1
  out[1] = 1; // signature_type tree_hash
  view.setBigUint64(2, BigInt(timestamp));
  view.setBigUint64(10, BigInt(treeSize));
  out.set(root, 18);
  return out;
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function fromBase58(text) {
  let n = 0n;
  for (const c of text) {
    const v = BASE58.indexOf(c);
    if (v < 0) throw new Error(`\`${c}\` is not base58`);
    n = n * 58n + BigInt(v);
  }
  const bytes = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  for (const c of text) {
    if (c !== '1') break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

/** The raw Ed25519 key a `did:key:z6Mk…` names (multicodec 0xed 0x01). */
export function ed25519FromDidKey(didKey) {
  const m = /^did:key:z([1-9A-HJ-NP-Za-km-z]+)$/.exec(String(didKey));
  if (!m) throw new Error(`\`${didKey}\` is not a base58btc did:key`);
  const bytes = fromBase58(m[1]);
  if (bytes.length !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) throw new Error(`\`${didKey}\` is not an Ed25519 did:key`);
  return bytes.slice(2);
}

/**
 * One check's outcome: `state` is "passed", "failed" or "not run"; `name`
 * says what was checked, `detail` how it came out.
 */
const check = (state, name, detail) => ({ state, name, detail });

/**
 * Verifies the signature of `sth` by `pinnedSigner` (a did:key). Returns a
 * check: "not run" when the browser has no Ed25519 in WebCrypto.
 */
export async function checkSthSignature(sth, pinnedSigner) {
  const name = 'Tree head signature (Ed25519, by the pinned node key)';
  const sig = (sth.signatures || []).find((s) => s.signer === pinnedSigner);
  if (!sig) return check('failed', name, `no signature by ${pinnedSigner} on this tree head`);
  if (sig.alg !== 'EdDSA') return check('failed', name, `signature algorithm ${sig.alg} is not EdDSA`);
  let raw;
  try {
    raw = ed25519FromDidKey(pinnedSigner);
  } catch (e) {
    return check('failed', name, e.message);
  }
  let key;
  try {
    key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return check('not run', name, 'this browser has no Ed25519 in WebCrypto');
  }
  const message = treeHeadSigningInput(sth.timestamp, sth.tree_size, fromBase64(sth.sha256_root_hash));
  const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, fromBase64(sig.signature), message);
  return ok
    ? check('passed', name, `signed by ${pinnedSigner}`)
    : check('failed', name, 'the signature does not verify');
}

/** Timestamp and transaction in a leaf input (0x01 || u64 ms || JCS JSON). */
export function decodeLeaf(bytes) {
  if (bytes.length < 9 || bytes[0] !== 1) throw new Error('the leaf input is not version 1');
  const timestamp = new DataView(bytes.buffer, bytes.byteOffset + 1, 8).getBigUint64(0);
  const tx = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(9)));
  return { timestamp: Number(timestamp), tx };
}

/** JSON with sorted keys, to compare two parsed documents. */
function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]));
  }
  return value;
}

/**
 * Checks that `leafInput` (base64) is leaf `leafIndex` of the tree `sth`
 * describes, with `auditPath` (base64 hashes) for that tree size, and that
 * the node signed `sth`. `reported` is the transaction the server said the
 * leaf holds (checked to be the one in the bytes), if any.
 *
 * Returns `{ verified, checks, decoded, leafHash }`: `verified` is true when
 * every check that ran passed and the inclusion check ran.
 */
export async function checkInclusion({ leafIndex, leafInput, auditPath, sth, pinnedSigner, reported }) {
  const checks = [];
  if (!hasWebCrypto()) {
    checks.push(check('not run', 'Every check', 'this page is not in a secure context (https or localhost), so the browser offers no WebCrypto'));
    return { verified: false, checks, decoded: null, leafHash: null };
  }
  const bytes = fromBase64(leafInput);
  let decoded = null;
  try {
    decoded = decodeLeaf(bytes);
    const same = reported === undefined || JSON.stringify(sorted(decoded.tx)) === JSON.stringify(sorted(reported));
    checks.push(same
      ? check('passed', 'Leaf bytes', `${bytes.length} bytes: version 1, batch time ${new Date(decoded.timestamp).toISOString()}, the transaction shown`)
      : check('failed', 'Leaf bytes', 'the transaction in the leaf bytes differs from the one the server reported'));
  } catch (e) {
    checks.push(check('failed', 'Leaf bytes', e.message));
  }
  const leaf = await leafHash(bytes);
  checks.push(check('passed', 'Leaf hash SHA-256(0x00 ‖ leaf input)', hex(leaf)));
  const signedRoot = fromBase64(sth.sha256_root_hash);
  const inclusionName = `Audit path (${auditPath.length} hashes) folds to the signed root of tree size ${sth.tree_size}`;
  try {
    const root = await rootFromInclusion(leafIndex, sth.tree_size, leaf, auditPath.map(fromBase64));
    checks.push(equal(root, signedRoot)
      ? check('passed', inclusionName, `root ${hex(root)}`)
      : check('failed', inclusionName, `the path leads to ${hex(root)}, the signed root is ${hex(signedRoot)}`));
  } catch (e) {
    checks.push(check('failed', inclusionName, e.message));
  }
  checks.push(await checkSthSignature(sth, pinnedSigner));
  const verified = checks.every((c) => c.state !== 'failed') && checks.some((c) => c.name === inclusionName && c.state === 'passed');
  return { verified, checks, decoded, leafHash: leaf };
}
