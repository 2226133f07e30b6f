/* referrals.js — a department's pending referrals (referrals.pending) and,
 * for its officer, recording the department's decision (decision.submit):
 * status, reason, measures (amounts typed in yuan, sent in fen) and the
 * POLICY.md rules that produced it. County officers and auditors read only. */
'use strict';
(async () => {
  const { el, $, $$, clear, api, yuan, label, toFen, showError } = AID;
  const user = await AID.boot();
  const book = await AID.rules();
  const sel = $('#department');
  for (const [k, v] of Object.entries(AID.L.department)) sel.append(el('option', { value: k, text: v }));
  if (user.role === 'department') { sel.value = user.scope; sel.disabled = true; }
  const canDecide = user.role === 'department';
  const HOUSEHOLD = { S: 'S 特殊困难家庭', M: 'M 边缘困难家庭', O: 'O 其他困难家庭', none: '无' };
  const ruleIds = Object.keys(book.rules || {}).sort();
  $('main').append(el('datalist', { id: 'rule-ids' }, ruleIds.map(id => el('option', { value: id, text: book.rules[id].title }))));

  function measureRow(dept, persons) {
    const codes = (book.measures || {})[dept] || [];
    return el('div', { class: 'row measure' },
      el('label', { class: 'f' }, '措施', el('select', { 'data-key': 'code' },
        codes.map(c => el('option', { value: c, text: label('measure', c) })))),
      el('label', { class: 'f' }, '对象', el('select', { 'data-key': 'person' },
        el('option', { value: '', text: '全户' }),
        persons.map(p => el('option', { value: String(p.index), text: `${p.index + 1}. ${p.id_masked}` })))),
      el('label', { class: 'f' }, '金额(元,非现金填 0)', el('input', { 'data-key': 'amount', value: '0', inputmode: 'decimal' })),
      el('button', { type: 'button', class: 'small', text: '删除', onclick: ev => ev.target.closest('.measure').remove() }));
  }

  function decisionForm(f) {
    const form = el('form', { class: 'decision', novalidate: true },
      el('h3', { text: '录入本部门决定' }),
      el('div', { class: 'error-box', hidden: true }),
      el('div', { class: 'ok-box', hidden: true }),
      el('div', { class: 'row' },
        el('label', { class: 'f' }, '决定', el('select', { 'data-path': 'status', name: 'status' },
          el('option', { value: 'granted', text: '批准' }), el('option', { value: 'denied', text: '不予救助' }),
          el('option', { value: 'referred', text: '转介其他机构' }))),
        el('label', { class: 'f wide' }, '理由(不予救助、转介时必填)', el('input', { 'data-path': 'reason', name: 'reason', maxlength: 250 })),
        el('label', { class: 'f wide' }, '依据规则(逗号分隔)', el('input', { 'data-path': 'rules', name: 'rules', list: 'rule-ids', placeholder: 'R-HOUSE-S' }))),
      el('div', { class: 'measures' }),
      el('p', {}, el('button', { type: 'button', class: 'small add', text: '+ 添加措施' }), ' ',
        el('button', { type: 'submit', class: 'primary', text: '提交决定' })));
    const persons = f.persons || [];
    form.querySelector('.add').addEventListener('click', () => form.querySelector('.measures').append(measureRow(f.department, persons)));
    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      const measures = [];
      let bad = null;
      $$('.measure', form).forEach((row, i) => {
        const amount = toFen(row.querySelector('[data-key=amount]').value);
        if (amount === null) bad = { code: 'invalid_field', field: `measures[${i}].amount_fen`, message: '金额格式不正确' };
        const m = { code: row.querySelector('[data-key=code]').value, amount_fen: amount || 0 };
        const p = row.querySelector('[data-key=person]').value;
        if (p !== '') m.person = parseInt(p, 10);
        measures.push(m);
      });
      if (bad) { showError(form.querySelector('.error-box'), bad); return; }
      const body = {
        case_id: f.case_id, referral_id: f.referral_id, status: form.status.value,
        reason: form.reason.value.trim(), measures,
        rules: form.rules.value.split(/[,,\s]+/).filter(Boolean),
      };
      await AID.submitForm(form, '/api/decisions', body, (res, box) => {
        box.append(`已记录:${label('status', res.status)}${res.duplicate ? '(重复提交,未重复记录)' : ''}。`);
        form.querySelector('button[type=submit]').disabled = true;
      });
    });
    return form;
  }

  async function load() {
    const dept = sel.value;
    const r = await api('GET', `/api/referrals/pending?department=${encodeURIComponent(dept)}&limit=100`);
    showError($('#error'), r.ok ? null : r.error);
    const box = clear($('#list'));
    if (!r.ok) return;
    const list = r.result.referrals || [];
    box.append(el('p', { class: 'muted', text: `${label('department', dept)}:待办 ${list.length} 件${r.result.more ? '(还有更多)' : ''}` }));
    for (const f of list) {
      box.append(el('div', { class: 'card', 'data-referral': f.referral_id },
        el('h2', {}, `${f.referral_id} · `, el('a', { href: `case.html?id=${encodeURIComponent(f.case_id)}`, text: f.case_id }),
          el('span', { class: 'muted', text: ` · ${f.report_id} · 转介于 ${AID.beijing(f.created_at)}` })),
        el('p', { text: `家庭类别:${HOUSEHOLD[f.household && f.household.class] || '—'}` }),
        AID.table([['index', '序号', i => i + 1], ['id_masked', '身份证号码'], ['age', '年龄'],
          ['groups', '类别', g => (g || []).map(x => `${x} ${label('group', x)}`).join('、')],
          ['dibao_supplement_fen', '分类施保', v => v ? yuan(v) : '—']], f.persons),
        canDecide ? decisionForm(f) : null));
    }
  }
  $('#query').addEventListener('submit', ev => { ev.preventDefault(); load(); });
  load();
})();
