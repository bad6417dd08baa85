// Shared by idelta's web apps (wallet, admin console, ledger browser).
//
// - The session: the bearer credential the user pastes is kept in
//   sessionStorage (this tab only) and sent as `Authorization: Bearer`;
//   no cookie is ever set, so other sites' requests carry nothing.
// - `api()`: JSON calls whose RFC 9457 problems become readable errors.
// - `h()`: builds DOM nodes; text always goes through textContent, so data
//   from the API can never become markup.
// - `announce()` / `showError()`: the page's `role=status` and
//   `role=alert` regions, so screen readers hear outcomes.

const TOKEN_KEY = 'idelta.token';
/** A message to say after the page reloads on sign-out. */
const FLASH_KEY = 'idelta.flash';

/** `document.querySelector`. */
export const $ = (selector, root = document) => root.querySelector(selector);

/**
 * Creates an element. `attrs`: `class`, `text` (textContent), `on…`
 * (listeners), `true` for boolean attributes; false/null/undefined skip.
 * Children are nodes or strings (as text).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let uid = 0;
/** A fresh element id with `prefix`. */
export function newId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A label and its input, wrapped in a div; `attrs` go on the input. */
export function field(labelText, attrs = {}, tag = 'input') {
  const id = attrs.id || newId('f');
  return h('div', {}, h('label', { for: id, text: labelText }), h(tag, { ...attrs, id }));
}

/** Text hidden visually but read by screen readers. */
export const hidden = (text) => h('span', { class: 'visually-hidden', text });

/** An error from the API: `status` and the problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem.detail || problem.title || `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.problem = problem;
    this.code = problem.code;
  }
}

/** A random Idempotency-Key (getRandomValues also works outside secure contexts). */
function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Calls the JSON API at `path` (same origin). `body` is sent as JSON;
 * `idempotent` adds a fresh Idempotency-Key; `auth: false` sends no
 * credential. Resolves to the parsed body (null when empty); rejects with
 * an ApiError. A 401 signs the session out.
 */
export async function api(path, { method = 'GET', body, idempotent = false, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  const token = auth ? sessionStorage.getItem(TOKEN_KEY) : null;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (idempotent) headers['Idempotency-Key'] = randomKey();
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, { title: 'Network error', detail: `the server did not answer (${e.message})` });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const problem = data && typeof data === 'object' ? data : { detail: String(data || response.statusText) };
    if (response.status === 401 && token) document.dispatchEvent(new CustomEvent('idelta:unauthorized'));
    throw new ApiError(response.status, problem);
  }
  return data;
}

/** `?a=1&b=2` from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Says `message` in the status region (re-announced even if unchanged). */
export function announce(message) {
  const status = $('#status');
  const alert = $('#alert');
  if (alert) alert.textContent = '';
  if (!status) return;
  status.textContent = '';
  // A change of content is what screen readers announce.
  setTimeout(() => {
    status.textContent = message;
  }, 50);
}

/** Shows an error in the alert region. */
export function showError(error) {
  const alert = $('#alert');
  const message = error instanceof ApiError ? describeProblem(error) : String(error.message || error);
  if (alert) alert.textContent = `Error: ${message}`;
}

function describeProblem(error) {
  const p = error.problem || {};
  const detail = p.detail || p.title || error.message;
  return p.code ? `${detail} (${p.code})` : detail;
}

/**
 * Runs `action` for a user's click or submit: disables `control` while it
 * runs (no double purchase), and shows any error.
 */
export async function run(control, action) {
  if (control) control.disabled = true;
  const section = control ? control.closest('section') : null;
  try {
    return await action();
  } catch (e) {
    showError(e);
    return undefined;
  } finally {
    if (control) control.disabled = false;
    // A list redrawn after the action may have taken the focused control
    // away: keyboard and screen reader users resume at its section.
    if (control && !control.isConnected && section) {
      const heading = section.querySelector('h2');
      if (heading) {
        heading.tabIndex = -1;
        heading.focus();
      }
    }
  }
}

/** Handles `form`'s submit with `action(values, form)`; values from FormData. */
export function onSubmit(form, action) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    const button = form.querySelector('button[type=submit], button:not([type])');
    run(button, () => action(values, form));
  });
}

