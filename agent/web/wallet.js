// The employee wallet (/wallet): balance, marketplace (filters, "More"),
// buy, owned benefits (gift, offer for sale or swap, withdraw), swap offers
// for them, token transfers, held credentials and history. Every call is
// the employee's own (`/v1/me/*`, `/v1/marketplace`); public ledger reads
// (token symbols, benefit names, swap offers) need no credential.

import {
  $, h, api, query, announce, run, onSubmit, session, paged, positiveInt, recipient, num, when, short,
  leafLink, tokens, amount, field, hidden,
} from './app.js';

const PAGE = 20;
let known = new Map(); // token id -> TokenView
let myAccount = null;
const benefitNames = new Map(); // benefit DID -> name

/** Clears `list` and sets its "empty" note. */
function fill(list, empty, nodes) {
  list.replaceChildren(...nodes);
  empty.hidden = nodes.length > 0;
}

async function benefitName(did) {
  if (!benefitNames.has(did)) {
    try {
      const b = await api(`/v1/loyalty/benefits/${encodeURIComponent(did)}`, { auth: false });
      benefitNames.set(did, b.terms.name);
    } catch {
      benefitNames.set(did, did);
    }
  }
  return benefitNames.get(did);
}

// ---- Balance

async function loadBalance() {
  const me = await api('/v1/me/account');
  myAccount = me;
  $('#account').textContent = me.account;
  const own = me.token;
  const balances = me.balances || [];
  if (own) {
    const mine = balances.find((b) => b.token === own.token);
    $('#balance').textContent = `${num(mine ? mine.amount : 0)} ${own.symbol}`;
  } else {
    $('#balance').textContent = 'Your company has no token yet.';
  }
  const others = balances.filter((b) => !own || b.token !== own.token);
  $('#balances').replaceChildren(
    ...others.map((b) => h('li', {}, `${num(b.amount)} ${b.symbol || ''} `, short(b.token))),
  );
}

// ---- Marketplace

function filters() {
  const values = Object.fromEntries(new FormData($('#market-filters')).entries());
  return { q: values.q, category: values.category, company: values.company, kind: values.kind };
}

function validity(terms) {
  const parts = [];
  if (terms.validFrom) parts.push(`from ${when(terms.validFrom)}`);
  if (terms.validUntil) parts.push(`until ${when(terms.validUntil)}`);
  return parts.length ? `Valid ${parts.join(' ')}` : null;
}

function companyName(did) {
  const t = known.get(did);
  return t ? t.name : did;
}

function marketItem(item) {
  const b = item.benefit;
  const t = b.terms;
  const resale = item.kind === 'resale';
  benefitNames.set(b.benefit, t.name);
  const price = amount(item.price, item.token, known);
  const quote = item.quote && item.quote.token !== item.token ? ` (you pay ${amount(item.quote.cost, item.quote.token, known)})` : '';
  const buy = h('button', { type: 'button', class: 'primary' }, 'Buy', hidden(resale ? ` ${t.name} (resale, unit ${item.unit})` : ` ${t.name}`));
  buy.addEventListener('click', () =>
    run(buy, async () => {
      const body = { benefit: b.benefit };
      if (resale) body.unit = item.unit;
      if (item.quote) body.maxCost = item.quote.cost;
      await api('/v1/me/purchases', { method: 'POST', body, idempotent: true });
      announce(`Bought ${t.name}`);
      await refresh();
    }),
  );
  return h('article', { class: 'item' },
    h('h3', { text: t.name }),
    h('p', { class: 'meta' },
      `${t.category} · ${companyName(b.company)} · `,
      resale ? `resold by a colleague, unit ${item.unit}` : `${num(b.remaining)} of ${num(t.quantity)} left`),
    t.description ? h('p', { text: t.description }) : null,
    validity(t) ? h('p', { class: 'small', text: validity(t) }) : null,
    h('p', { class: 'price' }, `Price: ${price}${quote}`),
    buy,
  );
}

let reloadMarket = async () => {};

function setUpMarket() {
  const list = $('#market-items');
  reloadMarket = paged($('#market-more'), async (cursor) => {
    const page = await api(`/v1/marketplace${query({ ...filters(), before: cursor, limit: PAGE })}`);
    const items = (page.items || []).map(marketItem);
    if (cursor === null) fill(list, $('#market-empty'), items);
    else list.append(...items);
    return page.next ?? null;
  });
  onSubmit($('#market-filters'), async () => {
    await reloadMarket();
    announce('Marketplace filtered.');
  });
}

async function fillCompanies() {
  const select = $('#f-company');
  const chosen = select.value;
  select.replaceChildren(h('option', { value: '', text: 'Any company' }),
    ...[...known.values()].map((t) => h('option', { value: t.token, text: `${t.name} (${t.symbol})` })));
  select.value = chosen;
}

