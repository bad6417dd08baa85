// The admin console (/admin). A company-admin token shows the company half:
// its token (create, mint), payments to employees one by one and in bulk,
// employees (add, new token, remove), benefits (create, edit, remove) and
// the company's settlement report. The operator API key shows the
// operator half: companies (add, admin token, remove), exchange rates,
// commission and the consortium's settlement report.

import {
  $, h, api, query, announce, run, onSubmit, session, paged, positiveInt, num, when, short, tokens, hidden,
  newId, leafLink,
} from './app.js';

const PAGE = 50;
let known = new Map(); // token id (company DID) -> TokenView
const names = new Map(); // company DID -> name

/** A button whose accessible name says what it acts on. */
function actionButton(label, object, action, { danger = false, confirmText } = {}) {
  const button = h('button', { type: 'button', class: danger ? 'danger' : null }, label, hidden(` ${object}`));
  button.addEventListener('click', () => {
    if (confirmText && !window.confirm(confirmText)) return;
    run(button, action);
  });
  return button;
}

/** Shows a freshly issued secret once, in the `.secret` box `id`. */
function showSecret(id, label, secret) {
  const box = $(`#${id}`);
  box.querySelector('.label').textContent = label;
  box.querySelector('output').textContent = secret;
  box.hidden = false;
}

/** Milliseconds since the epoch of a datetime-local value, or undefined. */
function ms(value) {
  if (!value) return undefined;
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) throw new Error(`\`${value}\` is not a date and time`);
  return t;
}

