/* login.js — the sign-in form: a pre-session CSRF token from /api/session,
 * then POST /api/login; on success back to where the visitor was going. */
'use strict';
(async () => {
  const { $, api, showError } = AID;
  const s = await AID.boot({ public: true });
  const next = new URLSearchParams(location.search).get('next') || 'index.html';
  /* only paths of this site */
  const target = /^\/?[\w.-]*(\.html)?(\?[\w=&%.-]*)?$/.test(next) ? next : 'index.html';
  if (s && s.authenticated) { location.href = target; return; }
  $('#login').addEventListener('submit', async ev => {
    ev.preventDefault();
    const btn = $('#submit');
    btn.disabled = true;
    const r = await api('POST', '/api/login',
      { username: $('#username').value.trim(), password: $('#password').value }, { noRedirect: true });
    btn.disabled = false;
    if (!r.ok) {
      showError($('#error'), r.error);
      if (r.error && r.error.code !== 'rate_limited') {
        /* a fresh pre-session token for the next try */
        const again = await AID.boot({ public: true });
        AID.setSession(again);
      }
      return;
    }
    location.href = target;
  });
})();
