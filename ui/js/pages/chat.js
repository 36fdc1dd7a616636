// Chat page (customer view): pick a collection, ask questions, read the
// streamed answer, open a cited passage with its quote highlighted, and ask
// for a person when the assistant hands off. The conversation id is kept
// per collection in sessionStorage so a follow-up (or a return to the page)
// continues the same conversation.

import { el, clear, errorBox, field, pageHeading, uid, describeError, notice } from '../ui.js';
import { readEvents, seg, ApiError } from '../api.js';

const convKey = (collection) => `lathe.chat.${collection}`;

export async function render(root, ctx) {
  const page = el('div', { class: 'chat-page' });
  root.append(page);
  page.append(pageHeading('Chat'),
    el('p', { class: 'muted' }, 'Ask the support assistant. Answers quote the help-centre passages they come from: choose a number such as [1] to read the passage.'));

  let collections;
  const wait = el('p', { class: 'loading' }, 'Loading collections…');
  page.append(wait);
  try {
    collections = (await ctx.api('/v1/collections', { signal: ctx.signal })).data || [];
  } catch (e) {
    wait.remove();
    if (e.name === 'AbortError') return;
    page.append(errorBox(e, 'Could not load the collections.'));
    return;
  }
  wait.remove();
  if (collections.length === 0) {
    page.append(notice('There are no collections yet. Upload documents on the Knowledge base page first.', 'warn'),
      el('p', {}, el('a', { href: '#/kb' }, 'Go to the knowledge base')));
    return;
  }

  const wanted = ctx.query.get('collection');
  const state = {
    collection: collections.some((c) => c.name === wanted) ? wanted : collections[0].name,
    conversationId: null,
    busy: false,
  };

  const select = el('select', { id: 'chat-collection' },
    collections.map((c) => el('option', { value: c.name, selected: c.name === state.collection }, c.name)));
  const newButton = el('button', { type: 'button', class: 'button' }, 'New conversation');
  page.append(el('div', { class: 'chat-top' },
    field('Collection', select), newButton));
  if (wanted && wanted !== state.collection) {
    page.append(notice(`There is no collection named “${wanted}”; showing “${state.collection}”.`, 'warn'));
  }

  const list = el('ol', { class: 'conversation', 'aria-label': 'Conversation', 'data-testid': 'conversation' });
  page.append(list);

  const input = el('textarea', {
    id: 'chat-input', 'data-testid': 'chat-input', rows: 2, maxlength: 8000,
    placeholder: 'e.g. How long is a password reset link valid?',
  });
  const sendButton = el('button', { type: 'submit', class: 'button primary' }, 'Send');
  const stopButton = el('button', { type: 'button', class: 'button', hidden: true }, 'Stop');
  const form = el('form', { class: 'chat-form', 'aria-label': 'Ask a question' },
    field('Your question', input, 'Enter sends; Shift+Enter starts a new line.'), sendButton, stopButton);
  stopButton.addEventListener('click', () => { if (state.stop) state.stop(); input.focus(); });
  page.append(form);

  const setBusy = (b) => { state.busy = b; sendButton.disabled = b; stopButton.hidden = !b; };

  const dialogs = { passage: null };
  const deps = { ctx, state, dialogs };

  async function resume() {
    clear(list);
    state.conversationId = null;
    let id = null;
    try { id = sessionStorage.getItem(convKey(state.collection)); } catch { id = null; }
    if (!id) return;
    try {
      const conv = await ctx.api(`/v1/conversations/${seg(id)}`, { signal: ctx.signal });
      if (conv.collection && conv.collection !== state.collection) return;
      state.conversationId = id;
      for (const t of conv.turns || []) {
        list.append(userMessage(t.message));
        const a = assistantMessage(deps);
        list.append(a.li);
        a.finish({ ...t, conversation_id: id }, t.message);
      }
    } catch (e) {
      if (e.name === 'AbortError') return;
      // Expired or unknown: start afresh.
      try { sessionStorage.removeItem(convKey(state.collection)); } catch { /* ignore */ }
    }
  }

  select.addEventListener('change', () => {
    state.collection = select.value;
    history.replaceState(null, '', `#/chat?collection=${encodeURIComponent(state.collection)}`);
    resume();
    ctx.announce(`Collection ${state.collection} selected.`);
  });
  newButton.addEventListener('click', () => {
    try { sessionStorage.removeItem(convKey(state.collection)); } catch { /* ignore */ }
    state.conversationId = null;
    clear(list);
    ctx.announce('New conversation started.');
    input.focus();
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text || state.busy) return;
    input.value = '';
    setBusy(true);
    try {
      await ask(deps, list, text);
    } finally {
      setBusy(false);
      if (document.activeElement === document.body || document.activeElement === sendButton) input.focus();
    }
  });

  await resume();
}

