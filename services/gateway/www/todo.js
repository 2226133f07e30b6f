/* todo.js — the 待办 page of the review procedure (POLICY.md §16, review.queue and
 * review.step through /api/reviews): a township caseworker sees their township's
 * home investigations, notices (公示, objections) and emergency sign-offs; a county
 * officer confirmations and spot checks. Overdue items come first and are marked;
 * each item opens the form of its step. The step's `by` is the signed-in user
 * (the gateway sets it); the server checks the rest (four eyes, dates, reasons). */
'use strict';
(async () => {
  const { el, $, clear, api, yuan, label, today } = AID;
  const user = await AID.boot();
  const STAGE = {
    investigation: '入户调查', notice: '公示中', confirmation: '待审核确认',
    spot_check: '待抽查', signoff: '待补办手续',
  };
  const KIND = { dibao: '低保审核', tekun: '特困人员认定', emerg: '急难先行救助' };
  /* which steps each role takes at each stage */
  const ACTIONS = {
    township: {
      investigation: [['investigate', '录入入户调查结果']], notice: [['object', '登记公示异议']],
      signoff: [['signoff', '补办手续签字']],
    },
    county: {
      confirmation: [['confirm', '审核确认'], ['refuse', '不予确认(须写理由)']],
      spot_check: [['spot_check', '录入抽查结果']],
    },
  };
  const mine = ACTIONS[user.role] || {};
  const stages = Object.keys(mine);
  $('#intro').textContent = user.role === 'township'
    ? '本乡镇的入户调查、公示异议登记和急难救助补办手续;逾期事项排在最前。'
    : user.role === 'county' ? '公示期满待审核确认和抽查的事项;逾期事项排在最前。审核人不能是入户调查人。'
      : '只读。';

  function stepForm(item, action, text) {
    const form = el('form', { class: 'step', novalidate: true, 'data-action': action },
      el('div', { class: 'error-box', hidden: true }),
      el('div', { class: 'ok-box', hidden: true }),
      el('div', { class: 'row' },
        el('label', { class: 'f' }, '日期', el('input', { type: 'date', name: 'on', 'data-path': 'on', value: today(), max: today() })),
        el('label', { class: 'f wide' }, action === 'refuse' ? '不予确认理由(必填)' : action === 'object' ? '异议内容(必填)' : '说明',
          el('input', { name: 'note', 'data-path': 'note', maxlength: 500 })),
        ['investigate', 'spot_check'].includes(action)
          ? el('label', { class: 'f wide' }, '核查情况', el('input', { name: 'findings', 'data-path': 'findings', maxlength: 500 }))
          : null,
        el('button', { type: 'submit', class: 'primary', text })));
    form.addEventListener('submit', async ev => {
      ev.preventDefault();
      const body = { referral_id: item.referral_id, action, on: form.on.value };
      if (form.note.value.trim()) body.note = form.note.value.trim();
      if (form.findings && form.findings.value.trim()) body.findings = { '核查情况': form.findings.value.trim() };
      await AID.submitForm(form, '/api/reviews/steps', body, (res, box) => {
        box.append(`已记录:${STAGE[res.stage] || (res.stage === 'done' ? '已办结' : res.stage)},` +
          `${label('status', res.status)}${res.duplicate ? '(重复提交,未重复记录)' : ''}。`);
        form.querySelector('button[type=submit]').disabled = true;
      });
    });
    return form;
  }

  function card(item) {
    const actions = mine[item.stage] || [];
    const proposal = (item.proposal || []).map(m => `${label('measure', m.code)}${m.amount_fen ? ' ' + yuan(m.amount_fen) : ''}`).join('、');
    return el('div', { class: 'card' + (item.overdue ? ' overdue' : ''), 'data-referral': item.referral_id },
      el('h2', {}, item.overdue ? el('span', { class: 'pill denied', text: '逾期' }) : null, ' ',
        `${KIND[item.kind] || item.kind} · ${item.name_masked} · `,
        el('a', { href: `case.html?id=${encodeURIComponent(item.case_id)}`, text: item.case_id })),
      el('p', { text: `${STAGE[item.stage] || item.stage} · 期限 ${item.due_on}` +
        (item.notice_ends_on ? ` · 公示至 ${item.notice_ends_on}` : '') +
        ` · ${AID.place(item.village)} · ${item.referral_id}` }),
      el('p', { class: 'muted', text: `拟办:${proposal || '—'}` }),
      actions.map(([a, t]) => el('details', {}, el('summary', { text: t }), stepForm(item, a, t))));
  }

  async function load() {
    const box = clear($('#list'));
    const lists = await Promise.all((stages.length ? stages : [null]).map(s =>
      api('GET', '/api/reviews' + (s ? `?stage=${s}` : ''))));
    const bad = lists.find(r => !r.ok);
    AID.showError($('#error'), bad ? bad.error : null);
    if (bad) return;
    const items = lists.flatMap(r => r.result.items || []);
    /* overdue first, then oldest due first */
    items.sort((a, b) => (b.overdue - a.overdue) || a.due_on.localeCompare(b.due_on));
    box.append(el('p', { class: 'muted', id: 'count', text: `待办 ${items.length} 件,其中逾期 ${items.filter(i => i.overdue).length} 件` }));
    for (const item of items) box.append(card(item));
    box.dataset.ready = 'true';
  }
  load();
})();
