// The one way the UI talks to the Lathe HTTP API: adds the session's key,
// turns non-2xx answers into ApiError, and tells the shell when a key is
// refused (window event "lathe:auth", detail {status, message}).

const KEY_NAME = 'lathe.key';

export class ApiError extends Error {
  // status: HTTP status (0 = no key or network failure); code: the API's
  // stable error code ("unauthenticated", "permission_denied", ...).
  constructor(status, message, code = '', body = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export function getKey() {
  try { return sessionStorage.getItem(KEY_NAME) || ''; } catch { return ''; }
}
export function setKey(k) {
  sessionStorage.setItem(KEY_NAME, String(k).trim());
}
export function clearKey() {
  sessionStorage.removeItem(KEY_NAME);
}

function authFailed(status, message) {
  window.dispatchEvent(new CustomEvent('lathe:auth', { detail: { status, message } }));
}

function noKeyError() {
  return new ApiError(0, 'Enter an API key to use this page', 'no_key');
}

// Builds an ApiError from a failed Response (OpenAI-style error body when
// there is one, else the status text).
export async function errorFromResponse(res) {
  let body = null;
  let text = '';
  try { text = await res.text(); body = text ? JSON.parse(text) : null; } catch { body = null; }
  // A body that is not the API's JSON error (an HTML page from a proxy, say)
  // is not shown to people; the status line is.
  return errorFromBody(res.status, body, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
}

function errorFromBody(status, body, fallback) {
  const e = body && body.error;
  const message = (e && e.message) || fallback || `HTTP ${status}`;
  const err = new ApiError(status, message, (e && e.code) || '', body);
  if (status === 401) authFailed(status, message);
  return err;
}

// api(path, {method, body, form, raw, signal, headers}):
//   body  -> sent as JSON; form -> a FormData sent as multipart;
//   raw   -> resolve with the Response itself (for streams, HTML, artifacts).
// Resolves with parsed JSON (null for an empty body); rejects with ApiError.
export async function api(path, { method = 'GET', body, form, raw = false, signal, headers = {} } = {}) {
  const key = getKey();
  if (!key) throw noKeyError();
  const h = { Authorization: `Bearer ${key}`, ...headers };
  let payload;
  if (form !== undefined) {
    payload = form;
  } else if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: payload, signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, `Could not reach the server (${e && e.message ? e.message : e})`, 'network');
  }
  if (!res.ok) throw await errorFromResponse(res);
  if (raw) return res;
  const text = await res.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch {
    throw new ApiError(res.status, 'The server sent a response that is not JSON', 'bad_response');
  }
}

// Uploads one FormData with XMLHttpRequest so the caller sees upload
// progress: onProgress(fraction 0..1). Resolves with {status, body};
// rejects with ApiError like api().
export function upload(path, form, { onProgress, method = 'POST' } = {}) {
  const key = getKey();
  if (!key) return Promise.reject(noKeyError());
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    xhr.setRequestHeader('Authorization', `Bearer ${key}`);
    if (onProgress) {
      xhr.upload.addEventListener('progress', (ev) => {
        if (ev.lengthComputable && ev.total > 0) onProgress(ev.loaded / ev.total);
      });
    }
    xhr.addEventListener('load', () => {
      let body = null;
      try { body = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { body = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, body });
      else reject(errorFromBody(xhr.status, body, xhr.statusText || `HTTP ${xhr.status}`));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'Could not reach the server (upload failed)', 'network')));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'Upload cancelled', 'aborted')));
    xhr.send(form);
  });
}

// Reads a server-sent event stream (fetch Response) and calls onEvent with
// each event's parsed JSON data. Resolves when the stream ends.
export async function readEvents(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const flush = (block) => {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    if (!data || data === '[DONE]') return;
    let ev;
    try { ev = JSON.parse(data); } catch { return; }
    onEvent(ev);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let m;
    while ((m = /\r?\n\r?\n/.exec(buf))) {
      flush(buf.slice(0, m.index));
      buf = buf.slice(m.index + m[0].length);
    }
  }
  buf += decoder.decode();
  if (buf.trim()) flush(buf);
}

// Path segment helper: encodes one path parameter (ids may contain '/').
export const seg = (s) => encodeURIComponent(String(s));