function userMessage(text) {
  return el('li', { class: 'msg msg-user', 'data-testid': 'user-message' },
    el('div', { class: 'msg-role' }, 'You'), text);
}

async function ask({ ctx, state, dialogs }, list, text) {
  list.append(userMessage(text));
  const a = assistantMessage({ ctx, state, dialogs });
  list.append(a.li);
  a.li.scrollIntoView({ block: 'nearest' });

  // Stop (the button) or leaving the page aborts the request; the server
  // then stores the turn with the text produced so far.
  const ac = new AbortController();
  const onLeave = () => ac.abort();
  ctx.signal.addEventListener('abort', onLeave);
  let stopped = false;
  let streamed = '';
  state.stop = () => { stopped = true; ac.abort(); };
  const aborted = () => {
    if (stopped) {
      a.stopped(streamed);
      ctx.announce('Stopped.');
    }
  };

  const send = async (retrying) => {
    const body = { collection: state.collection, message: text, stream: true };
    if (state.conversationId) body.conversation_id = state.conversationId;
    let res;
    try {
      res = await ctx.api('/v1/chat', { method: 'POST', body, raw: true, signal: ac.signal });
    } catch (e) {
      if (e.name === 'AbortError') { aborted(); return; }
      if (!retrying && e instanceof ApiError && e.status === 404 && body.conversation_id) {
        // The stored conversation expired: start a new one with this question.
        state.conversationId = null;
        try { sessionStorage.removeItem(convKey(state.collection)); } catch { /* ignore */ }
        await send(true);
        return;
      }
      a.fail(e);
      ctx.announce(`The question failed: ${describeError(e)}`);
      return;
    }
    let done = null;
    let failure = null;
    try {
      await readEvents(res, (ev) => {
        if (ev.type === 'delta') {
          streamed += ev.text || '';
          a.stream(streamed);
        } else if (ev.type === 'done') {
          done = ev;
        } else if (ev.type === 'error') {
          failure = ev.error || { message: 'the answer failed' };
        }
      });
    } catch (e) {
      if (e.name === 'AbortError') { aborted(); return; }
      failure = { message: `the answer stream broke off (${e.message || e})` };
    }
    if (done) {
      state.conversationId = done.conversation_id || state.conversationId;
      try { sessionStorage.setItem(convKey(state.collection), state.conversationId); } catch { /* ignore */ }
      a.finish(done, text);
      const n = (done.citations || []).length;
      ctx.announce(done.abstained
        ? 'The assistant could not answer this. You can ask to talk to a person.'
        : `Answer ready${n ? `, with ${n} source${n === 1 ? '' : 's'}` : ''}.`);
    } else {
      const err = new ApiError(0, `The answer failed: ${failure ? failure.message : 'the stream ended before the answer was complete'}`,
        failure && failure.code ? failure.code : 'stream');
      a.fail(err, streamed);
      ctx.announce(err.message);
    }
  };
  try {
    await send(false);
  } finally {
    state.stop = null;
    ctx.signal.removeEventListener('abort', onLeave);
  }
}