/** A positive integer from a form value, or an error naming `what`. */
export function positiveInt(value, what) {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${what} must be a whole number above 0`);
  return n;
}

/** `{employee: id}` or `{did: did}` for a recipient typed by the user. */
export function recipient(value) {
  const v = String(value).trim();
  if (!v) throw new Error('name a recipient: an employee id or a DID');
  return v.startsWith('did:') ? { did: v } : { employee: v };
}

/** A number with digit grouping. */
export const num = (n) => (typeof n === 'number' ? n.toLocaleString('en') : String(n ?? ''));

/** A local date and time for milliseconds since the epoch. */
export const when = (ms) => (ms === undefined || ms === null ? '' : new Date(ms).toLocaleString());

/** A long identifier cut in the middle, the whole of it in `title`. */
export function short(id) {
  const s = String(id ?? '');
  const text = s.length > 28 ? `${s.slice(0, 16)}…${s.slice(-8)}` : s;
  return h('code', { title: s, text });
}

/** A link to a ledger entry in the ledger browser. */
export const leafLink = (index) => h('a', { href: `/ledger#leaf=${index}`, text: `#${index}` });

/**
 * Pagination with a "More" button: `load(cursor)` renders one page (the
 * first when cursor is null) and returns the next cursor or null.
 * Returns `reload()`, which starts over.
 */
export function paged(button, load) {
  let cursor = null;
  async function step(first) {
    const next = await load(first ? null : cursor);
    cursor = next ?? null;
    button.hidden = cursor === null;
  }
  button.addEventListener('click', () => run(button, () => step(false)));
  return () => step(true);
}

/**
 * The tokens on the ledger (symbol and name by token id), when the ledger
 * answers on this origin (as under `idelta up`); else an empty map.
 * `refresh` reads them again.
 */
let tokensCache = null;
export async function tokens(refresh = false) {
  if (!tokensCache || refresh) {
    tokensCache = api('/v1/loyalty/tokens', { auth: false })
      .then((r) => new Map((r.tokens || []).map((t) => [t.token, t])))
      .catch(() => new Map());
  }
  return tokensCache;
}

/** "120 ACME": an amount of a token, by symbol when known. */
export function amount(value, token, known) {
  const t = known && known.get(token);
  const id = String(token ?? '');
  return `${num(value)} ${t ? t.symbol : id.length > 24 ? `${id.slice(0, 18)}…` : id}`;
}

/**
 * The sign-in flow. `roles`: the `/v1/me` roles this app accepts;
 * `describe(me)`: who is signed in, in words; `onSignedIn(me)`: fills the
 * app. A saved credential is tried on load.
 */
export function session({ roles, describe, onSignedIn }) {
  const form = $('#signin');
  const input = $('#token');
  const signInSection = $('#signin-section');
  const bar = $('#session');
  const app = $('#app');

  let signedIn = false;

  /**
   * Forgets the credential. Once the app has shown data, the page is
   * loaded afresh so none of it stays in the document; the message
   * (`{text, error}`) is carried over in sessionStorage and said then.
   */
  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (signedIn) {
      if (message) sessionStorage.setItem(FLASH_KEY, JSON.stringify(message));
      location.reload();
      return;
    }
    app.hidden = true;
    bar.hidden = true;
    signInSection.hidden = false;
    say(message);
  }

  function say(message) {
    if (!message) return;
    if (message.error) showError(new Error(message.text));
    else announce(message.text);
  }

  async function signIn(token, restoring) {
    sessionStorage.setItem(TOKEN_KEY, token);
    let me;
    try {
      me = await api('/v1/me');
    } catch (e) {
      signOut(e.status === 401 ? { error: true, text: 'this access token was not accepted (expired, replaced or revoked)' } : null);
      if (e.status !== 401) showError(e);
      return;
    }
    if (!roles.includes(me.role)) {
      signOut({ error: true, text: `this is a ${me.role} credential; this app takes a ${roles.join(' or ')} one` });
      return;
    }
    signedIn = true;
    input.value = '';
    signInSection.hidden = true;
    bar.hidden = false;
    $('#who').textContent = describe(me);
    app.hidden = false;
    try {
      await onSignedIn(me);
    } catch (e) {
      showError(e);
      return;
    }
    if (!restoring) {
      announce('Signed in.');
      $('#main').focus();
    }
  }

  onSubmit(form, async (values) => {
    const token = String(values.token || '').trim();
    if (!token) throw new Error('paste an access token');
    await signIn(token, false);
  });
  $('#signout').addEventListener('click', () => signOut({ text: 'Signed out.' }));
  document.addEventListener('idelta:unauthorized', () => {
    signOut({ error: true, text: 'your access token stopped working (expired, replaced or revoked): sign in again' });
  });
  const flash = sessionStorage.getItem(FLASH_KEY);
  if (flash) {
    sessionStorage.removeItem(FLASH_KEY);
    try {
      say(JSON.parse(flash));
    } catch {
      // A damaged message is simply not said.
    }
  }
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved, true);
  else if (flash) input.focus();
}
