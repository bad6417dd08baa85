// The ledger browser (/ledger): the signed tree head, recent transactions
// by type, search by DID and one entry at a time, each answer checked here
// with merkle.js rather than believed. Addresses: /ledger#leaf=N shows
// entry N, /ledger#did=DID searches a DID.

import { $, h, api, query, announce, run, onSubmit, paged, showError, num, when, short } from './app.js';
import { checkInclusion, checkSthSignature, hasWebCrypto } from './merkle.js';

const pinned = $('#node-key').textContent.trim();
const read = (path) => api(path, { auth: false });

const MARK = { passed: '✓ Passed', failed: '✗ Failed', 'not run': '– Not run' };

/** A list of checks, each with its outcome in words (not colour alone). */
function checkList(checks) {
  return h('ul', { class: 'checks' }, checks.map((c) =>
    h('li', { class: `check ${c.state.replace(' ', '-')}` },
      h('strong', { text: `${MARK[c.state]}: ` }), `${c.name}. `, h('span', { class: 'detail', text: c.detail }))));
}

/** One sentence for a whole verification. */
function verdict(what, result) {
  const failed = result.checks.find((c) => c.state === 'failed');
  if (result.verified) {
    const sig = result.checks.find((c) => c.name.startsWith('Tree head signature'));
    const note = sig && sig.state === 'not run' ? ` The tree head signature was not checked: ${sig.detail}.` : '';
    return { ok: true, text: `${what} verified.${note}` };
  }
  if (failed) return { ok: false, text: `${what} failed: ${failed.name}: ${failed.detail}.` };
  const skipped = result.checks.find((c) => c.state === 'not run');
  return { ok: false, text: `${what} not checked: ${skipped ? skipped.detail : 'nothing ran'}.` };
}

const didLink = (did) => h('a', { href: `#did=${encodeURIComponent(did)}` }, short(did));
const leafLink = (i) => h('a', { href: `#leaf=${i}`, text: `${i}` });

// ---- Signed tree head

async function loadSth() {
  let sth;
  try {
    sth = await read('/v1/log/sth');
  } catch (e) {
    if (e.status === 404) {
      throw new Error('the ledger does not answer on this address: the ledger browser reads the ledger on the same origin, as `idelta up` serves it');
    }
    throw e;
  }
  $('#sth').replaceChildren(
    h('dt', { text: 'Tree size' }), h('dd', { text: num(sth.tree_size) }),
    h('dt', { text: 'Root hash (base64)' }), h('dd', {}, h('code', { class: 'wrap', text: sth.sha256_root_hash })),
    h('dt', { text: 'Signed at' }), h('dd', { text: when(sth.timestamp) }),
    h('dt', { text: 'Signed by' }), h('dd', {}, ...(sth.signatures || []).map((s) => h('code', { class: 'wrap', text: s.signer }))),
  );
  if (!hasWebCrypto()) {
    $('#sth-check').textContent = 'Signature not checked: this page is not in a secure context (https or localhost), so the browser offers no WebCrypto.';
  } else {
    const c = await checkSthSignature(sth, pinned);
    $('#sth-check').replaceChildren(checkList([c]));
  }
  return sth;
}

// ---- Recent transactions

let reloadRecent = async () => {};

function setUpRecent() {
  const body = $('#recent tbody');
  reloadRecent = paged($('#recent-more'), async (cursor) => {
    const type = $('#recent-type').value;
    const page = await read(`/v1/log/recent${query({ type, before: cursor, limit: 25 })}`);
    const rows = (page.entries || []).map((e) => h('tr', {},
      h('td', {}, leafLink(e.leafIndex)),
      h('td', { text: e.type }),
      h('td', {}, didLink(e.author)),
      h('td', { text: when(e.timestamp) })));
    if (cursor === null) {
      body.replaceChildren(...rows);
      $('#recent-empty').hidden = rows.length > 0;
    } else body.append(...rows);
    return page.next ?? null;
  });
  onSubmit($('#recent-filter'), async () => {
    await reloadRecent();
    announce(`Showing ${$('#recent-type').value || 'all types'}`);
  });
}

// ---- One entry