// ---- My benefits

function unitPath(owned) {
  return `/v1/me/benefits/${encodeURIComponent(owned.benefit.benefit)}/${owned.unit}`;
}

function offerText(offer) {
  if (!offer) return null;
  if (offer.sale) return `Offered for sale at ${amount(offer.sale.price, offer.sale.token, known)}.`;
  if (offer.swap) return `Offered for a swap with unit ${offer.swap.unit} of ${benefitNames.get(offer.swap.benefit) || offer.swap.benefit}.`;
  return null;
}

/** A disclosure with a form: `summary` text, the fields, a submit label and what it does. */
function actionForm(summary, fields, submit, action) {
  const form = h('form', {}, h('div', { class: 'fields' }, fields), h('button', { type: 'submit', text: submit }));
  onSubmit(form, async (values) => {
    await action(values);
  });
  return h('details', {}, h('summary', { text: summary }), form);
}

function ownedItem(owned) {
  const b = owned.benefit;
  const name = b.terms.name;
  benefitNames.set(b.benefit, name);
  const actions = [];
  if (!b.removed) {
    actions.push(actionForm(`Give ${name} away`, [field('Recipient (employee id or DID)', { name: 'to', required: true, spellcheck: 'false' })], 'Give', async (v) => {
      await api(`${unitPath(owned)}/gift`, { method: 'POST', body: { to: recipient(v.to) } });
      announce(`Gave ${name} to ${v.to}`);
      await refresh();
    }));
    actions.push(actionForm(`Offer ${name} for sale`, [field('Price (in your company token)', { name: 'price', type: 'number', min: 1, step: 1, required: true, inputmode: 'numeric' })], 'Offer for sale', async (v) => {
      await api(`${unitPath(owned)}/offer`, { method: 'PUT', body: { sale: { price: positiveInt(v.price, 'the price') } } });
      announce(`${name} offered for sale`);
      await refresh();
    }));
    actions.push(actionForm(`Offer ${name} for a swap`, [
      field('Wanted benefit (DID)', { name: 'benefit', required: true, spellcheck: 'false' }),
      field('Wanted unit', { name: 'unit', type: 'number', min: 0, step: 1, required: true, inputmode: 'numeric' }),
    ], 'Offer for swap', async (v) => {
      const unit = Number(v.unit);
      if (!Number.isSafeInteger(unit) || unit < 0) throw new Error('the wanted unit must be a whole number');
      await api(`${unitPath(owned)}/offer`, { method: 'PUT', body: { swap: { benefit: v.benefit.trim(), unit } } });
      announce(`${name} offered for a swap`);
      await refresh();
    }));
  }
  if (owned.offer) {
    const withdraw = h('button', { type: 'button' }, 'Withdraw offer', hidden(` for ${name}`));
    withdraw.addEventListener('click', () => run(withdraw, async () => {
      await api(`${unitPath(owned)}/offer`, { method: 'DELETE' });
      announce(`Offer for ${name} withdrawn`);
      await refresh();
    }));
    actions.push(withdraw);
  }
  return h('article', { class: 'item' },
    h('h3', { text: name }),
    h('p', { class: 'meta' }, `Unit ${owned.unit} · ${companyName(b.company)} · acquired in ledger entry `, leafLink(owned.acquiredLeafIndex)),
    // What a colleague names to offer a swap for this unit.
    h('p', { class: 'small' }, 'Benefit ', h('code', { class: 'wrap', text: b.benefit })),
    b.removed ? h('p', { class: 'warning', text: 'Delisted by its company: it can no longer be sold, swapped or given.' }) : null,
    offerText(owned.offer) ? h('p', { text: offerText(owned.offer) }) : null,
    h('div', { class: 'actions' }, actions),
  );
}

let owned = [];

async function loadMine() {
  owned = (await api('/v1/me/benefits')) || [];
  if (!Array.isArray(owned)) owned = owned.items || [];
  fill($('#my-benefits'), $('#my-benefits-empty'), owned.map(ownedItem));
}

// ---- Swap offers wanting one of my units

