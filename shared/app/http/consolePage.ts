import { OAUTH_CLIENT_JS } from './oauthClient.generated';

/**
 * The operator console: one page of plain HTML, a stylesheet and a small script module over the operator
 * API (no framework, no build step), all served by the app itself so the page's policy allows its own
 * scripts only (no inline script or style). It holds no data of its own; every number and row comes from
 * the API. With keys (OPERATOR_AUTH=key) it sends the host's master key, taken from `?code=` once, kept in
 * the tab's session storage and sent as the `x-functions-key` header (never in a URL again). With Entra
 * (OPERATOR_AUTH=entra) it signs the operator in (authorization code with PKCE, oauth4webapi) and sends
 * the access token; the token lives in the tab's session storage only. Data is only ever written as text,
 * never as HTML.
 */

const STYLE = `
  :root { font-family: system-ui, sans-serif; color: #1b1b1b; background: #f6f7f9; }
  body { margin: 0; }
  header { background: #0b3d62; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header .window { opacity: 0.8; font-size: 13px; }
  main { padding: 16px 20px; display: grid; gap: 16px; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
  .card { background: #fff; border-radius: 6px; padding: 10px 14px; box-shadow: 0 1px 2px #0002; }
  .card .n { font-size: 26px; font-weight: 600; }
  .card .rate { font-size: 12px; color: #555; }
  .card.failed .n, .card.stuck .n { color: #b00020; }
  .card.succeeded .n { color: #1b6e20; }
  section { background: #fff; border-radius: 6px; padding: 12px 14px; box-shadow: 0 1px 2px #0002; }
  section h2 { font-size: 15px; margin: 0 0 10px; }
  form, .row { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
  input, select, button { font: inherit; padding: 4px 8px; }
  button { cursor: pointer; border: 1px solid #0b3d62; background: #fff; color: #0b3d62; border-radius: 4px; }
  button:disabled { opacity: 0.5; cursor: default; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
  td.details { max-width: 420px; overflow-wrap: anywhere; color: #444; }
  .status-failed, .status-rejected { color: #b00020; font-weight: 600; }
  .status-succeeded { color: #1b6e20; font-weight: 600; }
  .status-open { color: #8a5a00; }
  #message { min-height: 1.2em; font-size: 13px; }
  #message.error { color: #b00020; }
  code { font-size: 12px; }
`;

