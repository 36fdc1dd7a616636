// The shell: hash router, key form and status region. Each route lazily
// imports ui/js/pages/<module>.js and calls its render(root, ctx) with
// ctx = {api, params, query, navigate(hash), announce(text), signal}.
// params is an array of the decoded path parameters that also carries
// them by name (params.run_id, params.name, ...) and as params.id.

import { api, getKey, setKey, clearKey, ApiError } from './api.js';
import { el, clear, errorBox, describeError, pageHeading, focusKeyField } from './ui.js';

const routes = [
  { pattern: /^chat$/, module: 'chat', title: 'Chat', nav: 'chat' },
  { pattern: /^kb$/, module: 'kb', title: 'Knowledge base', nav: 'kb' },
  { pattern: /^search$/, module: 'search', title: 'Search playground', nav: 'search' },
  { pattern: /^runs$/, module: 'runs', title: 'Runs', nav: 'runs' },
  { pattern: /^runs\/([^/]+)$/, names: ['run_id'], module: 'run', title: 'Run', nav: 'runs' },
  { pattern: /^compare$/, module: 'compare', title: 'Compare runs', nav: 'runs' },
  { pattern: /^models$/, module: 'models', title: 'Models', nav: 'models' },
  { pattern: /^models\/([^/]+)$/, names: ['name'], module: 'models', title: 'Model', nav: 'models' },
  { pattern: /^pipelines$/, module: 'pipelines', title: 'Pipelines', nav: 'pipelines' },
  { pattern: /^pipelines\/([^/]+)$/, names: ['dag'], module: 'pipeline', title: 'Pipeline', nav: 'pipelines' },
  { pattern: /^pipeline-runs\/([^/]+)$/, names: ['run_id'], module: 'pipeline_run', title: 'Pipeline run', nav: 'pipelines' },
  { pattern: /^quality$/, module: 'quality', title: 'Data quality', nav: 'quality' },
  { pattern: /^quality\/([^/]+)$/, names: ['result_id'], module: 'quality_result', title: 'Validation result', nav: 'quality' },
];

const DEFAULT_HASH = '#/chat';
const main = document.getElementById('app');
const statusRegion = document.getElementById('status');
const keyError = document.getElementById('key-error');
const keyInput = document.getElementById('api-key');
let current = null; // {container, controller}

export function announce(text) {
  // Clear first so that the same text twice is announced twice.
  statusRegion.textContent = '';
  setTimeout(() => { statusRegion.textContent = text; }, 50);
}

export function navigate(hash) {
  const h = hash.startsWith('#') ? hash : `#${hash.startsWith('/') ? '' : '/'}${hash}`;
  if (location.hash === h) render();
  else location.hash = h;
}

function parseHash() {
  let h = location.hash.replace(/^#\/?/, '');
  let qs = '';
  const qi = h.indexOf('?');
  if (qi >= 0) { qs = h.slice(qi + 1); h = h.slice(0, qi); }
  h = h.replace(/\/+$/, '');
  // ?collection= etc. on the page URL itself (outside the hash) also counts,
  // hash query winning: /?collection=support#/chat
  const query = new URLSearchParams(location.search);
  for (const [k, v] of new URLSearchParams(qs)) query.set(k, v);
  return { path: h, query };
}

function match(path) {
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    const values = m.slice(1).map((v) => { try { return decodeURIComponent(v); } catch { return v; } });
    const params = Object.assign([...values], {});
    (r.names || []).forEach((n, i) => { params[n] = values[i]; });
    if (values.length === 1) params.id = values[0];
    return { route: r, params };
  }
  return null;
}

