// Drives idelta's web apps in headless Chromium, as a person would, on a
// phone-sized screen (360 x 740). Input on stdin, JSON:
//   { "url", "employeeToken", "adminToken", "operatorKey", "company": name,
//     "companyDid", "benefit": name, "price" }
// Prints a JSON report on stdout; exits non-zero (reason on stderr) when a
// step fails.
//
// Wallet: sign in with the employee token, read the balance, buy `benefit`
// in the marketplace, see "Bought NAME" announced, the benefit under
// "My benefits", a BenefitOwnershipCredential under "Credentials" and the
// balance down by the price. Admin: the benefit is listed under
// "Benefits"; the operator sees the company and sets its rate. Ledger: the purchase's entry shows its inclusion proof as
// verified, with the tree head signature checked; with a tampered audit
// path or leaf (intercepted responses) it shows as failed. Throughout: no
// script error, no CSP violation, every form control labelled, nothing
// wider than the screen.
//
// The browser is Debian's (`/usr/bin/chromium`, or $IDELTA_CHROMIUM):
// playwright-core downloads none.

import { chromium } from 'playwright-core';

// Per step; generous, since CI runs this beside the whole test suite on two cores.
const TIMEOUT = 30_000;

async function readInput() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function fail(message) {
  throw new Error(message);
}

/** Problems a page reports about itself: script errors, CSP violations, failed loads. */
function watch(page, problems) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 404/.test(m.text())) {
      problems.push(`console error: ${m.text()}`);
    }
  });
}

/** Checks what every page must have: lang, viewport, labels, no overflow at 360px. */
async function checkShell(page, name) {
  const facts = await page.evaluate(() => {
    const controls = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')];
    return {
      lang: document.documentElement.lang,
      viewport: document.querySelector('meta[name=viewport]')?.content || '',
      unlabelled: controls.filter((c) => !c.labels || c.labels.length === 0).map((c) => c.id || c.name),
      main: document.querySelectorAll('main').length,
      h1: document.querySelectorAll('h1').length,
      overflow: document.documentElement.scrollWidth - window.innerWidth,
    };
  });
  if (facts.lang !== 'en') fail(`${name}: html has no lang`);
  if (!facts.viewport.includes('width=device-width')) fail(`${name}: no viewport meta`);
  if (facts.unlabelled.length) fail(`${name}: unlabelled controls ${facts.unlabelled.join(', ')}`);
  if (facts.main !== 1 || facts.h1 !== 1) fail(`${name}: expected one main and one h1, got ${facts.main} and ${facts.h1}`);
  if (facts.overflow > 1) fail(`${name}: content is ${facts.overflow}px wider than a 360px screen`);
}

async function signIn(page, token) {
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: TIMEOUT });
}

/** The whole number in "120 ACME". */
async function balanceOf(page) {
  const region = page.getByRole('region', { name: 'Balance' });
  await region.getByText(/^\d[\d,]* [A-Z0-9]+$/).waitFor({ timeout: TIMEOUT });
  const text = await region.locator('#balance').textContent();
  return { text, value: Number(text.split(' ')[0].replace(/,/g, '')) };
}

async function wallet(page, input, report) {
  await page.goto(`${input.url}/wallet`);
  await checkShell(page, '/wallet');
  // The keyboard's first stop is the skip link.
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => document.activeElement?.textContent);
  if (first !== 'Skip to content') fail(`the first Tab stop is "${first}", not the skip link`);
  await signIn(page, input.employeeToken);
  const before = await balanceOf(page);
  report.balanceBefore = before.text;

  const market = page.getByRole('region', { name: 'Marketplace' });
  const item = market.getByRole('article').filter({ has: page.getByRole('heading', { level: 3, name: input.benefit, exact: true }) });
  await item.first().waitFor({ timeout: TIMEOUT });
  await item.getByRole('button', { name: `Buy ${input.benefit}`, exact: true }).click();
  await page.getByRole('status').filter({ hasText: `Bought ${input.benefit}` }).waitFor({ timeout: TIMEOUT });
  report.announced = `Bought ${input.benefit}`;

  await page.getByRole('region', { name: 'My benefits' }).getByRole('article')
    .filter({ has: page.getByRole('heading', { level: 3, name: input.benefit, exact: true }) })
    .waitFor({ timeout: TIMEOUT });
  await page.getByRole('region', { name: 'Credentials' }).getByRole('heading', { level: 3, name: 'BenefitOwnershipCredential' })
    .first().waitFor({ timeout: TIMEOUT });

  const expected = before.value - input.price;
  await page.waitForFunction((n) => {
    const t = document.querySelector('#balance')?.textContent || '';
    return Number(t.split(' ')[0].replace(/,/g, '')) === n;
  }, expected, { timeout: TIMEOUT });
  report.balanceAfter = (await balanceOf(page)).text;
  await checkShell(page, '/wallet signed in');

  // The purchase's ledger entry, from the history.
  const link = page.getByRole('region', { name: 'History' }).getByRole('row').filter({ hasText: input.benefit }).getByRole('link').first();
  await link.waitFor({ timeout: TIMEOUT });
  const href = await link.getAttribute('href');
  const leaf = Number(/#leaf=(\d+)/.exec(href || '')?.[1]);
  if (!Number.isInteger(leaf)) fail(`the history links no ledger entry for the purchase (${href})`);
  report.purchaseLeaf = leaf;
  return leaf;
}

