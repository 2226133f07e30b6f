/* complaints.js — register a complaint, look one up by its tracking number
 * and move it on (registered → investigating → resolved), R-COMPLAINT. The
 * gateway records who did each step from the session. */
'use strict';
(async () => {
  const { el, $, clear, api, showError, submitForm } = AID;
  const user = await AID.boot();
  if (user.role === 'auditor') $('#new').hidden = true;
  const STATUS = { registered: '已登记', investigating: '调查中', resolved: '已办结' };
  const CHANNEL = { hotline: '服务热线', mailbox: '意见箱', visit: '来访', online: '网上' };

  $('#new').addEventListener('submit', async ev => {
    ev.preventDefault();
    const body = { channel: $('#channel').value, text: $('#text').value.trim() };
    if ($('#case_id').value.trim()) body.case_id = $('#case_id').value.trim();
    await submitForm($('#new'), '/api/complaints', body, (res, box) => {
      box.append('已登记,受理编号 ', el('strong', { id: 'new-tracking', text: res.tracking_no }));
      $('#tracking_no').value = res.tracking_no;
      show(res.tracking_no);
    });
  });

  async function show(no) {
    const r = await api('GET', `/api/complaints/${encodeURIComponent(no)}`);
    showError($('#find-error'), r.ok ? null : r.error);
    const box = clear($('#complaint'));
    if (!r.ok) return;
    const c = r.result;
    box.append(...[
      el('p', {}, el('strong', { text: c.tracking_no }), ` · ${CHANNEL[c.channel] || c.channel} · ${AID.beijing(c.submitted_at)} · `,
        el('span', { class: 'pill ' + (c.status === 'resolved' ? 'granted' : 'pending'), text: STATUS[c.status] || c.status })),
      c.case_id ? el('p', {}, '相关个案:', el('a', { href: `case.html?id=${encodeURIComponent(c.case_id)}`, text: c.case_id })) : null,
      el('p', { text: c.text }),
      AID.table([['step', '步骤'], ['status', '状态', s => STATUS[s] || s], ['by', '经办人'], ['note', '说明'],
        ['at', '时间', AID.beijing]], c.steps)].filter(Boolean));
    if (c.status !== 'resolved' && user.role !== 'auditor') {
      const form = el('div', { class: 'card' },
        el('h3', { text: '办理' }),
        el('label', { class: 'f' }, '下一步', el('select', { id: 'next', 'data-path': 'status' },
          el('option', { value: 'investigating', text: '调查中' }), el('option', { value: 'resolved', text: '已办结' }))),
        el('label', { class: 'f' }, '说明', el('input', { id: 'note', 'data-path': 'note', maxlength: 250 })),
        el('div', { class: 'error-box', id: 'step-error', hidden: true }),
        el('button', { type: 'button', class: 'primary', id: 'step', text: '提交' }));
      box.append(form);
      $('#step').addEventListener('click', async () => {
        const r2 = await api('POST', `/api/complaints/${encodeURIComponent(no)}`,
          { status: $('#next').value, note: $('#note').value.trim() }, { key: AID.formKey() });
        showError($('#step-error'), r2.ok ? null : r2.error);
        if (r2.ok) show(no);
      });
    }
  }
  $('#find').addEventListener('submit', ev => {
    ev.preventDefault();
    const no = $('#tracking_no').value.trim();
    if (no) show(no);
  });
})();
