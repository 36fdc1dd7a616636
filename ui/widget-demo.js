// widget-demo.html's loader: builds the widget's snippet for this server and
// inserts it, as a site would in its HTML (key from ?key=, or the UI's key).
(function () {
  var q = new URLSearchParams(location.search);
  var key = q.get('key') || (function () { try { return sessionStorage.getItem('lathe.key') || ''; } catch (e) { return ''; } })();
  var collection = q.get('collection') || 'support';
  var src = location.origin + '/ui/widget.js';
  document.getElementById('snippet').textContent =
    '<script src="' + src + '" data-collection="' + collection + '" data-key="' + (key ? key.slice(0, 6) + '…' : 'lk_...') + '" async><\/script>';
  if (!key) {
    document.getElementById('key-box').hidden = false;
    document.getElementById('key-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var k = document.getElementById('demo-key').value.trim();
      if (!k) return;
      q.set('key', k);
      location.search = q.toString();
    });
    return;
  }
  var s = document.createElement('script');
  s.src = src;
  s.async = true;
  s.setAttribute('data-collection', collection);
  s.setAttribute('data-key', key);
  document.body.appendChild(s);
})();