/** A datetime-local value for milliseconds since the epoch. */
function local(msValue) {
  if (msValue === undefined || msValue === null) return '';
  const d = new Date(msValue);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** BenefitTerms from a benefit form's values. */
function terms(v) {
  const t = {
    name: String(v.name || '').trim(),
    description: String(v.description || ''),
    category: String(v.category || '').trim(),
    price: positiveInt(v.price, 'the price'),
    quantity: positiveInt(v.quantity, 'the quantity'),
  };
  const from = ms(v.validFrom);
  const until = ms(v.validUntil);
  if (from !== undefined) t.validFrom = from;
  if (until !== undefined) t.validUntil = until;
  return t;
}

/** "1.500000": millionths of the settlement currency. */
function money(value) {
  const n = Number(value);
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  return `${sign}${num(Math.floor(abs / 1e6))}.${String(abs % 1e6).padStart(6, '0')}`;
}

const companyName = (did) => names.get(did) || (known.get(did) || {}).name || did;

// ================================================================ company admin

let company = null;

async function loadCompany(id) {
  company = await api(`/v1/companies/${encodeURIComponent(id)}`);
  names.set(company.did, company.name);
  $('#company-info').replaceChildren(
    h('dt', { text: 'Name' }), h('dd', { text: company.name }),
    h('dt', { text: 'Company id' }), h('dd', {}, h('code', { text: company.id })),
    h('dt', { text: 'DID (also its token id)' }), h('dd', {}, h('code', { text: company.did })),
  );
}

const companyPath = (suffix = '') => `/v1/companies/${encodeURIComponent(company.id)}${suffix}`;

async function loadToken() {
  let answer = null;
  try {
    answer = await api(companyPath('/token'));
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  $('#token-create').hidden = answer !== null;
  $('#token-mint').hidden = answer === null;
  if (!answer) {
    $('#token-info').textContent = 'No token yet.';
    return;
  }
  const t = answer.token;
  const value = t.unitValue ? `; value ${num(t.unitValue)} millionths per unit` : '; no exchange rate set yet';
  $('#token-info').textContent = `${t.symbol} (${t.name}): supply ${num(t.supply)}, treasury ${num(answer.treasury)}${value}.`;
}

function setUpToken() {
  onSubmit($('#token-create'), async (v, form) => {
    const t = await api(companyPath('/token'), { method: 'POST', body: { symbol: v.symbol.trim(), name: v.name.trim() } });
    form.reset();
    announce(`Token ${t.symbol} created`);
    await loadToken();
  });
  onSubmit($('#token-mint'), async (v, form) => {
    const amount = positiveInt(v.amount, 'the amount');
    await api(companyPath('/token/mint'), { method: 'POST', body: { amount }, idempotent: true });
    form.reset();
    announce(`Minted ${num(amount)}`);
    await loadToken();
  });
}

async function pay(payments, memo) {
  const body = { payments };
  if (memo) body.memo = memo;
  const r = await api(companyPath('/token/payments'), { method: 'POST', body, idempotent: true });
  await Promise.all([loadToken(), reloadEmployees()]);
  return r;
}

function setUpPayments() {
  onSubmit($('#pay'), async (v, form) => {
    const amount = positiveInt(v.amount, 'the amount');
    await pay([{ employee: v.employee, amount }], v.memo);
    const who = $('#pay-employee').selectedOptions[0];
    form.reset();
    announce(`Paid ${num(amount)} to ${who ? who.textContent : v.employee}`);
  });
  onSubmit($('#pay-bulk'), async (v, form) => {
    const payments = String(v.lines).split('\n').map((l) => l.trim()).filter(Boolean).map((line, i) => {
      const [employee, amount] = line.split(/[,;\s]+/);
      if (!employee || amount === undefined) throw new Error(`line ${i + 1}: write "employee id, amount"`);
      return { employee, amount: positiveInt(amount, `the amount on line ${i + 1}`) };
    });
    if (payments.length === 0) throw new Error('write one payment per line');
    const r = await pay(payments, v.memo);
    form.reset();
    announce(`Paid ${payments.length} employees, ${num(r && r.total !== undefined ? r.total : payments.reduce((s, p) => s + p.amount, 0))} in all`);
  });
}

// ---- Employees

let employees = [];
let reloadEmployees = async () => {};

async function balances() {
  try {
    const r = await api(companyPath('/token/holders'));
    const items = Array.isArray(r) ? r : r.items || r.holders || [];
    return new Map(items.map((x) => [x.employee && x.employee.id ? x.employee.id : x.employee || x.id, x.balance ?? x.amount ?? 0]));
  } catch {
    return new Map();
  }
}

function employeeRow(e, balance) {
  const actions = [
    actionButton('New token', `for ${e.name}`, async () => {
      const t = await api(companyPath(`/employees/${encodeURIComponent(e.id)}/tokens`), { method: 'POST', body: {} });
      showSecret('employee-secret', `Access token for ${e.name} (shown once; valid ${Math.round(t.expires_in / 60)} minutes):`, t.token);
      announce(`New token for ${e.name} issued`);
    }),
    actionButton('Remove', e.name, async () => {
      await api(companyPath(`/employees/${encodeURIComponent(e.id)}`), { method: 'DELETE' });
      announce(`${e.name} removed; what they held went back to the company`);
      await Promise.all([reloadEmployees(), loadToken()]);
    }, { danger: true, confirmText: `Remove ${e.name}? Their tokens and benefits go back to the company and their access ends.` }),
  ];
  return h('tr', {},
    h('th', { scope: 'row', text: e.name }),
    h('td', {}, h('code', { text: e.id })),
    h('td', { text: balance === undefined ? '—' : num(balance) }),
    h('td', {}, h('div', { class: 'actions' }, actions)));
}

function fillPaySelect() {
  const select = $('#pay-employee');
  const chosen = select.value;
  select.replaceChildren(...employees.map((e) => h('option', { value: e.id, text: `${e.name} (${e.id})` })));
  if (chosen) select.value = chosen;
}

function setUpEmployees() {
  const body = $('#employees tbody');
  reloadEmployees = paged($('#employees-more'), async (cursor) => {
    const [page, held] = await Promise.all([api(companyPath(`/employees${query({ cursor, limit: PAGE })}`)), balances()]);
    const active = (page.items || []).filter((e) => e.status === 'active');
    if (cursor === null) employees = active;
    else employees.push(...active);
    const rows = active.map((e) => employeeRow(e, held.get(e.id)));
    if (cursor === null) body.replaceChildren(...rows);
    else body.append(...rows);
    fillPaySelect();
    return page.next_cursor ?? null;
  });
  onSubmit($('#employee-add'), async (v, form) => {
    const created = await api(companyPath('/employees'), { method: 'POST', body: { name: v.name.trim() }, idempotent: true });
    form.reset();
    showSecret('employee-secret', `Access token for ${created.employee.name} (shown once; they sign in to the wallet with it):`, created.token);
    announce(`${created.employee.name} added`);
    await reloadEmployees();
  });
}

// ---- Benefits

/** The edit form for `b`: the server-rendered template with fresh ids, filled in. */
function editForm(b) {
  const form = $('#benefit-edit-template').content.firstElementChild.cloneNode(true);
  const prefix = newId('be');
  for (const el of form.querySelectorAll('[id]')) el.id = el.id.replace(/^be-/, `${prefix}-`);
  for (const el of form.querySelectorAll('label[for]')) el.htmlFor = el.htmlFor.replace(/^be-/, `${prefix}-`);
  const t = b.terms;
  const set = (name, value) => {
    form.elements[name].value = value ?? '';
  };
  set('name', t.name);
  set('category', t.category);
  set('price', t.price);
  set('quantity', t.quantity);
  set('description', t.description);
  set('validFrom', local(t.validFrom));
  set('validUntil', local(t.validUntil));
  onSubmit(form, async (v) => {
    await api(companyPath(`/benefits/${encodeURIComponent(b.benefit)}`), { method: 'PUT', body: terms(v) });
    announce(`${v.name} updated`);
    await reloadBenefits();
  });
  return h('details', {}, h('summary', {}, 'Edit', hidden(` ${t.name}`)), form);
}

function benefitItem(b) {
  const t = b.terms;
  const state = b.removed ? 'Removed: no longer on sale' : `${num(b.sold)} sold, ${num(b.remaining)} of ${num(t.quantity)} left`;
  const validity = [t.validFrom ? `from ${when(t.validFrom)}` : '', t.validUntil ? `until ${when(t.validUntil)}` : ''].filter(Boolean).join(' ');
  return h('article', { class: 'item' },
    h('h3', { text: t.name }),
    h('p', { class: 'meta' }, `${t.category} · price ${num(t.price)} · ${state}`),
    t.description ? h('p', { text: t.description }) : null,
    validity ? h('p', { class: 'small', text: `Valid ${validity}` }) : null,
    h('p', { class: 'small' }, 'DID ', short(b.benefit), ' · listed in ledger entry ', leafLink(b.leafIndex)),
    b.removed ? null : h('div', { class: 'actions' },
      editForm(b),
      actionButton('Remove', t.name, async () => {
        await api(companyPath(`/benefits/${encodeURIComponent(b.benefit)}`), { method: 'DELETE' });
        announce(`${t.name} removed`);
        await reloadBenefits();
      }, { danger: true, confirmText: `Remove ${t.name}? It leaves the marketplace and its ownership credentials are revoked.` })),
  );
}

let reloadBenefits = async () => {};

function setUpBenefits() {
  const list = $('#benefits');
  reloadBenefits = paged($('#benefits-more'), async (cursor) => {
    const page = await api(companyPath(`/benefits${query({ before: cursor, limit: PAGE })}`));
    const items = (Array.isArray(page) ? page : page.items || []).map(benefitItem);
    if (cursor === null) {
      list.replaceChildren(...items);
      $('#benefits-empty').hidden = items.length > 0;
    } else list.append(...items);
    return Array.isArray(page) ? null : page.next ?? null;
  });
  onSubmit($('#benefit-create'), async (v, form) => {
    const b = await api(companyPath('/benefits'), { method: 'POST', body: terms(v), idempotent: true });
    form.reset();
    announce(`${b.terms.name} created`);
    await reloadBenefits();
  });
}

// ================================================================ operator

let companies = [];
let reloadCompanies = async () => {};

function companyRow(c) {
  const actions = c.status !== 'active' ? [] : [
    actionButton('Admin token', `for ${c.name}`, async () => {
      const t = await api(`/v1/companies/${encodeURIComponent(c.id)}/admin-tokens`, { method: 'POST', body: {} });
      showSecret('company-secret', `Admin token for ${c.name} (shown once; valid ${Math.round(t.expires_in / 60)} minutes):`, t.token);
      announce(`Admin token for ${c.name} issued`);
    }),
    actionButton('Remove', c.name, async () => {
      await api(`/v1/companies/${encodeURIComponent(c.id)}`, { method: 'DELETE' });
      announce(`${c.name} removed`);
      await reloadCompanies();
    }, { danger: true, confirmText: `Remove ${c.name}? Its benefits are delisted and every token of it and its employees stops working.` }),
  ];
  return h('tr', {},
    h('th', { scope: 'row', text: c.name }),
    h('td', {}, h('code', { text: c.id })),
    h('td', {}, short(c.did)),
    h('td', { text: c.status }),
    h('td', {}, h('div', { class: 'actions' }, actions)));
}

function fillRateSelect() {
  const select = $('#rate-company');
  const chosen = select.value;
  select.replaceChildren(...companies.filter((c) => c.status === 'active').map((c) => h('option', { value: c.id, text: c.name })));
  if (chosen) select.value = chosen;
}

async function loadMarket() {
  const market = await api('/v1/exchange-rates');
  $('#rates tbody').replaceChildren(...(market.rates || []).map((r) => {
    const t = known.get(r.token);
    return h('tr', {},
      h('th', { scope: 'row', text: t ? t.symbol : '' }, t ? null : short(r.token)),
      h('td', { text: companyName(r.token) }),
      h('td', { text: num(r.unitValue) }));
  }));
  const c = market.commission;
  $('#commission-now').textContent = c
    ? `Now ${num(c.basisPoints)} basis points (${(c.basisPoints / 100).toFixed(2)} %) to ${companyName(c.beneficiary)}.`
    : 'No commission is set.';
}

function setUpOperator() {
  const body = $('#companies tbody');
  reloadCompanies = paged($('#companies-more'), async (cursor) => {
    const page = await api(`/v1/companies${query({ cursor, limit: PAGE })}`);
    const items = page.items || [];
    if (cursor === null) companies = items;
    else companies.push(...items);
    for (const c of items) names.set(c.did, c.name);
    const rows = items.map(companyRow);
    if (cursor === null) body.replaceChildren(...rows);
    else body.append(...rows);
    fillRateSelect();
    return page.next_cursor ?? null;
  });
  onSubmit($('#company-add'), async (v, form) => {
    const created = await api('/v1/companies', { method: 'POST', body: { name: v.name.trim() }, idempotent: true });
    form.reset();
    showSecret('company-secret', `Admin token for ${created.company.name} (shown once):`, created.admin_token);
    announce(`${created.company.name} added`);
    await reloadCompanies();
  });
  onSubmit($('#rate'), async (v) => {
    const unitValue = positiveInt(v.unitValue, 'the value');
    await api(`/v1/exchange-rates/${encodeURIComponent(v.company)}`, { method: 'PUT', body: { unitValue } });
    announce(`Rate set: ${num(unitValue)} millionths per unit`);
    known = await tokens(true);
    await loadMarket();
  });
  onSubmit($('#commission'), async (v) => {
    const bps = Number(v.basisPoints);
    if (!Number.isInteger(bps) || bps < 0 || bps > 10000) throw new Error('basis points go from 0 to 10000');
    const body = { basisPoints: bps };
    if (v.beneficiary && v.beneficiary.trim()) body.beneficiary = v.beneficiary.trim();
    await api('/v1/commission', { method: 'PUT', body });
    announce(`Commission set to ${bps} basis points`);
    await loadMarket();
  });
}

// ================================================================ settlement (both)

let settlementPath = '';

function table(caption, headers, rows) {
  return h('div', { class: 'scroll' }, h('table', {},
    h('caption', { text: caption }),
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col', text: x })))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, text: 'None.' })))));
}

function who(did) {
  return h('span', { title: did, text: companyName(did) });
}

function renderReport(r) {
  return [
    h('p', { text: `From ${when(r.from)} to ${when(r.to)}, as of ledger size ${num(r.treeSize)}. Amounts in the settlement currency.` }),
    table('Net: who pays whom', ['Payer', 'Payee', 'Amount'],
      (r.net || []).map((x) => h('tr', {}, h('td', {}, who(x.payer)), h('td', {}, who(x.payee)), h('td', { class: 'num', text: money(x.amount) })))),
    table('Positions: receivable − payable − commission', ['Company', 'Position'],
      (r.positions || []).map((x) => h('tr', {}, h('td', {}, who(x.company)), h('td', { class: 'num', text: money(x.amount) })))),
    table('Gross, per direction', ['Payer', 'Payee', 'Value', 'Commission', 'Sales'],
      (r.gross || []).map((x) => h('tr', {}, h('td', {}, who(x.payer)), h('td', {}, who(x.payee)),
        h('td', { class: 'num', text: money(x.value) }), h('td', { class: 'num', text: money(x.commission) }), h('td', { class: 'num', text: num(x.count) })))),
    table('Commission owed, per payee', ['Company', 'Commission'],
      (r.commission || []).map((x) => h('tr', {}, h('td', {}, who(x.company)), h('td', { class: 'num', text: money(x.amount) })))),
  ];
}

function setUpSettlement() {
  const today = new Date();
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  $('#settle-from').value = iso(new Date(today.getFullYear(), today.getMonth(), 1));
  $('#settle-to').value = iso(new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1));
  onSubmit($('#settlement'), async (v) => {
    const from = new Date(`${v.from}T00:00:00`).getTime();
    const to = new Date(`${v.to}T00:00:00`).getTime();
    if (!(from < to)) throw new Error('the period must end after it starts');
    const report = await api(`${settlementPath}${query({ from, to })}`);
    $('#settlement-report').replaceChildren(...renderReport(report));
    announce('Settlement report shown');
  });
}

setUpToken();
setUpPayments();
setUpEmployees();
setUpBenefits();
setUpOperator();
setUpSettlement();

session({
  roles: ['company-admin', 'operator'],
  describe: (me) => (me.role === 'operator' ? 'the operator' : `admin of company ${me.company}`),
  onSignedIn: async (me) => {
    known = await tokens();
    for (const t of known.values()) if (!names.has(t.token)) names.set(t.token, t.name);
    const operator = me.role === 'operator';
    $('#operator').hidden = !operator;
    $('#company-admin').hidden = operator;
    if (operator) {
      settlementPath = '/v1/settlement';
      $('#settlement-scope').textContent = 'Every company of the consortium.';
      await reloadCompanies();
      await loadMarket();
    } else {
      await loadCompany(me.company);
      settlementPath = companyPath('/settlement');
      $('#settlement-scope').textContent = `Only what concerns ${company.name}.`;
      await Promise.all([loadToken(), reloadEmployees(), reloadBenefits()]);
    }
  },
});
