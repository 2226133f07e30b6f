/* dashboard.js — the township dashboard: this month's ledger figures, visits
 * due and overdue, overdue referrals (and a department's own pending ones),
 * and two charts: persons by group, and cash aid by department over six
 * months (ledger.monthly, one request per month). */
'use strict';
(async () => {
  const { el, $, clear, api, yuan, label } = AID;
  const user = await AID.boot();
  const township = $('#township');
  $('#month').value = AID.thisMonth();
  if (user.role === 'township') {
    township.value = user.scope;
    township.readOnly = true;
  } else {
    township.value = localStorage.getItem('aid.township') || '';
  }
  const seesLedger = ['township', 'county', 'auditor'].includes(user.role);
  if (!seesLedger) {
    for (const id of ['#ledger-card', '#visits-card']) $(id).hidden = true;
    $('#chart-groups').closest('.cards').hidden = true;
    $('#scope-bar').hidden = true;
  }
  if (user.role === 'department') $('#pending-card').hidden = false;

  const q = (o) => Object.entries(o).filter(([, v]) => v).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  const figure = (n, t) => el('div', { class: 'stat' }, el('div', { class: 'n', text: n }), el('div', { class: 't', text: t }));
  const sum = (rows, section, item) => rows.filter(r => r.section === section && (!item || r.item === item))
    .reduce((a, r) => ({ count: a.count + r.count, amount: a.amount + r.amount_fen }), { count: 0, amount: 0 });

  async function ledger(month) {
    return api('GET', `/api/ledger?${q({ month, township: township.value.trim() })}`);
  }

  async function loadLedger() {
    const box = $('#ledger-card .body');
    const r = await ledger($('#month').value);
    if (!r.ok) { AID.notYet(box, r.error); return null; }
    const rows = r.result.rows || [];
    const visits = sum(rows, 'visits', 'due'), done = sum(rows, 'visits', 'done');
    const rate = visits.count ? Math.round((done.count * 100) / visits.count) + '%' : '—';
    const cash = sum(rows, 'measures');
    clear(box).append(
      el('div', { class: 'stats' },
        figure(sum(rows, 'groups', 'any').count, '救助对象(人)'),
        figure(`${done.count}/${visits.count}`, '本月探访 完成/应探'),
        figure(rate, '探访率'),
        figure(yuan(cash.amount, false), '救助金额(元)')),
      el('p', { class: 'muted' }, `报送截止:${r.result.due_on || '—'} · `,
        r.result.submitted ? '已报送县民政局' : '尚未报送', ' · ',
        el('a', { href: `ledger.html?${q({ month: $('#month').value, township: township.value.trim() })}`, text: '查看台账' })));
    return rows;
  }

  async function loadVisits() {
    const box = $('#visits-card .body');
    if (!township.value.trim()) { clear(box).append(el('p', { class: 'muted', text: '输入乡镇代码后查看该乡镇的探访计划。' })); return; }
    const r = await api('GET', `/api/visits/due?${q({ township: township.value.trim() })}`);
    if (!r.ok) { AID.notYet(box, r.error); return; }
    const visits = r.result.visits || [];
    const overdue = visits.filter(v => v.overdue);
    clear(box).append(
      el('div', { class: 'stats' }, figure(visits.length, '今日应探访'), figure(overdue.length, '已逾期')),
      AID.table([['name_masked', '姓名'], ['village', '村', AID.place], ['every', '频次', v => label('visit', v)],
        ['due_on', '应探日期'], ['overdue', '', o => o ? el('span', { class: 'pill denied', text: '逾期' }) : '']],
        overdue.concat(visits.filter(v => !v.overdue)).slice(0, 8), '没有到期的探访'),
      el('p', {}, el('a', { href: 'visits.html', text: '全部探访计划 →' })));
  }

  async function loadOverdue() {
    const box = $('#overdue-card .body');
    const r = await api('GET', `/api/referrals/overdue?${q({ township: user.role === 'department' ? '' : township.value.trim() })}`);
    if (!r.ok) { AID.notYet(box, r.error); return; }
    const list = r.result.referrals || [];
    clear(box).append(
      el('div', { class: 'stats' }, figure(list.length, '超期未办结'), figure(list.filter(x => x.urgent).length, '其中紧急')),
      AID.table([['case_id', '个案', c => el('a', { href: `case.html?id=${encodeURIComponent(c)}`, text: c })],
        ['department', '部门', d => label('department', d)], ['deadline', '期限'],
        ['working_days_overdue', '超期(工作日)']], list.slice(0, 8), '没有超期转介'));
  }

  async function loadPending() {
    const box = $('#pending-card .body');
    const r = await api('GET', '/api/referrals/pending?limit=200');
    if (!r.ok) { AID.notYet(box, r.error); return; }
    const list = r.result.referrals || [];
    clear(box).append(el('div', { class: 'stats' }, figure(list.length + (r.result.more ? '+' : ''), '待办转介')),
      el('p', {}, el('a', { href: 'referrals.html', text: '去办理 →' })));
  }

  async function charts(rowsNow) {
    if (!rowsNow) return;
    const groups = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'S10', 'M1', 'M2', 'O1'];
    AIDChart.bars($('#chart-groups'), {
      labels: groups, series: [{ name: '人数', values: groups.map(g => sum(rowsNow, 'groups', g).count) }],
    });
    const months = AID.monthsBack($('#month').value, 6);
    const results = await Promise.all(months.map(m => ledger(m)));
    const depts = Object.keys(AID.L.department);
    const series = depts.map(d => ({
      name: label('department', d),
      values: results.map(r => r.ok ? (r.result.rows || [])
        .filter(x => x.section === 'measures' && x.item.split('.')[0] === d)
        .reduce((a, x) => a + x.amount_fen, 0) : 0),
    })).filter(s => s.values.some(v => v > 0));
    if (!series.length) { clear($('#chart-departments')).append(el('p', { class: 'muted', text: '近 6 个月没有现金救助记录' })); return; }
    AIDChart.bars($('#chart-departments'), {
      labels: months.map(m => m.slice(2).replace('-', '/')), series, format: f => Math.round(f / 100).toLocaleString('zh-CN'),
    });
  }

  async function refresh() {
    if (user.role !== 'township') localStorage.setItem('aid.township', township.value.trim());
    const jobs = [loadOverdue()];
    if (user.role === 'department') jobs.push(loadPending());
    if (seesLedger) jobs.push(loadLedger().then(charts), loadVisits());
    await Promise.all(jobs);
  }
  $('#refresh').addEventListener('click', refresh);
  refresh();
})();
