/* audit.js — the audit trail (append-only): who, when, what, which case. */
'use strict';
(async () => {
  const { $, clear, api, showError } = AID;
  await AID.boot();
  const ACTION = { 'case.read': '查看个案', 'report.submit': '提交报告', 'decision.submit': '录入决定', login: '登录',
    logout: '退出', password: '修改密码', 'referrals.read': '查看待办转介', 'visits.read': '查看探访名单',
    'visit.record': '登记探访', 'caregiver.score': '照料人评分', 'complaint.submit': '登记投诉',
    'complaint.update': '办理投诉', 'trigger.submit': '部门触发', 'ledger.submit': '报送台账',
    'review.read': '查看审核待办', 'review.step': '审核审批步骤',
    'case.search': '查询案件名册' };
  async function load() {
    const p = new URLSearchParams();
    if ($('#case_id').value.trim()) p.set('case_id', $('#case_id').value.trim());
    if ($('#username').value.trim()) p.set('username', $('#username').value.trim());
    p.set('limit', '200');
    const r = await api('GET', `/api/audit?${p}`);
    showError($('#error'), r.ok ? null : r.error);
    if (!r.ok) return;
    clear($('#rows')).append(AID.table([['at', '时间'], ['username', '用户'], ['role', '角色', x => AID.label('role', x)],
      ['action', '操作', a => ACTION[a] || a], ['case_id', '个案'], ['detail', '详情'], ['client', '地址']], r.result.rows));
  }
  const q = new URLSearchParams(location.search);
  if (q.get('case_id')) $('#case_id').value = q.get('case_id');
  $('#query').addEventListener('submit', ev => { ev.preventDefault(); load(); });
  load();
})();