async function loadSwapOffers() {
  const mine = new Map(owned.map((o) => [`${o.benefit.benefit}#${o.unit}`, o]));
  let offers = [];
  if (mine.size > 0) {
    const page = await api(`/v1/loyalty/offers${query({ kind: 'swap', limit: 200 })}`, { auth: false }).catch(() => ({ items: [] }));
    offers = (page.items || []).filter((u) => u.offer && u.offer.swap && mine.has(`${u.offer.swap.benefit}#${u.offer.swap.unit}`));
  }
  const nodes = await Promise.all(offers.map(async (theirs) => {
    const give = mine.get(`${theirs.offer.swap.benefit}#${theirs.offer.swap.unit}`);
    const theirName = await benefitName(theirs.benefit);
    const myName = give.benefit.terms.name;
    const swap = h('button', { type: 'button' }, 'Swap', hidden(` your ${myName} for ${theirName}`));
    swap.addEventListener('click', () => run(swap, async () => {
      await api('/v1/me/swaps', {
        method: 'POST',
        body: { give: { benefit: give.benefit.benefit, unit: give.unit }, take: { benefit: theirs.benefit, unit: theirs.unit } },
      });
      announce(`Swapped ${myName} for ${theirName}`);
      await refresh();
    }));
    return h('article', { class: 'item' },
      h('h3', { text: `${theirName} for your ${myName}` }),
      h('p', { class: 'meta' }, `Their unit ${theirs.unit} for your unit ${give.unit}`),
      swap);
  }));
  fill($('#swap-offers'), $('#swap-offers-empty'), nodes);
}

// ---- Credentials

function credentialItem(c) {
  const types = (c.types || []).filter((t) => t !== 'VerifiableCredential');
  const subject = c.credential && typeof c.credential === 'object' ? c.credential.credentialSubject || {} : {};
  const about = subject.benefit ? `${subject.benefit}${subject.unit !== undefined ? `, unit ${subject.unit}` : ''}` : null;
  return h('article', { class: 'item' },
    h('h3', { text: types.join(', ') || 'Credential' }),
    about ? h('p', { text: about }) : null,
    h('p', { class: 'meta' }, 'Issued by ', short(c.issuer), ` · received ${when(c.receivedAt)} · ${c.format}`),
  );
}

async function loadCredentials() {
  const items = [];
  let cursor = null;
  do {
    const page = await api(`/v1/me/credentials${query({ cursor, limit: 200 })}`);
    items.push(...(page.items || []));
    cursor = page.next_cursor ?? null;
  } while (cursor && items.length < 1000);
  // Newest first: the one just bought is at the top.
  items.sort((a, b) => (b.receivedAt || 0) - (a.receivedAt || 0));
  fill($('#credentials'), $('#credentials-empty'), items.map(credentialItem));
}

// ---- History

const WORDS = {
  'token.transfer': 'Transfer',
  'token.mint': 'Mint',
  'token.burn': 'Burn',
  'account.close': 'Account closed',
  'benefit.purchase': 'Purchase',
  'unit.buy': 'Resale purchase',
  'unit.swap': 'Swap',
  'unit.transfer': 'Gift',
  'unit.offer': 'Offer',
  'unit.withdraw': 'Offer withdrawn',
};

function historyRow(e) {
  const deltas = (e.deltas || []).map((d) => `${d.amount > 0 ? '+' : ''}${amount(d.amount, d.token, known)}`).join(', ');
  const what = [WORDS[e.type] || e.type];
  if (e.benefit) what.push(`: ${benefitNames.get(e.benefit) || 'benefit'}${e.unit !== undefined && e.unit !== null ? ` unit ${e.unit}` : ''}`);
  return h('tr', {},
    h('td', { text: when(e.timestamp) }),
    h('td', { text: what.join('') }),
    h('td', { text: deltas || '—' }),
    h('td', {}, leafLink(e.leafIndex)));
}

let reloadHistory = async () => {};

function setUpHistory() {
  const body = $('#history tbody');
  reloadHistory = paged($('#history-more'), async (cursor) => {
    const page = await api(`/v1/me/history${query({ before: cursor, limit: PAGE })}`);
    const rows = (page.entries || []).map(historyRow);
    if (cursor === null) {
      body.replaceChildren(...rows);
      $('#history-empty').hidden = rows.length > 0;
    } else body.append(...rows);
    return page.next ?? null;
  });
}

// ---- Transfer

function setUpTransfer() {
  onSubmit($('#transfer'), async (v, form) => {
    const body = { to: recipient(v.to), amount: positiveInt(v.amount, 'the amount') };
    if (v.memo) body.memo = v.memo;
    await api('/v1/me/transfers', { method: 'POST', body, idempotent: true });
    const symbol = myAccount && myAccount.token ? myAccount.token.symbol : 'tokens';
    form.reset();
    announce(`Sent ${num(body.amount)} ${symbol} to ${v.to}`);
    await refresh();
  });
}

/** Reloads everything a change can affect. */
async function refresh() {
  // History names benefits it has seen, so it follows "My benefits".
  const mine = loadMine().then(() => Promise.all([loadSwapOffers(), reloadHistory()]));
  await Promise.all([loadBalance(), mine, loadCredentials(), reloadMarket()]);
}

setUpMarket();
setUpHistory();
setUpTransfer();
session({
  roles: ['employee'],
  describe: (me) => `employee ${me.employee} of company ${me.company}`,
  onSignedIn: async () => {
    known = await tokens();
    await fillCompanies();
    await refresh();
  },
});
