/* Lathe help widget: one <script> tag puts a help button and a chat panel
   on any page, talking to the Lathe server the script was loaded from.

     <script src="https://HOST/ui/widget.js" data-collection="support"
             data-key="lk_..." async></script>

   Optional attributes: data-title (panel heading, default "Help"),
   data-position ("right" default, or "left"). Self-contained: no imports,
   everything inside one shadow root so the page's CSS cannot reach it and
   its CSS cannot reach the page. The key is visible to the page's users:
   give the widget a query key of its own tenant (docs/api.md, CORS). */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) return;
  if (window.__latheWidget) return; // loaded twice
  window.__latheWidget = true;

  var src = script.src || '';
  var base = src.replace(/\/ui\/widget\.js(?:[?#].*)?$/, '');
  if (base === src) { try { base = new URL(src).origin; } catch (e) { base = ''; } }
  var collection = script.getAttribute('data-collection') || 'support';
  var key = script.getAttribute('data-key') || '';
  var title = script.getAttribute('data-title') || 'Help';
  var side = script.getAttribute('data-position') === 'left' ? 'left' : 'right';
  var convKey = 'lathe.widget.' + base + '.' + collection;

  var CSS = [
    ':host { all: initial; }',
    '.lw, .lw * { box-sizing: border-box; }',
    '.lw { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; font-size: 15px; line-height: 1.45; color: #1b1f24; }',
    '.lw-launch { position: fixed; bottom: 20px; ' + side + ': 20px; z-index: 2147483000; display: inline-flex; align-items: center; gap: 8px;',
    '  border: 0; border-radius: 999px; padding: 12px 18px; background: #0b57d0; color: #fff; font: inherit; font-weight: 600;',
    '  box-shadow: 0 4px 14px rgba(0,0,0,.25); cursor: pointer; }',
    '.lw-launch:hover { background: #083f99; }',
    '.lw-launch svg { width: 20px; height: 20px; fill: currentColor; }',
    '.lw-panel { position: fixed; bottom: 84px; ' + side + ': 20px; z-index: 2147483001; width: 380px; max-width: calc(100vw - 24px);',
    '  height: 560px; max-height: calc(100vh - 110px); display: flex; flex-direction: column; background: #fff;',
    '  border: 1px solid #c7ccd4; border-radius: 12px; box-shadow: 0 10px 40px rgba(0,0,0,.28); overflow: hidden; }',
    '.lw-panel[hidden] { display: none; }',
    '.lw-head { display: flex; align-items: center; justify-content: space-between; padding: 10px 12px; background: #0b57d0; color: #fff; }',
    '.lw-head h2 { margin: 0; font-size: 16px; font-weight: 700; }',
    '.lw-x { border: 0; background: transparent; color: #fff; font: inherit; font-size: 22px; line-height: 1; width: 36px; height: 36px; border-radius: 6px; cursor: pointer; }',
    '.lw-x:hover { background: rgba(255,255,255,.18); }',
    '.lw-log { flex: 1; overflow-y: auto; padding: 12px; margin: 0; list-style: none; display: flex; flex-direction: column; gap: 10px; background: #f3f5f8; }',
    '.lw-msg { padding: 8px 11px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; max-width: 100%; }',
    '.lw-user { align-self: flex-end; background: #0b57d0; color: #fff; max-width: 88%; }',
    '.lw-bot { align-self: stretch; background: #fff; border: 1px solid #c7ccd4; }',
    '.lw-intro { color: #4f5661; }',
    '.lw-src { margin: 8px 0 0; padding: 6px 0 0 20px; border-top: 1px solid #dde1e6; font-size: 13px; white-space: normal; }',
    '.lw-src li { margin: 2px 0; }',
    '.lw-quote { display: block; color: #4f5661; font-style: italic; }',
    '.lw-cite { font-weight: 700; color: #083f99; }',
    '.lw-hand { margin-top: 8px; padding: 8px; border-radius: 8px; background: #fff4e0; border: 1px solid #d9a23d; color: #7a4a00; white-space: normal; }',
    '.lw-hand p { margin: 0 0 6px; }',
    '.lw-ok { color: #146c2e; font-weight: 600; }',
    '.lw-err { color: #b3261e; font-weight: 600; white-space: normal; }',
    '.lw-form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #c7ccd4; background: #fff; align-items: flex-end; }',
    '.lw-form label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }',
    '.lw-form textarea { flex: 1; font: inherit; color: inherit; resize: none; min-height: 42px; max-height: 120px; padding: 8px; border: 1px solid #767d88; border-radius: 8px; }',
    '.lw-btn { font: inherit; font-weight: 600; border-radius: 8px; padding: 9px 14px; border: 1px solid #0b57d0; background: #0b57d0; color: #fff; cursor: pointer; }',
    '.lw-btn:hover { background: #083f99; }',
    '.lw-btn:disabled { opacity: .6; cursor: not-allowed; }',
    '.lw-busy::after { content: "\\25CD"; }',
    '.lw :focus-visible { outline: 3px solid #1b1f24; outline-offset: 2px; box-shadow: 0 0 0 2px #fff; }',
    '.lw-head :focus-visible { outline-color: #fff; box-shadow: none; }',
    '.lw-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }',
    '@media (max-width: 480px) { .lw-panel { ' + side + ': 12px; bottom: 76px; height: calc(100vh - 96px); } }'
  ].join('\n');

  function h(tag, attrs) {
    var n = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null || attrs[k] === false) continue;
      if (k === 'text') n.textContent = attrs[k];
      else if (k.slice(0, 2) === 'on') n.addEventListener(k.slice(2), attrs[k]);
      else n.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null || c === false) continue;
      n.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return n;
  }

  var host = h('div', { id: 'lathe-help-widget', 'data-testid': 'lathe-widget' });
  var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
  root.appendChild(h('style', { text: CSS }));

  var uidBase = 'lw' + Math.random().toString(36).slice(2, 8);
  var panelId = uidBase + '-panel';
  var titleId = uidBase + '-title';
  var inputId = uidBase + '-input';

  var launch = h('button', {
    type: 'button', 'class': 'lw-launch', 'aria-expanded': 'false', 'aria-controls': panelId,
    'aria-label': 'Open ' + title + ' chat', 'data-testid': 'lathe-widget-button'
  });
  launch.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
  launch.appendChild(h('span', { 'aria-hidden': 'true' }, title));

  var closeBtn = h('button', { type: 'button', 'class': 'lw-x', 'aria-label': 'Close ' + title + ' chat' }, '\u00d7');
  var log = h('ol', { 'class': 'lw-log', 'aria-label': 'Conversation' },
    h('li', { 'class': 'lw-msg lw-bot lw-intro' }, 'Hi! Ask a question about our product and I will answer from the help centre.'));
  var input = h('textarea', { id: inputId, rows: '1', maxlength: '8000', placeholder: 'Type your question', 'data-testid': 'lathe-widget-input' });
  var send = h('button', { type: 'submit', 'class': 'lw-btn' }, 'Send');
  var form = h('form', { 'class': 'lw-form' }, h('label', { 'for': inputId }, 'Your question'), input, send);
  var live = h('div', { 'class': 'lw-sr', role: 'status', 'aria-live': 'polite' });
  var panel = h('div', {
    id: panelId, 'class': 'lw-panel', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': titleId, hidden: true,
    'data-testid': 'lathe-widget-panel'
  }, h('div', { 'class': 'lw-head' }, h('h2', { id: titleId }, title), closeBtn), log, form, live);
  root.appendChild(h('div', { 'class': 'lw' }, launch, panel));

  function announce(t) { live.textContent = ''; setTimeout(function () { live.textContent = t; }, 50); }

  function open() {
    panel.hidden = false;
    launch.setAttribute('aria-expanded', 'true');
    launch.setAttribute('aria-label', 'Close ' + title + ' chat');
    input.focus();
  }
  function close() {
    panel.hidden = true;
    launch.setAttribute('aria-expanded', 'false');
    launch.setAttribute('aria-label', 'Open ' + title + ' chat');
    launch.focus();
  }
  launch.addEventListener('click', function () { if (panel.hidden) open(); else close(); });
  closeBtn.addEventListener('click', close);
  function onEsc(ev) {
    if (ev.key === 'Escape' && !panel.hidden) { ev.preventDefault(); ev.stopPropagation(); close(); }
  }
  panel.addEventListener('keydown', onEsc);
  launch.addEventListener('keydown', onEsc);
  input.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
  });
  form.addEventListener('submit', function (ev) { ev.preventDefault(); submit(); });

  var conversationId = null;
  try { conversationId = sessionStorage.getItem(convKey); } catch (e) { conversationId = null; }
  var busy = false;

  function headers() {
    var hd = { 'Content-Type': 'application/json' };
    if (key) hd.Authorization = 'Bearer ' + key;
    return hd;
  }
  function errorText(status, body) {
    var m = body && body.error && body.error.message;
    if (status === 401) return 'The help chat is not available right now (the site\u2019s key was refused).';
    if (status === 429 || status === 503) return 'The help chat is busy. Please try again in a moment.';
    return 'Sorry, something went wrong' + (m ? ': ' + m : '') + '.';
  }
  function scroll() { log.scrollTop = log.scrollHeight; }

  function submit() {
    var text = input.value.replace(/^\s+|\s+$/g, '');
    if (!text || busy) return;
    input.value = '';
    busy = true;
    send.disabled = true;
    log.appendChild(h('li', { 'class': 'lw-msg lw-user' }, h('span', { 'class': 'lw-sr' }, 'You: '), text));
    var body = h('span', { 'class': 'lw-busy' });
    var bot = h('li', { 'class': 'lw-msg lw-bot', 'aria-busy': 'true', 'data-testid': 'lathe-widget-answer' },
      h('span', { 'class': 'lw-sr' }, 'Assistant: '), body);
    log.appendChild(bot);
    scroll();
    ask(text, bot, body, false).then(finish, function (e) {
      showError(bot, body, 'Sorry, the help chat could not be reached (' + (e && e.message ? e.message : e) + ').');
      finish();
    });
  }
  function finish() { busy = false; send.disabled = false; }

  function showError(bot, body, msg) {
    bot.removeAttribute('aria-busy');
    body.className = '';
    bot.appendChild(h('div', { 'class': 'lw-err', role: 'alert' }, msg));
    announce(msg);
  }

  function ask(text, bot, body, retried) {
    var payload = { collection: collection, message: text, stream: true };
    if (conversationId) payload.conversation_id = conversationId;
    return fetch(base + '/v1/chat', { method: 'POST', headers: headers(), body: JSON.stringify(payload) })
      .then(function (res) {
        if (!res.ok) {
          return res.text().then(function (t) {
            var b = null; try { b = JSON.parse(t); } catch (e) { b = null; }
            if (res.status === 404 && payload.conversation_id && !retried) {
              conversationId = null;
              try { sessionStorage.removeItem(convKey); } catch (e) { /* ignore */ }
              return ask(text, bot, body, true);
            }
            showError(bot, body, errorText(res.status, b));
          });
        }
        return readStream(res, bot, body);
      });
  }

  function readStream(res, bot, body) {
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buf = '';
    var streamed = '';
    var done = null;
    var failure = null;
    function handle(block) {
      var lines = block.split(/\r?\n/);
      var data = [];
      for (var i = 0; i < lines.length; i++) if (lines[i].indexOf('data:') === 0) data.push(lines[i].slice(5).replace(/^ /, ''));
      var s = data.join('\n');
      if (!s || s === '[DONE]') return;
      var ev; try { ev = JSON.parse(s); } catch (e) { return; }
      if (ev.type === 'delta') { streamed += ev.text || ''; body.textContent = streamed; scroll(); }
      else if (ev.type === 'done') done = ev;
      else if (ev.type === 'error') failure = ev.error || {};
    }
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) {
          buf += decoder.decode();
          if (buf.replace(/\s+/g, '')) handle(buf);
          return end();
        }
        buf += decoder.decode(r.value, { stream: true });
        var m;
        while ((m = /\r?\n\r?\n/.exec(buf))) { handle(buf.slice(0, m.index)); buf = buf.slice(m.index + m[0].length); }
        return pump();
      });
    }
    function end() {
      body.className = '';
      if (!done) {
        showError(bot, body, 'Sorry, the answer failed' + (failure && failure.message ? ': ' + failure.message : '') + '.');
        return;
      }
      bot.removeAttribute('aria-busy');
      conversationId = done.conversation_id || conversationId;
      try { if (conversationId) sessionStorage.setItem(convKey, conversationId); } catch (e) { /* ignore */ }
      renderAnswer(body, done.answer || '', done.citations || []);
      var cits = done.citations || [];
      if (cits.length) {
        var ol = h('ol', { 'class': 'lw-src', 'aria-label': 'Sources' });
        for (var i = 0; i < cits.length; i++) {
          var c = cits[i];
          ol.appendChild(h('li', { value: String(c.n) }, c.title || c.doc_id,
            c.quote ? h('span', { 'class': 'lw-quote' }, '\u201c' + c.quote + '\u201d') : null));
        }
        bot.appendChild(ol);
      }
      if (done.abstained) bot.appendChild(handoff(conversationId));
      scroll();
      announce(done.abstained ? 'The assistant could not answer. You can ask to talk to a person.'
        : 'Answer ready' + (cits.length ? ', with ' + cits.length + ' source' + (cits.length === 1 ? '' : 's') : '') + '.');
    }
    return pump();
  }

  function renderAnswer(target, answer, citations) {
    target.textContent = '';
    var known = {};
    for (var i = 0; i < citations.length; i++) known[citations[i].n] = citations[i];
    var re = /\[(\d+)\]/g, last = 0, m;
    while ((m = re.exec(answer))) {
      if (m.index > last) target.appendChild(document.createTextNode(answer.slice(last, m.index)));
      var c = known[Number(m[1])];
      target.appendChild(c ? h('span', { 'class': 'lw-cite', title: c.title || c.doc_id }, m[0]) : document.createTextNode(m[0]));
      last = m.index + m[0].length;
    }
    if (last < answer.length) target.appendChild(document.createTextNode(answer.slice(last)));
  }

  function handoff(id) {
    var btn = h('button', { type: 'button', 'class': 'lw-btn' }, 'Talk to a person');
    var out = h('div', { 'aria-live': 'polite' });
    var box = h('div', { 'class': 'lw-hand', 'data-testid': 'lathe-widget-handoff' },
      h('p', null, 'A person from the support team can take over this conversation.'), btn, out);
    btn.addEventListener('click', function () {
      btn.disabled = true;
      out.textContent = 'Asking for a person\u2026';
      fetch(base + '/v1/conversations/' + encodeURIComponent(id) + '/handoff', { method: 'POST', headers: headers(), body: '{}' })
        .then(function (res) {
          return res.text().then(function (t) {
            var b = null; try { b = JSON.parse(t); } catch (e) { b = null; }
            out.textContent = '';
            if (res.ok) {
              out.appendChild(h('p', { 'class': 'lw-ok' }, (b && b.message) || 'A person will take over this conversation.'));
              btn.textContent = 'Requested';
              announce((b && b.message) || 'A person has been asked to take over.');
            } else {
              out.appendChild(h('p', { 'class': 'lw-err', role: 'alert' }, errorText(res.status, b)));
              btn.disabled = false;
            }
          });
        }, function () {
          out.textContent = '';
          out.appendChild(h('p', { 'class': 'lw-err', role: 'alert' }, 'Sorry, the request could not be sent.'));
          btn.disabled = false;
        });
    });
    return box;
  }

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
