/* cases.js — the case list of a township or village, searched by name or ID number
 * (case.search through POST /api/case-list: no ID number in a URL). Results are
 * masked; every search is in the audit trail. A township caseworker sees their own
 * township only (the gateway sets it). */
'use strict';
(async () => {
  const { el, $, clear, api } = AID;
  const user = await AID.boot();
  if (user.role === 'township') { $('#township').value = user.scope; $('#township').disabled = true; }
  async function load() {
    const body = {};
    for (const k of ['township', 'village', 'name', 'id_number']) {
      const v = $('#' + k).value.trim();
      if (v && !(k === 'township' && user.role === 'township')) body[k] = k === 'id_number' ? v.toUpperCase() : v;
    }
    const r = await api('POST', '/api/case-list', body);
    AID.fieldError($('#query'), r.ok ? null : r.error);
    AID.showError($('#error'), r.ok ? null : r.error);
    const box = clear($('#list'));
    if (!r.ok) return;
    const rows = r.result.cases || [];
    box.append(el('p', { class: 'muted', text: `共 ${rows.length} 户${r.result.more ? '(还有更多,请缩小范围)' : ''}` }));
    box.append(AID.table([
      ['case_id', '案件', v => el('a', { href: `case.html?id=${encodeURIComponent(v)}`, text: v })],
      ['township', '乡镇', v => AID.place(v)], ['village', '村(社区)', v => AID.place(v)],
      ['name_masked', '户主'], ['id_masked', '身份证号码'], ['members', '人数']], rows, '没有符合条件的案件'));
    box.dataset.ready = 'true';
  }
  $('#query').addEventListener('submit', ev => { ev.preventDefault(); load(); });
  load();
})();