function markNav(navName) {
  for (const a of document.querySelectorAll('#site-nav a')) {
    if (a.dataset.nav === navName) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function focusHeading(container) {
  const h1 = container.querySelector('h1');
  if (!h1) return;
  if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
  // Do not steal focus from the key field if the user is typing there.
  if (document.activeElement === keyInput) return;
  h1.focus({ preventScroll: false });
}

async function render() {
  if (!location.hash || location.hash === '#' || location.hash === '#/') {
    history.replaceState(null, '', `${location.pathname}${location.search}${DEFAULT_HASH}`);
  }
  const { path, query } = parseHash();
  const found = match(path);
  if (current) current.controller.abort();
  const controller = new AbortController();
  const container = el('div', { class: 'page' });
  current = { container, controller };
  clear(main);
  main.append(container);

  if (!found) {
    document.title = 'Not found · Lathe';
    markNav(null);
    container.append(pageHeading('Page not found'),
      el('p', {}, 'There is no page at ', el('code', {}, location.hash), '. ',
        el('a', { href: DEFAULT_HASH }, 'Go to the chat')));
    focusHeading(container);
    return;
  }
  const { route, params } = found;
  document.title = `${route.title} · Lathe`;
  markNav(route.nav);

  if (!getKey()) {
    container.append(pageHeading(route.title),
      el('div', { class: 'notice notice-warn', 'data-testid': 'no-key' },
        el('p', {}, 'Enter an API key to use this page. Paste it into the “API key” field at the top and choose “Save key”. ',
          'The key is kept only for this browser tab (session storage).')));
    keyInput.focus();
    return;
  }

  let mod;
  try {
    mod = await import(`./pages/${route.module}.js`);
  } catch (e) {
    if (current.container !== container) return;
    container.append(pageHeading(route.title),
      errorBox(new Error(`This page could not be loaded (ui/js/pages/${route.module}.js): ${e && e.message ? e.message : e}`)));
    focusHeading(container);
    return;
  }
  if (current.container !== container) return;
  if (typeof mod.render !== 'function') {
    container.append(pageHeading(route.title),
      errorBox(new Error(`ui/js/pages/${route.module}.js has no render() function`)));
    focusHeading(container);
    return;
  }
  const ctx = { api, params, query, navigate, announce, signal: controller.signal, title: route.title };
  let focused = false;
  // Focus the heading as soon as the page has drawn it, even while it is still loading data.
  const obs = new MutationObserver(() => {
    if (!focused && container.querySelector('h1')) { focused = true; obs.disconnect(); focusHeading(container); }
  });
  obs.observe(container, { childList: true, subtree: true });
  try {
    await mod.render(container, ctx);
  } catch (e) {
    if (e && e.name === 'AbortError') return;
    if (current.container !== container) return;
    if (!container.querySelector('h1')) container.prepend(pageHeading(route.title));
    container.append(errorBox(e));
    console.warn(`page ${route.module}:`, e);
  } finally {
    obs.disconnect();
  }
  if (!focused && current.container === container) { focused = true; focusHeading(container); }
}

// The key form in the header.
function showKeyError(text) {
  keyError.textContent = text;
  keyError.hidden = !text;
}

function updateKeyState() {
  const has = !!getKey();
  document.getElementById('key-state').textContent = has ? 'A key is saved for this tab.' : 'No key saved.';
  document.getElementById('forget-key').disabled = !has;
}

// Says whose key is saved and what it may do (GET /v1/whoami), so that a
// query key's missing admin scope is visible before a 403.
function showKeyOwner(me) {
  document.getElementById('key-state').textContent =
    `Key of tenant ${me.tenant} (${me.scope} scope) saved for this tab.`;
}

window.addEventListener('lathe:auth', (ev) => {
  showKeyError(`The API key was refused: ${ev.detail.message}`);
  document.getElementById('key-state').textContent = 'The saved key was refused.';
});

document.getElementById('key-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const k = keyInput.value.trim();
  if (!k) {
    showKeyError('Enter a key first (it starts with lk_).');
    keyInput.focus();
    return;
  }
  setKey(k);
  keyInput.value = '';
  showKeyError('');
  updateKeyState();
  try {
    const me = await api('/v1/whoami');
    showKeyOwner(me);
    announce(`Key saved: tenant ${me.tenant}, ${me.scope} scope.`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      announce('The key was refused.');
    } else {
      showKeyError(`The key is saved, but checking it failed: ${describeError(e)}`);
    }
  }
  render();
});

document.getElementById('forget-key').addEventListener('click', () => {
  clearKey();
  showKeyError('');
  updateKeyState();
  announce('Key forgotten.');
  render();
  focusKeyField();
});

// The skip link must not change the hash (that is the router's).
document.getElementById('skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  const h1 = main.querySelector('h1');
  (h1 || main).focus();
});

window.addEventListener('hashchange', render);
updateKeyState();
if (getKey()) api('/v1/whoami').then(showKeyOwner, () => {});  // a refused key is reported by the page
render();
