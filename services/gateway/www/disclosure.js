/* disclosure.js — the public list for a village notice board (R-DISCLOSE):
 * masked names, household size, aid and amount; no ID numbers. Printable. */
'use strict';
(async () => {
  const { $, clear, api, yuan, label, showError } = AID;
  const user = await AID.boot();
  $('#month').value = AID.thisMonth();
  if (user.role === 'township') $('#village').value = user.scope;
  $('#print').addEventListener('click', () => window.print());
  $('#query').addEventListener('submit', async ev => {
    ev.preventDefault();
    const village = $('#village').value.trim(), month = $('#month').value;
    const r = await api('GET', `/api/disclosure?village=${encodeURIComponent(village)}&month=${encodeURIComponent(month)}`);
    showError($('#error'), r.ok ? null : r.error);
    if (!r.ok) { $('#sheet').hidden = true; return; }
    $('#sheet').hidden = false;
    const [y, m] = month.split('-');
    $('#sheet-title').textContent = `村(居)${AID.place(village)} ${y} 年 ${+m} 月救助对象公示名单`;
    clear($('#rows')).append(AID.table([
      ['name_masked', '姓名'], ['household_size', '家庭人口'],
      ['measure', '救助类型', c => label('measure', c)], ['amount_fen', '金额', f => yuan(f)],
    ], r.result.rows, '本月没有需要公示的救助'));
  });
})();