async function showEntry(index) {
  const target = $('#entry');
  $('#leaf').value = String(index);
  target.replaceChildren(h('p', { text: `Loading leaf ${index}…` }));
  const entry = await read(`/v1/log/entries/${index}`);
  const sth = await read('/v1/log/sth');
  const heading = h('h3', { id: 'entry-title', tabindex: '-1', text: `Leaf ${index}` });
  if (BigInt(index) >= BigInt(sth.tree_size)) {
    target.replaceChildren(heading, h('p', { id: 'proof-result', class: 'result', text: `Leaf ${index} is not in the signed tree of size ${sth.tree_size} yet: try again in a moment.` }));
    return;
  }
  const proof = await read(`/v1/log/proof/inclusion${query({ leaf_index: index, tree_size: sth.tree_size })}`);
  const result = await checkInclusion({
    leafIndex: index,
    leafInput: entry.leaf_input,
    auditPath: proof.audit_path || [],
    sth,
    pinnedSigner: pinned,
    reported: entry.tx,
  });
  const tx = result.decoded ? result.decoded.tx : entry.tx;
  const v = verdict('Inclusion proof', result);
  target.replaceChildren(
    heading,
    h('p', { id: 'proof-result', class: `result ${v.ok ? 'ok' : 'bad'}`, text: `${v.ok ? '✓' : '✗'} ${v.text}` }),
    checkList(result.checks),
    h('dl', {},
      h('dt', { text: 'Type' }), h('dd', { text: tx.type }),
      h('dt', { text: 'Author' }), h('dd', {}, didLink(tx.author)),
      h('dt', { text: 'Author sequence' }), h('dd', { text: String(tx.seq ?? '') }),
      h('dt', { text: 'Batch time' }), h('dd', { text: when(result.decoded ? result.decoded.timestamp : entry.timestamp) })),
    h('h4', { text: result.decoded ? 'Transaction (decoded from the leaf bytes)' : 'Transaction (as the server reported it)' }),
    h('pre', { class: 'json', tabindex: '0', text: JSON.stringify(tx, null, 2) }),
    h('details', {}, h('summary', { text: 'Leaf input (base64)' }), h('pre', { class: 'wrap', tabindex: '0', text: entry.leaf_input })),
    h('details', {}, h('summary', { text: `Inclusion proof: ${(proof.audit_path || []).length} hashes for tree size ${proof.tree_size}` }),
      h('ol', { start: '0' }, (proof.audit_path || []).map((p) => h('li', {}, h('code', { class: 'wrap', text: p }))))),
  );
  announce(`Leaf ${index}: ${v.text}`);
  heading.focus();
}

// ---- Search by DID

/** The resolution result, also for deactivated (410) and unknown (404) DIDs. */
async function resolve(did) {
  try {
    return await read(`/1.0/identifiers/${encodeURIComponent(did)}`);
  } catch (e) {
    if (e.problem && e.problem.didResolutionMetadata) return e.problem;
    throw e;
  }
}

async function resolutionPart(did) {
  const r = await resolve(did);
  const meta = r.didResolutionMetadata || {};
  if (meta.error) {
    let why = `${meta.error}: ${meta.errorMessage || ''}`;
    if (did.startsWith('did:key:')) {
      why = 'A did:key is not written on the ledger: its document follows from the key it names. Employees’ loyalty accounts are did:keys.';
    } else if (meta.error === 'notFound') {
      why = 'No such DID on the ledger.';
    }
    return [h('h3', { text: 'DID document' }), h('p', { text: why })];
  }
  const docMeta = r.didDocumentMetadata || {};
  const parts = [h('h3', { text: 'DID document' })];
  const facts = [];
  if (docMeta.deactivated) facts.push('Deactivated.');
  if (docMeta.versionId) facts.push(`Version ${docMeta.versionId}.`);
  if (docMeta.created) facts.push(`Created ${docMeta.created}.`);
  if (docMeta.updated) facts.push(`Updated ${docMeta.updated}.`);
  parts.push(h('p', { text: facts.join(' ') }));
  const proof = docMeta.ledger;
  if (proof) {
    const sameHead = proof.sth && proof.sth.tree_size === proof.tree_size && proof.sth.sha256_root_hash === proof.sha256_root_hash;
    const result = sameHead
      ? await checkInclusion({ leafIndex: proof.leaf_index, leafInput: proof.leaf_input, auditPath: proof.audit_path, sth: proof.sth, pinnedSigner: pinned })
      : { verified: false, checks: [{ state: 'failed', name: 'Proof', detail: 'its tree head is not the one the proof is for' }] };
    const v = verdict('Resolution proof', result);
    parts.push(h('p', { class: `result ${v.ok ? 'ok' : 'bad'}` }, `${v.ok ? '✓' : '✗'} ${v.text} Set by ledger entry `, leafLink(proof.leaf_index), '.'));
    parts.push(checkList(result.checks));
  }
  parts.push(h('pre', { class: 'json', tabindex: '0', text: JSON.stringify(r.didDocument, null, 2) }));
  return parts;
}