// One assistant message: streamed text first, then the verified answer with
// citation buttons, sources, and the hand-off box when it abstained.
function assistantMessage({ ctx, state, dialogs }) {
  const textEl = el('div', { class: 'answer-text' });
  const li = el('li', { class: 'msg msg-assistant', 'data-testid': 'assistant-message', 'aria-busy': 'true' },
    el('div', { class: 'msg-role' }, 'Assistant'), textEl);
  textEl.textContent = '…';
  return {
    li,
    stream(text) { textEl.textContent = text; },
    stopped(partial) {
      li.removeAttribute('aria-busy');
      li.dataset.state = 'stopped';
      textEl.textContent = partial || '';
      li.append(el('p', { class: 'msg-meta' }, 'Stopped before the answer was complete.'));
    },
    fail(err, partial) {
      li.removeAttribute('aria-busy');
      li.dataset.state = 'error';
      textEl.textContent = partial || '';
      if (!partial) textEl.remove();
      li.append(errorBox(err));
    },
    finish(done, question) {
      li.removeAttribute('aria-busy');
      li.dataset.state = done.abstained ? 'abstained' : 'answered';
      li.dataset.abstained = String(!!done.abstained);
      const citations = done.citations || [];
      clear(textEl);
      renderAnswer(textEl, done.answer || '', citations, (c, btn) => openPassage(ctx, state, dialogs, c, btn));
      if (citations.length) {
        const labelId = uid('sources');
        li.append(el('div', { class: 'sources' },
          el('div', { class: 'sources-label', id: labelId }, 'Sources'),
          el('ol', { 'aria-labelledby': labelId }, citations.map((c) => el('li', { value: c.n },
            el('button', {
              type: 'button', class: 'link-button', 'aria-haspopup': 'dialog',
              onclick: (ev) => openPassage(ctx, state, dialogs, c, ev.currentTarget),
            }, c.title || c.doc_id),
            ' ', el('span', { class: 'muted' }, `(${c.doc_id})`))))));
      }
      if (done.abstained) li.append(handoffBox(ctx, done.conversation_id || state.conversationId, question));
    },
  };
}

// Splits the answer on [n] markers; a marker naming a citation becomes a
// button that opens the passage, any other stays text.
function renderAnswer(target, answer, citations, onOpen) {
  const byN = new Map(citations.map((c) => [Number(c.n), c]));
  const re = /\[(\d+)\]/g;
  let last = 0;
  let m;
  while ((m = re.exec(answer))) {
    if (m.index > last) target.append(answer.slice(last, m.index));
    const c = byN.get(Number(m[1]));
    if (c) {
      const btn = el('button', {
        type: 'button', class: 'citation', 'data-testid': 'citation', 'data-chunk-id': c.chunk_id,
        'data-n': c.n, 'aria-haspopup': 'dialog',
        'aria-label': `[${c.n}] source: ${c.title || c.doc_id}`, title: c.title || c.doc_id,
      }, `[${c.n}]`);
      btn.addEventListener('click', () => onOpen(c, btn));
      target.append(btn);
    } else {
      target.append(m[0]);
    }
    last = m.index + m[0].length;
  }
  if (last < answer.length) target.append(answer.slice(last));
}

function handoffBox(ctx, conversationId, question) {
  const button = el('button', { type: 'button', class: 'button primary' }, 'Talk to a person');
  const out = el('div', { class: 'handoff-result', 'aria-live': 'polite' });
  const box = el('div', { class: 'handoff', 'data-testid': 'handoff' },
    el('p', {}, 'The assistant could not find a reliable answer in the help centre. A person from the support team can take over this conversation.'),
    button, out);
  button.addEventListener('click', async () => {
    button.disabled = true;
    clear(out);
    out.append(el('p', { class: 'loading' }, 'Asking for a person…'));
    try {
      const res = await ctx.api(`/v1/conversations/${seg(conversationId)}/handoff`, {
        method: 'POST', body: question ? { note: question } : {},
      });
      clear(out);
      out.append(el('p', { class: 'result', 'data-testid': 'handoff-result' },
        res.message || 'A person will take over this conversation.',
        res.handoff_id ? el('span', { class: 'muted' }, ` Reference: ${res.handoff_id}.`) : null));
      button.textContent = 'Requested';
      ctx.announce(res.message || 'A person has been asked to take over.');
    } catch (e) {
      clear(out);
      out.append(errorBox(e, 'The request for a person failed.'));
      button.disabled = false;
    }
  });
  return box;
}

