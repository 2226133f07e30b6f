/* payroll.js — the county office's monthly payroll (资金发放, R-PAY-MONTHLY;
 * proto/BENEFITS.md): compile a month's payroll for the county or a
 * township, see its control totals and its blocked (no payee) and failed
 * lines, approve it as a second person (the server refuses its maker), download the
 * bank's file, upload the bank's returns. No account number is ever shown. */
'use strict';
(async () => {
  const { el, $, clear, api, yuan, showError } = AID;
  const user = await AID.boot();
  const me = user.display_name ? `${user.display_name}(${user.username})` : user.username;
  const names = await AID.places();
  for (const code of Object.keys(names).filter(c => /^\d{9}$/.test(c)).sort())
    $('#township').append(el('option', { value: code, text: AID.place(code) }));
  const p = new URLSearchParams(location.search);
  $('#month').value = p.get('month') || AID.thisMonth();
  let run = null;

  const STATUS = { blocked: '受阻:未登记收款账户', failed: '发放失败', paid: '已发放', due: '待银行回盘' };
  const KIND = { regular: '本月', carried: '补发(上月转入)' };
  const stat = (n, t) => el('div', { class: 'stat' }, el('div', { class: 'n', text: n }), el('div', { class: 't', text: t }));

  async function open(id) {
    const r = await api('GET', `/api/payroll/runs/${encodeURIComponent(id)}`);
    showError($('#error'), r.ok ? null : r.error);
    $('#view').hidden = !r.ok;
    if (!r.ok) return;
    run = r.result;
    history.replaceState(null, '', `?run=${run.run_id}`);
    $('#run_id').value = run.run_id;
    const s = run.settled || {};
    $('#title').textContent = `第 ${run.run_id} 批 · ${run.month} · ${run.township ? AID.place(run.township) : '全县'}`;
    const state = run.approved_by ? (run.filed ? '已审核 · 银行文件已生成' : '已审核') : '待审核';
    $('#state').textContent = state;
    $('#state').className = 'pill ' + (run.approved_by ? 'granted' : 'pending');
    clear($('#totals')).append(
      stat(run.lines, '应发户数(控制总数)'), stat(yuan(run.total_fen), '应发金额(控制总数)'),
      stat(run.blocked, '受阻户数(未登记收款账户)'),
      stat(`${s.paid || 0} · ${yuan(s.paid_fen || 0)}`, '已发放'),
      stat(`${s.failed || 0} · ${yuan(s.failed_fen || 0)}`, '发放失败(转入下月补发)'));
    $('#people').textContent = `编制人:${run.by} · 审核人:${run.approved_by || '尚未审核(须由编制人以外的另一人审核)'}`;
    const approve = $('#approve');
    approve.hidden = !!run.approved_by;
    approve.title = run.by === me ? '您是本批次的编制人,不能审核自己编制的名册' : '';
    showError($('#approve-error'), null);
    const file = $('#file');
    file.hidden = !run.approved_by;
    file.href = `/api/payroll/runs/${run.run_id}/file`;
    $('#returns').hidden = !run.approved_by;
    const rows = run.problems || [];
    clear($('#problems')).append(AID.table([
      ['line_id', '明细编号'], ['case_id', '个案', c => el('a', { href: `case.html?id=${encodeURIComponent(c)}`, text: c })],
      ['month', '所属月份'], ['amount_fen', '金额', f => yuan(f)], ['kind', '类别', k => KIND[k] || k],
      ['status', '状态', x => STATUS[x] || x], ['reason', '银行退回原因'],
    ], rows, '没有受阻或发放失败的明细'));
    $('#view').dataset.ready = 'true';
  }

  $('#run').addEventListener('submit', async ev => {
    ev.preventDefault();
    const form = $('#run');
    const body = { month: $('#month').value };
    if ($('#township').value) body.township = $('#township').value;
    const r = await AID.submitForm(form, '/api/payroll/runs', body, () => {});
    if (r.ok) { open(r.result.run_id); return; }
    /* the month's payroll was compiled before: offer that run */
    const m = r.error && r.error.code === 'conflict' && /run (\d+)$/.exec(r.error.message_en || '');
    if (m) {
      const box = form.querySelector('.error-box');
      box.append(' ', el('button', { type: 'button', class: 'link', text: `打开第 ${m[1]} 批`, onclick: () => open(m[1]) }));
    }
  });
  $('#open').addEventListener('submit', ev => { ev.preventDefault(); if ($('#run_id').value.trim()) open($('#run_id').value.trim()); });
  $('#approve').addEventListener('click', async () => {
    const btn = $('#approve');
    btn.disabled = true;
    const r = await api('POST', `/api/payroll/runs/${run.run_id}/approve`, {}, { key: AID.formKey() });
    btn.disabled = false;
    showError($('#approve-error'), r.ok ? null : r.error);
    if (r.ok) open(run.run_id);
  });
  $('#returns').addEventListener('submit', async ev => {
    ev.preventDefault();
    const form = $('#returns');
    const f = $('#returns-file').files[0];
    if (!f) { AID.fieldError(form, { field: 'csv', message: '请选择银行回盘文件' }); return; }
    const csv = await f.text();
    const r = await AID.submitForm(form, `/api/payroll/runs/${run.run_id}/returns`, { csv }, (res, box) => {
      box.append(el('p', { text: `已登记:已发放 ${res.paid} 笔,发放失败 ${res.failed} 笔(转入下月补发)` }),
        AID.table([['line_id', '明细编号'], ['status', '结果', x => STATUS[x] || x], ['reason', '银行退回原因']], res.lines));
    });
    if (r.ok) {
      const box = form.querySelector('.ok-box');
      await open(run.run_id);
      box.hidden = false;
    }
  });
  if (p.get('run')) open(p.get('run'));
})();