const SCRIPT = `
const api = (path) => new URL('/api/' + path, location.origin);
const config = document.body.dataset;
const $ = (id) => document.getElementById(id);

function say(text, isError) {
  const m = $('message');
  m.textContent = text;
  m.className = isError ? 'error' : '';
}

// Keys: the host's master key, moved out of the address bar into the tab's session storage.
const KEY = 'kusto-ingest-functions.key';
const fromUrl = config.auth === 'key' ? new URLSearchParams(location.search).get('code') : null;
if (fromUrl) {
  sessionStorage.setItem(KEY, fromUrl);
  const clean = new URL(location.href);
  clean.searchParams.delete('code');
  history.replaceState(null, '', clean);
}

// Entra: authorization code with PKCE against the tenant, for a token whose audience is this app.
const TOKEN = 'kusto-ingest-functions.token';
const PENDING = 'kusto-ingest-functions.signin';
let oauth;
let server;
const entra = {
  issuer: () => new URL(config.authority + '/' + config.tenant + '/v2.0'),
  client: () => ({ client_id: config.client }),
  redirectUri: () => location.origin + location.pathname,
  options: () => (location.protocol === 'http:' || config.authority.startsWith('http:') ? { [oauth.allowInsecureRequests]: true } : {}),
  async server() {
    oauth ??= await import('./oauth4webapi.js');
    if (!server) {
      const issuer = entra.issuer();
      const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...entra.options() });
      server = await oauth.processDiscoveryResponse(issuer, response);
    }
    return server;
  },
  async signIn() {
    const as = await entra.server();
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state }));
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', config.client);
    url.searchParams.set('redirect_uri', entra.redirectUri());
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', 'api://' + config.client + '/user_impersonation');
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', state);
    location.assign(url);
    return new Promise(() => undefined); // the page leaves
  },
  async finishSignIn() {
    const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
    const here = new URL(location.href);
    if (!pending || !here.searchParams.has('state')) return;
    sessionStorage.removeItem(PENDING);
    const as = await entra.server();
    const params = oauth.validateAuthResponse(as, entra.client(), here, pending.state);
    const response = await oauth.authorizationCodeGrantRequest(as, entra.client(), oauth.None(), params, entra.redirectUri(), pending.verifier, entra.options());
    const result = await oauth.processAuthorizationCodeResponse(as, entra.client(), response, entra.options());
    const expiresAt = Date.now() + (result.expires_in || 3600) * 1000;
    sessionStorage.setItem(TOKEN, JSON.stringify({ token: result.access_token, expiresAt }));
    history.replaceState(null, '', entra.redirectUri());
  },
  async token() {
    const held = JSON.parse(sessionStorage.getItem(TOKEN) || 'null');
    if (held && held.expiresAt > Date.now() + 60000) return held.token;
    return entra.signIn();
  },
};

async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  if (config.auth === 'entra') headers.authorization = 'Bearer ' + (await entra.token());
  else if (sessionStorage.getItem(KEY)) headers['x-functions-key'] = sessionStorage.getItem(KEY);
  // Every action is JSON (the API refuses anything else, so no form or other site can send one).
  if (method !== 'GET') headers['content-type'] = 'application/json';
  const response = await fetch(api(path), {
    method,
    headers,
    body: method === 'GET' ? undefined : JSON.stringify(body === undefined ? {} : body),
  });
  if (response.status === 401 && config.auth === 'entra') {
    sessionStorage.removeItem(TOKEN);
    return entra.signIn();
  }
  const text = await response.text();
  const json = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const error = (json && json.error) || {};
    throw new Error((error.code || response.status) + ': ' + (error.message || response.statusText));
  }
  return json;
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '' : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function categoryOf(item) {
  if (item.state !== 'closed') return 'open';
  if (item.finalStatus === 'Succeeded' || item.finalStatus === 'Skipped') return 'succeeded';
  if (item.finalStatus === 'Rejected' || item.finalStatus === 'Abandoned') return 'rejected';
  return 'failed';
}

const HOURS = 24;

async function loadSummary() {
  const since = new Date(Date.now() - HOURS * 3600000).toISOString();
  const s = await call('GET', 'ingest/summary?since=' + encodeURIComponent(since));
  const capped = new Set(s.capped);
  const show = (id, n, rate) => {
    $(id).textContent = String(n) + (capped.has(id) ? '+' : '');
    const r = $(id + '-rate');
    if (r) r.textContent = rate ? (n / HOURS).toFixed(n < 10 * HOURS ? 2 : 0) + ' / h' : '';
  };
  show('open', s.counts.open, false);
  show('succeeded', s.counts.succeeded, true);
  show('failed', s.counts.failed, true);
  show('rejected', s.counts.rejected, true);
  $('stuck').textContent = String(s.stuck);
  $('oldest').textContent = s.oldestOpen ? 'oldest open since ' + new Date(s.oldestOpen).toLocaleString() : 'nothing open';
  $('poison').textContent = String(s.poisonMessages);
  $('deadletters').textContent = String(s.deadLetters);
  $('window').textContent = 'counts of the last ' + HOURS + ' h';
}

let nextToken = null;

async function loadItems(append) {
  const query = new URLSearchParams();
  const status = $('f-status').value;
  const database = $('f-database').value.trim();
  const table = $('f-table').value.trim();
  if (status) query.set('status', status);
  if (database) query.set('database', database);
  if (table) query.set('table', table);
  query.set('pageSize', '50');
  if (append && nextToken) query.set('continuationToken', nextToken);
  const page = await call('GET', 'ingest?' + query);
  const body = $('items');
  if (!append) body.textContent = '';
  for (const item of page.items) {
    const row = document.createElement('tr');
    row.dataset.sourceId = item.sourceId;
    const category = categoryOf(item);
    cell(row, new Date(item.updatedOn).toLocaleString());
    cell(row, item.database + '.' + item.table);
    cell(row, item.kind);
    cell(row, item.finalStatus || item.state, 'status status-' + category);
    cell(row, item.errorCode);
    cell(row, item.details, 'details');
    cell(row, item.attempts);
    const id = cell(row, '');
    const code = document.createElement('code');
    code.textContent = item.sourceId;
    id.appendChild(code);
    const actions = cell(row, '');
    if (item.retryable) {
      const button = document.createElement('button');
      button.textContent = 'Retry';
      button.className = 'retry';
      button.addEventListener('click', () => retry(item.sourceId, button));
      actions.appendChild(button);
    }
    body.appendChild(row);
  }
  nextToken = page.continuationToken;
  $('more').disabled = !nextToken;
}

async function retry(sourceId, button) {
  button.disabled = true;
  try {
    const r = await call('POST', 'ingest/status/' + encodeURIComponent(sourceId) + '/retry');
    say('Retried ' + sourceId + (r.replaces ? ' as ' + r.sourceId : '') + '.');
    await refresh();
  } catch (e) {
    say(e.message, true);
    button.disabled = false;
  }
}

async function retryMany(event) {
  event.preventDefault();
  const body = { database: $('b-database').value.trim() };
  const table = $('b-table').value.trim();
  const errorCode = $('b-code').value.trim();
  if (table) body.table = table;
  if (errorCode) body.errorCode = errorCode;
  try {
    const r = await call('POST', 'ingest/retry', body);
    const skipped = Object.entries(r.notRetried).map(([k, v]) => v + ' ' + k).join(', ');
    say('Retried ' + r.retried + (skipped ? '; not retried: ' + skipped : '') + (r.more ? '; more left: run it again' : '') + '.');
    await refresh();
  } catch (e) {
    say(e.message, true);
  }
}

async function replay() {
  try {
    const r = await call('POST', 'landing/replay');
    say('Replayed ' + r.poisonMessages + ' poison messages and ' + r.deadLetteredEvents + ' dead-lettered events.');
    await refresh();
  } catch (e) {
    say(e.message, true);
  }
}

async function refresh() {
  try {
    await Promise.all([loadSummary(), loadItems(false), loadAudit()]);
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    say(e.message, true);
  }
}

async function loadAudit() {
  const page = await call('GET', 'operator/audit?pageSize=20');
  const body = $('audit');
  body.textContent = '';
  for (const entry of page.entries) {
    const row = document.createElement('tr');
    cell(row, new Date(entry.at).toLocaleString());
    cell(row, entry.principalName);
    cell(row, entry.roles.join(', '));
    cell(row, entry.action);
    cell(row, entry.target, 'details');
    cell(row, entry.status + (entry.code ? ' ' + entry.code : ''));
    body.appendChild(row);
  }
}

$('filters').addEventListener('submit', (event) => {
  event.preventDefault();
  void refresh();
});
$('bulk').addEventListener('submit', retryMany);
$('replay').addEventListener('click', replay);
$('more').addEventListener('click', () => loadItems(true).catch((e) => say(e.message, true)));

async function start() {
  if (config.auth === 'entra') await entra.finishSignIn();
  await refresh();
  setInterval(() => void refresh(), 15000);
}
start().catch((e) => say(e.message, true));
`;

