/* case.js — where a case stands: persons (masked) with their groups and
 * visit plan, and one card per department with its status, measures in yuan
 * and every cited rule with its text from POLICY.md; the entitlements (issue
 * 17) month by month, the last twelve months up to the latest one they reach.
 *
 * Live: an EventSource on /api/cases/<id>/events says when a department has
 * decided (the gateway listens to case.updated on the bus); the page then
 * reads the case again. The bus is a fast path, so the page also re-reads
 * every 15 s until the case is complete. */
'use strict';
(async () => {
  const { el, $, clear, api, yuan, label, idProblem, showError } = AID;
  await AID.boot();
  const book = await AID.rules();
  const params = new URLSearchParams(location.search);
  let caseId = params.get('id');
  let source = null, poll = null, loading = false;

  const beijing = AID.beijing;

  const groupTags = groups => el('span', {}, (groups || []).map(g => {
    const txt = (book.groups || {})[g];
    return el('span', { class: 'tag', title: txt || '', text: `${g} ${label('group', g)}` });
  }));

  function renderPersons(persons) {
    const cols = [
      ['id_masked', '身份证号码'], ['name_masked', '姓名'], ['age', '年龄'],
      ['groups', '救助类别', g => groupTags(g)],
      ['dibao_supplement_fen', '分类施保(月)', f => f ? yuan(f) : '—'],
      ['visit_every', '探访', v => label('visit', v)],
      ['care_category', '关爱类别', c => c ? `${c} 类` : '—'],
    ];
    clear($('#persons')).append(AID.table(cols, persons));
  }

  function measureRows(measures) {
    if (!measures.length) return el('p', { class: 'muted', text: '无救助措施' });
    return AID.table([
      ['code', '措施', c => el('span', { title: c, text: label('measure', c) })],
      ['id_masked', '对象', v => v || '全户'],
      ['amount_fen', '金额', (f, m) => m.form === 'cash' ? el('span', { class: 'amount', text: yuan(f) }) : '—'],
      ['period', '周期·方式', (p, m) => `${label('period', p)}·${label('form', m.form)}`],
    ], measures);
  }

  function renderDepartments(referrals) {
    const box = clear($('#departments'));
    for (const f of referrals) {
      const cash = f.measures.filter(m => m.form === 'cash');
      const total = cash.reduce((s, m) => s + m.amount_fen, 0);
      box.append(el('div', { class: `card dept ${f.status}`, 'data-department': f.department, 'data-status': f.status, 'data-referral': f.referral_id },
        el('h3', {}, el('span', { text: `${label('department', f.department)}` }),
          el('span', { class: `pill ${f.status}`, text: label('status', f.status) })),
        el('div', { class: 'muted' }, `${f.referral_id} · ${f.report_id}`,
          f.decided_at ? ` · 办结于 ${beijing(f.decided_at)}` : ' · 等待部门办理'),
        f.reason ? el('p', {}, '理由:', f.reason) : null,
        f.status === 'pending' ? null : measureRows(f.measures),
        cash.length ? el('p', { class: 'right' }, '现金合计 ', el('span', { class: 'amount', text: yuan(total) })) : null,
        f.rules.length ? el('ul', { class: 'rules' }, f.rules.map(id => AID.ruleNode(id, book))) : null));
    }
    if (!referrals.length) box.append(el('p', { class: 'muted', text: '尚未转介任何部门(报告正在评估)' }));
  }

  const KINDS = { dibao_allowance: '低保金', dibao_supplement: '分类施保金',
                  tekun_support: '特困供养金', care_allowance: '护理补贴' };
  const ENDS = { superseded: '被新决定取代', ended: '停发', moved: '迁出', death: '死亡',
                 income: '渐退期满', other: '停发', merged: '并户' };

  /* Entitlements as a month-by-month timeline: one row per entitlement, one
   * column per month, the amount in yuan where it runs. */
  function renderEntitlements(ents) {
    const box = clear($('#entitlements'));
    if (!ents || !ents.length) { box.append(el('p', { class: 'muted', text: '暂无按月待遇' })); return; }
    let last = AID.thisMonth();
    for (const e of ents) {
      if (e.first_month > last) last = e.first_month;        /* starts next month */
      if (e.last_month && e.last_month > last) last = e.last_month;
    }
    const first = ents.reduce((m, e) => (e.first_month < m ? e.first_month : m), last);
    const months = AID.monthsBack(last, 12).filter(m => m >= first);
    const runs = (e, m) => e.first_month <= m && (!e.last_month || e.last_month >= m);
    const cols = [
      ['kind', '待遇', k => KINDS[k] || k],
      ['id_masked', '对象', v => v || '全户'],
      ['rules', '依据', r => el('span', {}, (r || []).map(id => {
        const rule = (book.rules || {})[id];
        return el('span', { class: 'tag', title: rule ? `${rule.title}:${rule.text}` : id, text: id });
      }))],
    ].concat(months.map(m => [m, m.slice(2).replace('-', '年') + '月',
      (_, e) => runs(e, m) ? el('span', { class: 'amount', text: yuan(e.amount_fen) }) : ''])).concat([
      ['end_reason', '结束', (r, e) => e.last_month ? `${e.last_month} ${ENDS[r] || r || ''}` : '发放中'],
    ]);
    box.append(AID.table(cols, ents));
    const total = m => ents.filter(e => runs(e, m)).reduce((s, e) => s + e.amount_fen, 0);
    box.append(el('p', { class: 'right muted' }, `本月(${AID.thisMonth()})合计 `,
      el('span', { class: 'amount', text: yuan(total(AID.thisMonth())) })));
  }

  function render(c) {
    $('#case').hidden = false;
    $('#title').textContent = `个案 ${c.case_id}`;
    document.title = `个案 ${c.case_id} · 特殊困难群体救助服务`;
    const state = $('#state');
    state.className = 'pill ' + (c.complete ? 'complete' : 'pending');
    state.textContent = c.complete ? '各部门均已办结' : '办理中';
    const decided = c.referrals.filter(f => f.status !== 'pending').length;
    const area = c.area || {};
    $('#print-ledger').href = `household.html?id=${encodeURIComponent(c.case_id)}`;
    $('#where').textContent = `乡镇 ${(area.townships || []).map(AID.place).join('、') || '—'} · 村(居) ${(area.villages || []).map(AID.place).join('、') || '—'}` +
      ` · ${c.referrals.length} 个部门,已办结 ${decided} 个` +
      (area.own_reports_only ? ' · 该户登记在其他乡镇,仅显示本乡镇填报的报告(住址变更待该户所在乡镇确认)' : '');
    renderPersons(c.persons);
    renderEntitlements(c.entitlements);
    renderDepartments(c.referrals);
    $('#case').dataset.complete = c.complete ? 'true' : 'false';
  }

  async function load() {
    if (loading) return;
    loading = true;
    const r = await api('GET', `/api/cases/${encodeURIComponent(caseId)}`);
    loading = false;
    if (!r.ok) { showError($('#error'), r.error); $('#case').hidden = true; return; }
    showError($('#error'), null);
    render(r.result);
    if (r.result.complete) stopPolling();
  }

  function stopPolling() { if (poll) { clearInterval(poll); poll = null; } }

  function follow() {
    if (source) source.close();
    stopPolling();
    poll = setInterval(load, 15000);
    if (!window.EventSource) return;
    source = new EventSource(`/api/cases/${encodeURIComponent(caseId)}/events`);
    const live = $('#live');
    source.addEventListener('hello', () => { live.className = 'live'; live.textContent = '实时更新中'; });
    source.addEventListener('update', () => load());
    source.onerror = () => { live.className = 'live off'; live.textContent = '实时更新重连中…'; };
  }

  async function open(query) {
    if (/^case-\d+$/.test(query)) {
      caseId = query;
      history.replaceState(null, '', `case.html?id=${encodeURIComponent(caseId)}`);
      await load();
      if (!$('#case').hidden) follow();
      return;
    }
    const p = idProblem(query, '');
    if (p) { $('#q-error').textContent = p; return; }
    const r = await api('POST', '/api/cases/lookup', { id_number: query.toUpperCase() });
    if (!r.ok) { showError($('#error'), r.error); $('#case').hidden = true; return; }
    caseId = r.result.case_id;
    history.replaceState(null, '', `case.html?id=${encodeURIComponent(caseId)}`);
    render(r.result);
    follow();
  }

  $('#lookup').addEventListener('submit', ev => {
    ev.preventDefault();
    $('#q-error').textContent = '';
    const q = $('#q').value.trim();
    if (q) open(q);
  });
  if (caseId) { $('#q').value = caseId; open(caseId); }
})();
