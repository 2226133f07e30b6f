/* ledger.js — the monthly ledger (R-LEDGER-MONTHLY): figures by section,
 * the 28th deadline, the CSV a township sends, and sending it. */
'use strict';
(async () => {
  const { el, $, clear, api, yuan, label, showError } = AID;
  const user = await AID.boot();
  const p = new URLSearchParams(location.search);
  $('#month').value = p.get('month') || AID.thisMonth();
  const township = $('#township');
  township.value = user.role === 'township' ? user.scope : (p.get('township') || '');
  township.readOnly = user.role === 'township';
  if (user.role !== 'auditor') $('#submit-ledger').hidden = false;

  const SECTION = { groups: '救助对象(按类别,人)', visits: '探访', decisions: '部门办理(件)', measures: '救助措施与金额', central_care: '特困集中供养',
    benefits: '保障待遇发放' };
  const ITEM = { due: '应探访', done: '已探访', rate_pct: '探访率(%)', recorded: '探访记录数', centralized: '集中供养(人)',
    dispersed: '分散供养(人)', target_pct: '目标集中供养率(%)' };
  const BENEFIT = { households: '保障户数', persons: '保障人数', owed: '应发(户)', paid: '已发放(笔)', failed: '发放失败(笔)',
    rechecks_due: '应复核', rechecks_overdue: '逾期未复核', rechecks_done: '已复核', 'exit.death': '退出 · 死亡',
    'exit.income': '退出 · 收入超标(渐退期满)', 'exit.moved': '退出 · 迁出本户', 'exit.merged': '退出 · 合并案件',
    'exit.ended': '退出 · 不再符合', 'exit.other': '退出 · 其他' };
  const itemText = (section, item) => {
    if (section === 'groups') return item === 'any' ? '合计(按人去重)' : `${item} ${label('group', item)}`;
    if (section === 'decisions') { const [d, s] = item.split('.'); return `${label('department', d)} · ${label('status', s)}`; }
    if (section === 'measures') return label('measure', item);
    if (section === 'central_care' && item === 'rate_pct') return '集中供养率(%)';
    if (section === 'benefits') return BENEFIT[item] || item;
    return ITEM[item] || item;
  };
  const q = () => `month=${encodeURIComponent($('#month').value)}` +
    (township.value.trim() ? `&township=${encodeURIComponent(township.value.trim())}` : '');

  async function load() {
    $('#csv').href = `/api/ledger.csv?${q()}`;
    const r = await api('GET', `/api/ledger?${q()}`);
    const box = clear($('#sections'));
    showError($('#error'), r.ok ? null : r.error);
    if (!r.ok) return;
    const res = r.result;
    const dl = $('#deadline');
    dl.hidden = false;
    const late = !res.submitted && AID.today() > res.due_on;
    dl.className = late ? 'error-box' : 'ok-box';
    dl.textContent = `${res.month} 台账报送截止日:${res.due_on}(每月 28 日前报送县民政局)· ` +
      (res.submitted ? '已报送' : late ? '已逾期未报送' : '尚未报送');
    if (res.missing) {   /* the county's view: who has not submitted */
      const towns = res.missing.townships || [], depts = res.missing.departments || [];
      dl.textContent += `。未报送的乡镇(${towns.length}):${towns.map(t => AID.place(t)).join('、') || '无'};` +
        `未报送的部门(${depts.length}):${depts.map(d => label('department', d)).join('、') || '无'}`;
    }
    const rows = res.rows || [];
    for (const [sec, title] of Object.entries(SECTION)) {
      const part = rows.filter(x => x.section === sec);
      if (!part.length) continue;
      const cols = [['township', '乡镇', AID.place], ['item', '项目', (i, x) => itemText(x.section, i)], ['count', '数量']];
      if (sec === 'measures' || sec === 'benefits') cols.push(['amount_fen', '金额', f => yuan(f)]);
      box.append(el('div', { class: 'card' }, el('h2', { text: title }), AID.table(cols, part)));
    }
    if (!rows.length) box.append(el('p', { class: 'muted card', text: '本月没有台账数据' }));
  }

  $('#query').addEventListener('submit', ev => { ev.preventDefault(); load(); });
  $('#submit-ledger').addEventListener('click', async () => {
    if (!township.value.trim()) { showError($('#error'), { code: 'invalid_field', field: 'township', message: '请先填写乡镇代码' }); return; }
    const r = await api('POST', '/api/ledger/submit', { month: $('#month').value, township: township.value.trim() },
      { key: AID.formKey() });
    showError($('#error'), r.ok ? null : r.error);
    if (r.ok) load();
  });
  load();
})();