/** A loyalty read, or null when it does not exist (404) for this DID. */
async function maybe(path) {
  try {
    return await read(path);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

async function loyaltyParts(did) {
  const enc = encodeURIComponent(did);
  const [token, benefit, account, history] = await Promise.all([
    maybe(`/v1/loyalty/tokens/${enc}`),
    maybe(`/v1/loyalty/benefits/${enc}`),
    maybe(`/v1/loyalty/accounts/${enc}`),
    maybe(`/v1/loyalty/accounts/${enc}/history${query({ limit: 20 })}`),
  ]);
  const parts = [];
  if (token) {
    parts.push(h('h3', { text: 'Token' }), h('p', {},
      `${token.symbol} (${token.name}): supply ${num(token.supply)}`,
      token.unitValue ? `, value ${num(token.unitValue)} millionths per unit` : ', no exchange rate',
      '; created in entry ', leafLink(token.leafIndex), '.'));
  }
  if (benefit) {
    const t = benefit.terms;
    parts.push(h('h3', { text: 'Benefit' }), h('p', {},
      `${t.name} (${t.category}) by `, didLink(benefit.company),
      `: price ${num(t.price)}, ${num(benefit.sold)} sold, ${num(benefit.remaining)} left${benefit.removed ? ', removed' : ''}; listed in entry `,
      leafLink(benefit.leafIndex), '.'));
  }
  if (account && ((account.balances || []).length || (account.units || []).length || account.closed)) {
    parts.push(h('h3', { text: 'Loyalty account' }));
    if (account.closed) parts.push(h('p', { text: 'Closed.' }));
    parts.push(h('ul', {}, (account.balances || []).map((b) => h('li', { text: `${num(b.amount)} ${b.symbol}` }))));
    if ((account.units || []).length) {
      parts.push(h('p', { text: 'Owns:' }), h('ul', {}, account.units.map((u) =>
        h('li', {}, didLink(u.benefit), ` unit ${u.unit}, acquired in entry `, leafLink(u.acquiredLeafIndex)))));
    }
  }
  if (history && (history.entries || []).length) {
    parts.push(h('h3', { text: 'Account history' }), h('div', { class: 'scroll' }, h('table', {},
      h('caption', { class: 'visually-hidden', text: 'Ledger entries touching this account, newest first' }),
      h('thead', {}, h('tr', {}, ['Leaf', 'Type', 'Change', 'When'].map((x) => h('th', { scope: 'col', text: x })))),
      h('tbody', {}, history.entries.map((e) => h('tr', {},
        h('td', {}, leafLink(e.leafIndex)),
        h('td', { text: e.type }),
        h('td', { text: (e.deltas || []).map((d) => `${d.amount > 0 ? '+' : ''}${num(d.amount)}`).join(', ') || '—' }),
        h('td', { text: when(e.timestamp) })))))));
  }
  return parts;
}

async function searchDid(did) {
  $('#did').value = did;
  const target = $('#did-result');
  target.replaceChildren(h('p', { text: `Looking up ${did}…` }));
  const [resolution, loyalty] = await Promise.all([resolutionPart(did), loyaltyParts(did).catch((e) => [h('p', { text: `Loyalty views unavailable: ${e.message}` })])]);
  const heading = h('h3', { tabindex: '-1', class: 'wrap', text: did });
  target.replaceChildren(heading, ...resolution, ...loyalty);
  announce(`Results for ${did}`);
  heading.focus();
}

// ---- Navigation by address

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  const leaf = params.get('leaf');
  const did = params.get('did');
  if (leaf !== null && /^\d+$/.test(leaf)) {
    run(null, () => showEntry(Number(leaf)));
  } else if (did) {
    run(null, () => searchDid(did));
  }
}

/** Goes to `#hash`, or shows it again when it is already the address. */
function go(hash) {
  if (location.hash === `#${hash}`) route();
  else location.hash = hash;
}

onSubmit($('#entry-form'), async (v) => {
  go(`leaf=${Number(v.leaf)}`);
});
onSubmit($('#did-search'), async (v) => {
  go(`did=${encodeURIComponent(String(v.did).trim())}`);
});
$('#sth-refresh').addEventListener('click', (e) => run(e.currentTarget, async () => {
  await loadSth();
  announce('Tree head refreshed');
}));
window.addEventListener('hashchange', route);

setUpRecent();
run(null, loadSth);
reloadRecent().catch(showError);
route();
