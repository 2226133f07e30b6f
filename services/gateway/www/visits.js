/* visits.js — visits due and overdue for a township (visits.due), recording
 * a visit (visit.record) and scoring a tekun person's caregiver
 * (caregiver.score, R-CAREGIVER). */
'use strict';
(async () => {
  const { el, $, clear, api, label, showError, submitForm, idProblem } = AID;
  const user = await AID.boot();
  const township = $('#township');
  township.value = user.role === 'township' ? user.scope : (localStorage.getItem('aid.township') || '');
  township.readOnly = user.role === 'township';
  if (user.role === 'auditor') { $('#visit').hidden = true; $('#score').hidden = true; }
  $('#v_on').value = AID.today();
  $('#v_visitor').value = user.display_name || user.username;
  $('#s_month').value = AID.thisMonth();

  async function load() {
    if (!township.value.trim()) return;
    const qs = `township=${encodeURIComponent(township.value.trim())}` +
      ($('#before').value ? `&before=${$('#before').value}` : '');
    const r = await api('GET', `/api/visits/due?${qs}`);
    showError($('#error'), r.ok ? null : r.error);
    const box = clear($('#due'));
    if (!r.ok) return;
    const v = r.result.visits || [];
    box.append(el('p', { class: 'muted', text: `截至 ${r.result.before}(不含):应探访 ${v.length} 人,其中逾期 ${v.filter(x => x.overdue).length} 人` }),
      AID.table([['id_masked', '身份证号码'], ['name_masked', '姓名'], ['village', '村', AID.place], ['every', '频次', e => label('visit', e)],
        ['due_on', '应探日期'], ['overdue', '状态', o => el('span', { class: 'pill ' + (o ? 'denied' : 'pending'), text: o ? '逾期' : '待探访' })]], v));
  }
  $('#query').addEventListener('submit', ev => { ev.preventDefault(); load(); });

  const idCheck = (input) => {
    const p = idProblem(input.value.trim(), '');
    AID.fieldError(input.form, p ? { field: input.dataset.path, message: p } : null);
    return !p;
  };

  $('#visit').addEventListener('submit', async ev => {
    ev.preventDefault();
    if (!idCheck($('#v_id'))) return;
    const body = {
      id_number: $('#v_id').value.trim().toUpperCase(), visited_on: $('#v_on').value, visitor: $('#v_visitor').value.trim(),
      method: $('#v_method').value, living: $('#v_living').value, health: $('#v_health').value.trim(),
      care: $('#v_care').value.trim(), needs: $('#v_needs').value.trim(), symptoms: $('#v_symptoms').checked,
    };
    await submitForm($('#visit'), '/api/visits', body, (res, box) => {
      box.append(`已登记(${res.visit_id}),下次应于 ${res.next_due_on || '—'} 前探访。`,
        res.report_id ? ` 生活状况危急,已自动提交紧急报告 ${res.report_id}。` : '');
      load();
    });
  });

  $('#score').addEventListener('submit', async ev => {
    ev.preventDefault();
    if (!idCheck($('#s_id'))) return;
    const score = $('#s_score').value.trim();
    if (!/^\d{1,3}$/.test(score)) { AID.fieldError($('#score'), { field: 'score', message: '评分为 0–100 的整数' }); return; }
    const body = { id_number: $('#s_id').value.trim().toUpperCase(), month: $('#s_month').value,
      caregiver: $('#s_caregiver').value.trim(), score: parseInt(score, 10) };
    await submitForm($('#score'), '/api/caregiver-scores', body, (res, box) => {
      box.append(res.passed ? `合格(${res.score} 分,合格线 ${res.pass_mark})。`
        : `不合格(${res.score} 分,合格线 ${res.pass_mark}):已撤换照料护理人,并已建立另寻照料人的任务。`);
    });
  });
  load();
})();
