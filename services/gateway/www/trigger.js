/* trigger.js — an event from another bureau (trigger.submit): a disaster
 * over townships or villages, or one person's medical expense,
 * unemployment, disability or death. County officers only. */
'use strict';
(async () => {
  const { $, $$, toFen, idProblem } = AID;
  await AID.boot();
  const form = $('#trigger');
  function shape() {
    const kind = $('#kind').value;
    $('#disaster-fields').hidden = kind !== 'disaster';
    $('#person-fields').hidden = kind === 'disaster';
    $$('[data-for]', form).forEach(l => { l.hidden = l.dataset.for !== kind; });
    $('#occurred_on').closest('label').hidden = kind === 'medical_expense';
  }
  $('#kind').addEventListener('change', shape);
  shape();
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const kind = $('#kind').value;
    const body = { kind };
    if (kind !== 'medical_expense' && $('#occurred_on').value) body.occurred_on = $('#occurred_on').value;
    if (kind === 'disaster') {
      body.areas = $('#areas').value.split(/[,,\s]+/).filter(Boolean);
      body.hazard = $('#hazard').value;
    } else {
      const id = $('#id_number').value.trim().toUpperCase();
      const p = idProblem(id, '');
      if (p) { AID.fieldError(form, { field: 'id_number', message: p }); return; }
      body.id_number = id;
      if (kind === 'medical_expense') {
        body.expense_fen = toFen($('#expense').value);
        body.months = parseInt($('#months').value, 10) || 0;
      }
      if (kind === 'disability') {
        body.disability_grade = parseInt($('#disability_grade').value, 10);
        body.disability_kind = $('#disability_kind').value;
      }
    }
    await AID.submitForm(form, '/api/triggers', body, (res, box) => {
      box.append(`已受理(${res.trigger_id}),涉及 ${res.cases} 个个案。`);
      if (res.case_id) box.append(' ', AID.el('a', { href: `case.html?id=${encodeURIComponent(res.case_id)}`, text: `查看 ${res.case_id}` }));
    });
  });
})();