async function admin(page, input, report) {
  await page.goto(`${input.url}/admin`);
  await checkShell(page, '/admin');
  await signIn(page, input.adminToken);
  await page.getByRole('region', { name: 'Benefits' }).getByRole('heading', { level: 3, name: input.benefit, exact: true })
    .waitFor({ timeout: TIMEOUT });
  await page.getByRole('region', { name: 'Token' }).getByText(/supply/).waitFor({ timeout: TIMEOUT });
  await page.getByRole('region', { name: 'Employees' }).getByRole('row').filter({ hasText: 'Alice' }).waitFor({ timeout: TIMEOUT });
  await checkShell(page, '/admin signed in');
  report.admin = 'benefit listed, token shown';

  // The operator's half: the company is listed, its rate can be set.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, input.operatorKey);
  await page.getByRole('region', { name: 'Companies' }).getByRole('row').filter({ hasText: input.company }).waitFor({ timeout: TIMEOUT });
  const rates = page.getByRole('region', { name: 'Exchange rates' });
  await rates.getByLabel('Company', { exact: true }).selectOption({ label: input.company });
  await rates.getByLabel('Value per token unit (millionths)').fill('1000000');
  await page.getByRole('button', { name: 'Set rate' }).click();
  await page.getByRole('status').filter({ hasText: 'Rate set' }).waitFor({ timeout: TIMEOUT });
  await page.getByRole('region', { name: 'Exchange rates' }).getByRole('cell', { name: '1,000,000' }).waitFor({ timeout: TIMEOUT });
  await checkShell(page, '/admin as the operator');
  report.operator = 'company listed, rate set';
}

/** Opens entry `leaf` and returns the verdict text and the checks. */
let loads = 0;
async function entryVerdict(page, url, leaf) {
  // A fresh load each time (a query string the server ignores), not a mere change of hash.
  loads += 1;
  await page.goto(`${url}/ledger?load=${loads}#leaf=${leaf}`);
  const result = page.locator('#proof-result');
  await result.waitFor({ timeout: TIMEOUT });
  await page.waitForFunction(() => /verified|failed|not checked/.test(document.querySelector('#proof-result')?.textContent || ''), null, { timeout: TIMEOUT });
  const checks = await page.locator('#entry ul.checks li').allTextContents();
  return { text: await result.textContent(), checks };
}

function flipFirstByte(b64) {
  const bytes = Buffer.from(b64, 'base64');
  bytes[bytes.length - 1] ^= 1;
  return bytes.toString('base64');
}

async function ledger(page, input, leaf, report) {
  await page.goto(`${input.url}/ledger`);
  await checkShell(page, '/ledger');
  // Recent transactions of one type.
  await page.getByLabel('Type').selectOption('benefit.purchase');
  await page.getByRole('button', { name: 'Show', exact: true }).click();
  await page.getByRole('region', { name: 'Recent transactions' }).getByRole('link', { name: String(leaf), exact: true })
    .waitFor({ timeout: TIMEOUT });

  const good = await entryVerdict(page, input.url, leaf);
  if (!good.text.includes('Inclusion proof verified')) fail(`entry ${leaf}: ${good.text}\n${good.checks.join('\n')}`);
  const signature = good.checks.find((c) => c.includes('Tree head signature')) || '';
  if (!signature.startsWith('✓ Passed')) fail(`entry ${leaf}: the tree head signature was not verified: ${signature}`);
  await checkShell(page, '/ledger with an entry');
  report.ledger = { verdict: good.text.trim(), checks: good.checks };

  // A tampered audit path, then a tampered leaf: both must fail.
  await page.route('**/v1/log/proof/inclusion**', async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    body.audit_path[0] = flipFirstByte(body.audit_path[0]);
    await route.fulfill({ response, json: body });
  });
  const badPath = await entryVerdict(page, input.url, leaf);
  if (!badPath.text.includes('Inclusion proof failed')) fail(`a tampered audit path was not caught: ${badPath.text}`);
  await page.unroute('**/v1/log/proof/inclusion**');
  await page.route('**/v1/log/entries/**', async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    body.leaf_input = flipFirstByte(body.leaf_input);
    await route.fulfill({ response, json: body });
  });
  const badLeaf = await entryVerdict(page, input.url, leaf);
  if (!badLeaf.text.includes('Inclusion proof failed')) fail(`a tampered leaf was not caught: ${badLeaf.text}`);
  await page.unroute('**/v1/log/entries/**');
  report.tampering = 'caught (audit path, leaf)';

  // Search by DID: the company's DID resolves with a verified proof.
  if (input.companyDid) {
    await page.goto(`${input.url}/ledger`);
    await page.getByLabel('DID', { exact: true }).fill(input.companyDid);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#did-result').getByText('Resolution proof verified').waitFor({ timeout: TIMEOUT });
    report.didSearch = 'resolution proof verified';
  }
}

async function main() {
  const input = await readInput();
  const executablePath = process.env.IDELTA_CHROMIUM || '/usr/bin/chromium';
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  const problems = [];
  const report = {};
  try {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    context.setDefaultTimeout(TIMEOUT);
    const page = await context.newPage();
    watch(page, problems);
    const leaf = await wallet(page, input, report);
    await admin(page, input, report);
    await ledger(page, input, leaf, report);
    if (problems.length) fail(problems.join('\n'));
    await context.close();
  } finally {
    await browser.close();
  }
  process.stdout.write(`${JSON.stringify({ ok: true, ...report })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
