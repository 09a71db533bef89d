/*
 * The record specification form's live preview: when a field changes, the form is posted as its
 * "Preview" button posts it (nothing is saved) and the preview section is replaced by the one the
 * answer holds, so the recent calls are seen in the edited format as it is edited. Without this
 * script the Preview button does the same with a page load. No inline script (the CSP).
 */
(function () {
  'use strict';
  function start() {
    var form = document.querySelector('form[data-testid="spec-form"]');
    var current = document.querySelector('[data-testid="preview"]');
    if (!form || !current || !window.fetch || !window.DOMParser) return;
    var timer = null;
    var asked = 0;
    function refresh() {
      var seq = ++asked;
      var body = new URLSearchParams(new FormData(form));
      body.set('preview', '1');
      current.setAttribute('aria-busy', 'true');
      fetch(form.getAttribute('action'), { method: 'POST', body: body, credentials: 'same-origin', headers: { Accept: 'text/html' } })
        .then(function (res) { return res.text(); })
        .then(function (html) {
          if (seq !== asked) return; // a later change is on its way
          var doc = new DOMParser().parseFromString(html, 'text/html');
          var next = doc.querySelector('[data-testid="preview"]');
          if (!next) {
            // The form has an error: say so where the preview is; Save shows the error at its field.
            next = document.createElement('section');
            next.className = 'card';
            next.setAttribute('data-testid', 'preview');
            var p = document.createElement('p');
            p.className = 'error';
            p.setAttribute('data-testid', 'preview-error');
            var err = doc.querySelector('.form .error, .error');
            p.textContent = 'No preview: ' + (err ? err.textContent.trim() : 'the form has an error') + '.';
            next.appendChild(p);
          }
          next = document.importNode(next, true);
          current.replaceWith(next);
          current = next;
        })
        .catch(function () { current.removeAttribute('aria-busy'); });
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 400);
    }
    form.addEventListener('change', later);
    form.addEventListener('input', later);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
