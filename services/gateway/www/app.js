/* app.js — what every page of the console shares: the session, the API
 * client (CSRF token and form keys), the navigation by role, Chinese labels
 * and formatting. Plain JavaScript, no build step; pages add their own
 * script after this one and call AID.boot(). Everything shown is built with
 * DOM nodes and text, never HTML strings, so no data can inject markup. */
'use strict';

const AID = (() => {
  let session = null;
  let rulesPromise = null;

  /* ---- labels ------------------------------------------------------- */
  const L = {
    role: { township: '乡镇经办人', county: '县级管理人员', department: '部门经办人', auditor: '审计人员' },
    department: {
      civil: '民政', tempaid: '临时救助', medical: '医疗保障', education: '教育', housing: '住房',
      employment: '就业', relief: '应急救助', social: '社会服务', care: '关爱探访',
    },
    status: { pending: '办理中', in_review: '审核中', granted: '已批准', denied: '不予救助', referred: '已转介' },
    period: { once: '一次性', month: '每月', quarter: '每季度', year: '每年' },
    form: { cash: '现金', in_kind: '实物', service: '服务', referral: '转介' },
    visit: { month: '每月探访', quarter: '每季度探访', none: '无' },
    group: {
      S1: '低保对象', S2: '特困人员', S3: '精简退职职工', S4: '孤儿', S5: '事实无人抚养儿童',
      S6: '留守/困境儿童', S7: '低收入老年人', S8: '低收入未成年人', S9: '低收入重病患者',
      S10: '低收入重度残疾人', M1: '支出型困难', M2: '困难职工', O1: '突发事件', any: '合计',
    },
    /* measure code → Chinese name: proto/zh.c's table, copied into rules.json
     * by gen_rules.py and filled in by boot() */
    measure: {},
  };

  /* ---- DOM helpers --------------------------------------------------- */
  /* el('td', {class: 'x', 'data-path': 'a'}, 'text', childNode, ...) */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v === true) e.setAttribute(k, '');
      else e.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  /* ---- formatting ---------------------------------------------------- */
  /* fen (integer) → "1,234.50 元" */
  function yuan(fen, unit = true) {
    if (typeof fen !== 'number') return '—';
    const neg = fen < 0; const f = Math.abs(fen);
    const y = Math.floor(f / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const s = (neg ? '-' : '') + y + '.' + String(f % 100).padStart(2, '0');
    return unit ? s + ' 元' : s;
  }
  /* "123.4" (yuan, as typed) → 12340 fen, exactly; null when not money */
  function toFen(text) {
    const t = String(text || '').trim().replace(/,/g, '');
    if (t === '') return 0;
    const m = /^(\d{1,12})(?:\.(\d{0,2}))?$/.exec(t);
    if (!m) return null;
    return parseInt(m[1], 10) * 100 + parseInt((m[2] || '').padEnd(2, '0'), 10);
  }
  function today() {
    /* the county's day (UTC+8) */
    const d = new Date(Date.now() + 8 * 3600 * 1000);
    return d.toISOString().slice(0, 10);
  }
  const thisMonth = () => today().slice(0, 7);
  /* an ISO UTC time ("2026-11-29T02:20:30Z") as the county's clock reads it,
   * with its zone: "2026-11-29 10:20 (UTC+8)" (as proto/zh.c writes it) */
  function beijing(iso) {
    const t = new Date(iso).getTime();
    if (!iso || Number.isNaN(t)) return iso || '';
    return new Date(t + 8 * 3600 * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' (UTC+8)';
  }
  function monthsBack(month, n) {
    let [y, m] = month.split('-').map(Number);
    const out = [];
    for (let i = 0; i < n; i++) {
      out.unshift(`${y}-${String(m).padStart(2, '0')}`);
      m -= 1; if (m === 0) { m = 12; y -= 1; }
    }
    return out;
  }
  const label = (kind, key) => (L[kind] && L[kind][key]) || key;

  /* ---- API ----------------------------------------------------------- */
  /* A form key: the part of the request id that makes a double click or a
   * retry one request (the gateway prefixes the user). */
  function formKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16); crypto.getRandomValues(b);
    return Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
  }

  /* Returns {ok, status, result, error}; error is the contract's object. */
  async function api(method, path, body, opts = {}) {
    const headers = { 'Accept': 'application/json' };
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      if (session && session.csrf) headers['X-CSRF-Token'] = session.csrf;
      if (opts.key) headers['Idempotency-Key'] = opts.key;
    }
    let res;
    try {
      res = await fetch(path, {
        method, headers, credentials: 'same-origin',
        body: method === 'GET' ? undefined : JSON.stringify(body || {}),
      });
    } catch (e) {
      return { ok: false, status: 0, error: { code: 'unavailable', message: '网络连接失败,请稍后重试' } };
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (res.status === 401 && !opts.noRedirect) {
      location.href = 'login.html?next=' + encodeURIComponent(location.pathname + location.search);
    }
    if (data && data.ok) return { ok: true, status: res.status, result: data.result };
    return {
      ok: false, status: res.status,
      error: (data && data.error) || { code: 'unavailable', message: 'HTTP ' + res.status },
    };
  }

  /* A sentence for an error object. */
  const CODE_TEXT = {
    invalid_field: '填写有误', not_found: '未找到', conflict: '与先前提交冲突', too_large: '内容过大',
    rate_limited: '请求过于频繁', unavailable: '服务暂不可用,请稍后重试', unknown_op: '该功能尚未上线',
    unauthorized: '无权操作', bad_request: '请求无效',
  };
  /* the gateway writes every message in Chinese, naming the field by its
   * name and path (proto/zh.c); the code's text heads it */
  function errorText(err) {
    if (!err) return '';
    const head = CODE_TEXT[err.code] || '操作失败';
    const field = err.field && !(err.message || '').includes(err.field) ? `(${err.field})` : '';
    return `${head}${field}:${err.message || ''}`;
  }
  function showError(box, err) {
    clear(box);
    if (!err) { box.hidden = true; return; }
    box.hidden = false;
    box.append(el('span', { class: 'code', text: err.code }), ' ', errorText(err));
  }

  /* Marks the control whose data-path is err.field (within root) and
   * writes the message beside it; clears earlier marks. */
  function fieldError(root, err) {
    $$('.invalid', root).forEach(c => c.classList.remove('invalid'));
    $$('.field-error', root).forEach(s => s.remove());
    const c = err && err.field && root.querySelector(`[data-path="${CSS.escape(err.field)}"]`);
    if (!c) return false;
    c.classList.add('invalid');
    c.parentElement.append(el('span', { class: 'field-error', text: err.message || '' }));
    return true;
  }
  /* Sends a form's body with its own key; shows the result or the error. */
  async function submitForm(form, path, body, onOk) {
    const btn = form.querySelector('button[type=submit]');
    if (!form.dataset.key) form.dataset.key = formKey();
    if (btn) btn.disabled = true;
    const r = await api('POST', path, body, { key: form.dataset.key });
    if (btn) btn.disabled = false;
    const errBox = form.querySelector('.error-box'), okBox = form.querySelector('.ok-box');
    fieldError(form, r.ok ? null : r.error);
    if (errBox) showError(errBox, r.ok ? null : r.error);
    if (!r.ok) return r;
    delete form.dataset.key;   /* the next submission is a new request */
    if (okBox) { clear(okBox); okBox.hidden = false; onOk(r.result, okBox); }
    return r;
  }

  /* ---- rules (www/rules.json, generated from docs/policy.md and docs/rules.zh.tsv) */
  function rules() {
    if (!rulesPromise) rulesPromise = fetch('rules.json').then(r => r.json()).catch(() => ({ rules: {} }));
    return rulesPromise;
  }

  /* ---- place names (the county's table: aidctl places import) ------------ */
  let placesPromise = null;
  function places() {
    if (!placesPromise) {
      placesPromise = api('GET', '/api/places', null, { noRedirect: true })
        .then(r => (r.ok && r.result.names) || {});
    }
    return placesPromise;
  }
  let placeNames = {};
  /* "测试甲镇(520123101)" where the name is known, else the bare code */
  function place(code) {
    if (!code) return code || '';
    const n = placeNames[code];
    return n ? `${n}(${code})` : String(code);
  }
  /* One cited rule: id, Chinese title, its text in the plan's words (docs/rules.zh.tsv). */
  function ruleNode(id, book) {
    const r = (book.rules || {})[id];
    return el('li', { class: 'rule' },
      el('span', { class: 'rule-id', text: id }), ' ',
      el('strong', { text: r ? r.title : '(未知规则)' }),
      r ? el('div', { class: 'rule-text', text: r.text }) : null);
  }

  /* ---- ID numbers (docs/policy.md §0, GB 11643) --------------------------- */
  const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const CHECKS = '10X98765432';
  /* null when valid, else why not (Chinese). asOf: "YYYY-MM-DD" or '' */
  function idProblem(id, asOf) {
    const s = String(id || '').trim().toUpperCase();
    if (s.length !== 18) return `身份证号码应为 18 位(现为 ${s.length} 位)`;
    if (!/^\d{17}[\dX]$/.test(s)) return '身份证号码应为 17 位数字加 1 位数字或 X';
    const y = +s.slice(6, 10), m = +s.slice(10, 12), d = +s.slice(12, 14);
    const dt = new Date(Date.UTC(y, m - 1, d));
    if (y < 1800 || dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d)
      return '身份证号码中的出生日期不存在';
    const birth = s.slice(6, 14);
    const ref = (asOf || today()).replace(/-/g, '');
    if (birth > ref) return '出生日期晚于填报日期';
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += (+s[i]) * WEIGHTS[i];
    const want = CHECKS[sum % 11];
    if (s[17] !== want) return `校验位错误(按前 17 位应为 ${want})`;
    return null;
  }
  const maskId = s => s && s.length === 18 ? s.slice(0, 6) + '********' + s.slice(14) : s;

  /* ---- page frame ---------------------------------------------------- */
  const NAV = [
    ['index.html', '工作台', ['township', 'county', 'department', 'auditor']],
    ['report.html', '填报', ['township', 'county']],
    ['todo.html', '待办', ['township', 'county', 'auditor']],
    ['case.html', '个案查询', ['township', 'county', 'department', 'auditor']],
    ['cases.html', '案件名册', ['township', 'county', 'auditor']],
    ['visits.html', '探访', ['township', 'county', 'auditor']],
    ['referrals.html', '部门转介', ['county', 'department', 'auditor']],
    ['ledger.html', '月度台账', ['township', 'county', 'auditor']],
    ['disclosure.html', '公示', ['township', 'county', 'auditor']],
    ['complaints.html', '投诉', ['township', 'county', 'department', 'auditor']],
    ['payroll.html', '资金发放', ['county']],
    ['trigger.html', '部门触发', ['county']],
    ['audit.html', '审计', ['county', 'auditor']],
  ];

  function frame(user) {
    const page = location.pathname.split('/').pop() || 'index.html';
    const nav = el('nav', { class: 'nav' },
      NAV.filter(n => n[2].includes(user.role)).map(([href, text]) =>
        el('a', { href, class: href === page ? 'active' : null, text })));
    const who = el('div', { class: 'who' },
      el('span', { text: `${user.display_name || user.username}` }),
      el('span', { class: 'badge', text: label('role', user.role) + (user.scope ? ' · ' + scopeText(user) : '') }),
      el('a', { href: 'account.html', text: '账户' }),
      el('button', { type: 'button', class: 'link', id: 'logout', onclick: logout, text: '退出' }));
    const header = el('header', { class: 'top' },
      el('div', { class: 'brand' }, el('span', { class: 'emblem', text: '助' }),
        el('div', {}, el('div', { class: 'title', text: '特殊困难群体常态化救助服务' }),
          el('div', { class: 'subtitle', text: '县民政局 · 工作台' }))),
      who);
    document.body.prepend(header, nav);
  }
  function scopeText(user) {
    return user.role === 'department' ? label('department', user.scope) : user.scope;
  }

  async function logout() {
    await api('POST', '/api/logout', {});
    location.href = 'login.html';
  }

  /* Loads the session; sends the visitor to the login page when needed.
   * Returns the user (or null on the login page). */
  async function boot(opts = {}) {
    const r = await api('GET', '/api/session', null, { noRedirect: true });
    session = r.ok ? r.result : null;
    if (opts.public) return session;
    if (!session || !session.authenticated) {
      location.href = 'login.html?next=' + encodeURIComponent(location.pathname + location.search);
      return new Promise(() => {});
    }
    frame(session.user);
    const [book, names] = await Promise.all([rules(), places()]);
    Object.assign(L.measure, book.measure_names || {});
    placeNames = names;
    return session.user;
  }
  const setSession = s => { session = s; };

  /* A small table: cols [[key, header, fn?]], rows of objects. */
  function table(cols, rows, empty = '暂无数据') {
    const t = el('table', { class: 'grid' },
      el('thead', {}, el('tr', {}, cols.map(c => el('th', { text: c[1] })))));
    const tb = el('tbody');
    if (!rows || !rows.length) tb.append(el('tr', {}, el('td', { colspan: cols.length, class: 'muted', text: empty })));
    for (const row of rows || []) {
      tb.append(el('tr', {}, cols.map(([k, , fn]) => {
        const v = fn ? fn(row[k], row) : row[k];
        return el('td', {}, v instanceof Node ? v : (v === undefined || v === null ? '' : String(v)));
      })));
    }
    t.append(tb);
    return t;
  }

  /* A notice that an operation is not served yet (501). */
  function notYet(box, err) {
    clear(box).append(el('p', { class: 'muted' }, err && err.code === 'unknown_op'
      ? '该功能尚未上线:后台服务还不支持此操作。' : errorText(err)));
  }

  return {
    L, el, $, $$, clear, yuan, toFen, today, thisMonth, beijing, monthsBack, label, formKey, api,
    errorText, showError, rules, ruleNode, places, place, idProblem, maskId, boot, setSession, table, notYet,
    fieldError, submitForm,
    get session() { return session; },
  };
})();