/** How the page signs its operator in: the host's key, or Entra (then who issues the token). */
export type ConsoleAuth =
  | { readonly mode: 'key' }
  | {
      readonly mode: 'entra';
      readonly authority: string;
      readonly tenantId: string;
      readonly clientId: string;
    };

const attribute = (value: string) => value.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);

function authAttributes(auth: ConsoleAuth): string {
  if (auth.mode === 'key') return 'data-auth="key"';
  return `data-auth="entra" data-authority="${attribute(auth.authority)}" data-tenant="${attribute(auth.tenantId)}" data-client="${attribute(auth.clientId)}"`;
}

/** The console page: no inline script or style; its assets are served from `console/assets/`. */
export const consolePage = (auth: ConsoleAuth): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ingestion console</title>
<link rel="stylesheet" href="console/assets/console.css">
<script type="module" src="console/assets/console.js"></script>
</head>
<body ${authAttributes(auth)}>
<header><h1>Ingestion console</h1><span class="window" id="window"></span><span class="window" id="updated"></span></header>
<main>
  <div class="cards">
    <div class="card open"><div>Open</div><div class="n" id="open">–</div><div class="rate" id="oldest"></div></div>
    <div class="card succeeded"><div>Succeeded</div><div class="n" id="succeeded">–</div><div class="rate" id="succeeded-rate"></div></div>
    <div class="card failed"><div>Failed</div><div class="n" id="failed">–</div><div class="rate" id="failed-rate"></div></div>
    <div class="card failed"><div>Rejected</div><div class="n" id="rejected">–</div><div class="rate" id="rejected-rate"></div></div>
    <div class="card stuck"><div>Stuck</div><div class="n" id="stuck">–</div><div class="rate">open past the stale limit</div></div>
    <div class="card"><div>Poison / dead letters</div><div class="n"><span id="poison">–</span> / <span id="deadletters">–</span></div>
      <div class="rate"><button id="replay" type="button">Replay</button></div></div>
  </div>
  <div id="message" role="status"></div>
  <section>
    <h2>Sources</h2>
    <form id="filters">
      <select id="f-status" aria-label="status">
        <option value="failed">failed</option><option value="rejected">rejected</option>
        <option value="open">open</option><option value="succeeded">succeeded</option><option value="">all</option>
      </select>
      <input id="f-database" placeholder="database" aria-label="database">
      <input id="f-table" placeholder="table" aria-label="table">
      <button type="submit">Show</button>
    </form>
    <table>
      <thead><tr><th>updated</th><th>table</th><th>kind</th><th>status</th><th>error</th><th>reason</th><th>attempts</th><th>source id</th><th></th></tr></thead>
      <tbody id="items"></tbody>
    </table>
    <div class="row"><button id="more" type="button" disabled>More</button></div>
  </section>
  <section>
    <h2>Operators' actions (the audit log)</h2>
    <table>
      <thead><tr><th>when</th><th>who</th><th>roles</th><th>action</th><th>target</th><th>outcome</th></tr></thead>
      <tbody id="audit"></tbody>
    </table>
  </section>
  <section>
    <h2>Retry in bulk (after fixing the cause)</h2>
    <form id="bulk">
      <input id="b-database" placeholder="database" aria-label="bulk database" required>
      <input id="b-table" placeholder="table (optional)" aria-label="bulk table">
      <input id="b-code" placeholder="error code (optional)" aria-label="bulk error code">
      <button type="submit">Retry all matching</button>
    </form>
  </section>
</main>
</body>
</html>
`;

/** The page's assets, by name: served by the app itself, so the page's policy allows 'self' only. */
export const CONSOLE_ASSETS: Readonly<Record<string, { readonly type: string; readonly body: string }>> = {
  'console.js': { type: 'text/javascript; charset=utf-8', body: SCRIPT },
  'console.css': { type: 'text/css; charset=utf-8', body: STYLE },
  'oauth4webapi.js': { type: 'text/javascript; charset=utf-8', body: OAUTH_CLIENT_JS },
};
