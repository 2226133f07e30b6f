/* household.js — the per-household ledger (台账) that prints: the case's
 * area with place names, its members masked, every referral with its status
 * and time (UTC+8), the decisions with Chinese measure names and amounts in
 * yuan, and the cited rules in the plan's own words (rules.json). Reading it
 * is a case read: the gateway writes it to the audit trail. */
'use strict';
(async () => {
  const { el, $, clear, api, yuan, label, showError } = AID;
  await AID.boot();
  const book = await AID.rules();
  const params = new URLSearchParams(location.search);

  function render(c) {
    const sheet = $('#sheet');
    sheet.hidden = false;
    const area = c.area || {};
    const list = (xs) => (xs || []).map(AID.place).join('、') || '—';
    document.title = `家庭台账 ${c.case_id} · 特殊困难群体救助服务`;
    $('#sheet-title').textContent = `特殊困难群体救助服务家庭台账(${c.case_id})`;
    const head = clear($('#head'));
    const kv = (k, v) => head.append(el('tr', {}, el('th', { text: k }), el('td', { text: v })));
    kv('乡镇', list(area.townships));
    kv('村(居)', list(area.villages));
    kv('家庭人数', String((c.persons || []).length));
    kv('办理状态', c.complete ? '各部门均已办结' : '办理中');
    kv('打印时间', AID.beijing(new Date().toISOString()));

    clear($('#members')).append(AID.table([
      ['id_masked', '身份证号码'], ['name_masked', '姓名'], ['age', '年龄'],
      ['groups', '救助类别', g => (g || []).map(x => `${x} ${label('group', x)}`).join('、') || '—'],
      ['dibao_supplement_fen', '分类施保(元/月)', f => f ? yuan(f, false) : '—'],
      ['visit_every', '探访', v => label('visit', v)],
      ['care_category', '关爱类别', x => x ? `${x} 类` : '—'],
    ], c.persons));

    const refs = c.referrals || [];
    clear($('#referrals')).append(AID.table([
      ['referral_id', '转介编号'], ['department', '部门', d => label('department', d)],
      ['status', '状态', s => label('status', s)],
      ['decided_at', '办结时间', t => t ? AID.beijing(t) : '—'],
      ['reason', '理由', x => x || '—'],
    ], refs, '尚未转介任何部门'));

    const rows = [];
    for (const f of refs) {
      for (const m of f.measures || []) rows.push(Object.assign({ department: f.department }, m));
    }
    const cash = rows.filter(m => m.form === 'cash');
    const total = cash.reduce((s, m) => s + m.amount_fen, 0);
    clear($('#decisions')).append(AID.table([
      ['department', '部门', d => label('department', d)],
      ['code', '救助措施', x => label('measure', x)],
      ['id_masked', '对象', v => v || '全户'],
      ['amount_fen', '金额(元)', (f, m) => m.form === 'cash' ? el('span', { class: 'amount', text: yuan(f, false) }) : '—'],
      ['period', '周期·方式', (p, m) => `${label('period', p)}·${label('form', m.form)}`],
    ], rows, '暂无救助措施'),
    el('p', { class: 'right' }, '现金合计(元):', el('span', { class: 'amount', id: 'total', text: yuan(total, false) })));

    const ids = [...new Set(refs.flatMap(f => f.rules || []))].sort();
    clear($('#rules')).append(...ids.map(id => AID.ruleNode(id, book)));
    sheet.dataset.ready = 'true';
  }

  async function open(id) {
    if (!/^case-\d+$/.test(id)) {
      showError($('#error'), { code: 'invalid_field', field: 'case_id', message: '个案编号应为 case- 加数字' });
      return;
    }
    history.replaceState(null, '', `household.html?id=${encodeURIComponent(id)}`);
    const r = await api('GET', `/api/cases/${encodeURIComponent(id)}`);
    showError($('#error'), r.ok ? null : r.error);
    if (!r.ok) { $('#sheet').hidden = true; return; }
    render(r.result);
  }

  $('#lookup').addEventListener('submit', ev => { ev.preventDefault(); open($('#q').value.trim()); });
  $('#print').addEventListener('click', () => window.print());
  if (params.get('id')) { $('#q').value = params.get('id'); open(params.get('id')); }
})();