// --- Passage viewer ------------------------------------------------------

async function openPassage(ctx, state, dialogs, citation, opener) {
  if (dialogs.passage) dialogs.passage.close();
  const titleId = uid('passage-title');
  const heading = el('h2', { id: titleId }, `[${citation.n}] ${citation.title || citation.doc_id}`);
  const body = el('div', { class: 'passage-body' }, el('p', { class: 'loading' }, 'Loading the passage…'));
  const close = el('button', { type: 'button', class: 'button' }, 'Close');
  const dlg = el('dialog', { class: 'passage-dialog', 'data-testid': 'passage', 'aria-labelledby': titleId },
    heading, body, el('div', { class: 'dialog-actions' }, close));
  close.addEventListener('click', () => dlg.close());
  dlg.addEventListener('click', (ev) => { if (ev.target === dlg) dlg.close(); }); // backdrop
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (dialogs.passage === dlg) dialogs.passage = null;
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dlg);
  dialogs.passage = dlg;
  dlg.showModal();
  close.focus();

  let chunk;
  try {
    chunk = await ctx.api(`/v1/collections/${seg(state.collection)}/chunks/${seg(citation.chunk_id)}`);
  } catch (e) {
    clear(body);
    body.append(errorBox(e, 'Could not load the passage.'));
    return;
  }
  clear(body);
  const docTitle = chunk.document_title || citation.doc_id;
  body.append(el('p', { class: 'passage-meta' },
    el('strong', {}, docTitle), ' · ', el('code', {}, chunk.doc_id || citation.doc_id),
    chunk.title && chunk.title !== docTitle ? [' · ', chunk.title] : null));
  const textBox = el('div', { class: 'passage-text', tabindex: '0', 'aria-label': 'Passage text' });
  const found = highlight(textBox, chunk.text || '', citation.quote || '');
  if (!found) {
    body.append(el('p', { class: 'notice notice-warn', 'data-testid': 'quote-not-found' },
      'The quoted sentence could not be located in this passage; the whole passage is shown.',
      citation.quote ? [' Quote: “', citation.quote, '”'] : null));
  }
  body.append(textBox);
  const mark = textBox.querySelector('mark');
  if (mark) mark.scrollIntoView({ block: 'center' });
}

// Normalises s for matching, keeping a map from each output character to
// its index in s. loose: compare letters and digits only, lower-cased
// (punctuation, quotes and markdown markup ignored); else whitespace runs
// collapse to one space.
function normalise(s, loose) {
  let out = '';
  const map = [];
  let pendingSpace = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (loose) {
      if (!/[\p{L}\p{N}]/u.test(ch)) continue;
      const lc = ch.toLowerCase();
      out += lc.length === 1 ? lc : ch;
      map.push(i);
    } else if (/\s/.test(ch)) {
      pendingSpace = out.length > 0;
    } else {
      if (pendingSpace) { out += ' '; map.push(i - 1); pendingSpace = false; }
      out += ch;
      map.push(i);
    }
  }
  return { out, map };
}

// Fills target with text, the quote wrapped in <mark>. Returns whether the
// quote was found (ignoring whitespace differences, then punctuation/case).
export function highlight(target, text, quote) {
  const q = quote.trim();
  if (q) {
    for (const loose of [false, true]) {
      const t = normalise(text, loose);
      const n = normalise(q, loose);
      if (!n.out) continue;
      const at = t.out.indexOf(n.out);
      if (at < 0) continue;
      const start = t.map[at];
      const end = t.map[at + n.out.length - 1] + 1;
      target.append(text.slice(0, start), el('mark', {}, text.slice(start, end)), text.slice(end));
      return true;
    }
  }
  target.append(text);
  return false;
}
