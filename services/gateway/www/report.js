/* report.js — the hardship report form (report.submit).
 *
 * Every control carries data-path, the contract's path of its field
 * (household.members[2].id_number), so a field error from the server lands
 * next to the field it names. Each member's ID number is checked here first
 * (POLICY.md §0) and the report is not sent while one is wrong. The form has
 * one key (Idempotency-Key) from when it is shown until it is accepted: a
 * double click or a retry after a time-out is the same request. */
'use strict';
(async () => {
  const { el, $, $$, clear, api, idProblem, toFen, showError } = AID;
  const user = await AID.boot();

  const opts = (pairs) => pairs.map(([v, t]) => el('option', { value: v, text: t }));
  const MEMBER_FIELDS = [
    ['id_number', '身份证号码 *', 'id'],
    ['name', '姓名 *', 'text'],
    ['relation', '与户主关系', 'select', [['head', '户主'], ['spouse', '配偶'], ['child', '子女'],
      ['parent', '父母'], ['grandchild', '孙子女'], ['sibling', '兄弟姐妹'], ['other', '其他']]],
    ['monthly_income_fen', '月收入(元)', 'money'],
    ['months_working_locally', '本地务工(月)', 'int'],
    ['tekun', '特困供养', 'select', [['none', '否'], ['dispersed', '分散供养'], ['centralized', '集中供养']]],
    ['self_care', '自理能力', 'select', [['full', '完全自理'], ['semi', '半自理'], ['none', '不能自理']]],
    ['disability_grade', '残疾等级', 'select', [['0', '无'], ['1', '一级'], ['2', '二级'], ['3', '三级'], ['4', '四级']]],
    ['disability_kind', '残疾类别', 'select', [['none', '无'], ['physical', '肢体'], ['visual', '视力'],
      ['hearing', '听力'], ['speech', '言语'], ['intellectual', '智力'], ['mental', '精神'], ['multiple', '多重']]],
    ['school_stage', '在读阶段', 'select', [['none', '不在读'], ['preschool', '学前'], ['compulsory', '义务教育'],
      ['senior', '普通高中'], ['vocational', '中职'], ['higher', '高等教育']]],
    ['dept_recognized', '部门认定', 'select', [['none', '无'], ['hardship_worker', '困难职工'],
      ['occupational_disease', '困难职业病患者']]],
  ];
  const MEMBER_FLAGS = [
    ['hukou_local', '本地户籍', true], ['residence_permit', '居住证'], ['serious_illness', '重病'],
    ['labor_capacity', '有劳动能力'], ['employed', '在业'], ['wants_work', '有就业意愿'],
    ['orphan', '孤儿'], ['unsupported_minor', '事实无人抚养'], ['left_behind', '留守'],
    ['minor_in_difficulty', '困境儿童'], ['no_supporter', '无赡养/抚养人'], ['three_nos', '三无人员'],
    ['retired_1960s', '60年代精简退职'],
  ];
  const CIRC_KINDS = [['illness', '疾病'], ['accident', '意外事故'], ['disaster', '自然灾害'], ['epidemic', '疫情'],
    ['schooling', '就学'], ['unemployment', '失业'], ['housing_loss', '失去住房'], ['death', '亲人去世'], ['other', '其他']];

  let key = AID.formKey();
  $('#key-note').textContent = '';

  /* ---- rows ------------------------------------------------------------ */
  function control(k, type, choices) {
    if (type === 'select') return el('select', { 'data-key': k }, opts(choices));
    if (type === 'money') return el('input', { 'data-key': k, inputmode: 'decimal', placeholder: '0.00' });
    if (type === 'int') return el('input', { 'data-key': k, inputmode: 'numeric', placeholder: '0' });
    if (type === 'date') return el('input', { 'data-key': k, type: 'date' });
    if (type === 'id') return el('input', { 'data-key': k, maxlength: 18, autocomplete: 'off', class: 'idnum' });
    return el('input', { 'data-key': k, maxlength: 60 });
  }
  function field(k, text, type, choices, wide) {
    const c = control(k, type, choices);
    return el('label', { class: 'f' + (wide ? ' wide' : '') }, text, c, el('span', { class: 'field-error' }));
  }

  function addMember() {
    const card = el('fieldset', { class: 'member' },
      el('legend', {}, ''),
      el('div', { class: 'row' }, MEMBER_FIELDS.map(([k, t, type, ch]) => field(k, t, type, ch, k === 'id_number'))),
      el('div', { class: 'flags' }, MEMBER_FLAGS.map(([k, t, on]) =>
        el('label', { class: 'c' }, el('input', { type: 'checkbox', 'data-key': k, checked: !!on }), t))),
      el('p', {}, el('button', { type: 'button', class: 'small remove', text: '删除此成员' })));
    card.querySelector('.remove').addEventListener('click', () => {
      if ($$('#members fieldset').length > 1) { card.remove(); renumber(); }
    });
    const id = card.querySelector('input.idnum');
    id.addEventListener('blur', () => checkId(id));
    $('#members').append(card);
    renumber();
    return card;
  }

  function addCircumstance() {
    const row = el('div', { class: 'row circ' },
      field('kind', '情形 *', 'select', CIRC_KINDS),
      field('expense_fen', '支出(元)', 'money'),
      field('occurred_on', '发生日期', 'date'),
      field('id_number', '涉及成员身份证(可选)', 'text'),
      field('note', '说明', 'text', null, true),
      el('button', { type: 'button', class: 'small remove', text: '删除' }));
    row.querySelector('.remove').addEventListener('click', () => { row.remove(); renumber(); });
    $('#circumstances').append(row);
    renumber();
  }

  /* Paths follow the rows' current order. */
  function renumber() {
    $$('#members fieldset').forEach((card, i) => {
      card.querySelector('legend').textContent = `家庭成员 ${i + 1}`;
      $$('[data-key]', card).forEach(c => c.setAttribute('data-path', `household.members[${i}].${c.dataset.key}`));
    });
    $$('#circumstances .circ').forEach((row, i) =>
      $$('[data-key]', row).forEach(c => c.setAttribute('data-path', `circumstances[${i}].${c.dataset.key}`)));
  }

  /* ---- errors next to fields ------------------------------------------- */
  function fieldError(c, msg) {
    c.classList.toggle('invalid', !!msg);
    const slot = c.parentElement.querySelector('.field-error');
    if (slot) slot.textContent = msg || '';
    else if (msg) c.parentElement.append(el('span', { class: 'field-error', text: msg }));
  }
  function clearErrors() {
    $$('.invalid').forEach(c => c.classList.remove('invalid'));
    $$('.field-error').forEach(s => { s.textContent = ''; });
    showError($('#error'), null);
  }
  function memberNo(c) {
    const m = /members\[(\d+)\]/.exec(c.getAttribute('data-path') || '');
    return m ? +m[1] + 1 : 0;
  }
  function checkId(c) {
    const v = c.value.trim();
    if (!v) { fieldError(c, ''); return true; }
    const p = idProblem(v, $('#as_of').value);
    fieldError(c, p ? `第 ${memberNo(c)} 位成员:${p}` : '');
    return !p;
  }

  /* ---- the body ---------------------------------------------------------- */
  function value(c) {
    if (c.type === 'checkbox') return c.checked;
    return c.value.trim();
  }
  /* Builds the report; field problems found here are shown and counted. */
  function build() {
    let bad = 0;
    const problem = (c, msg) => { fieldError(c, msg); bad++; };
    const v = id => value($('#' + id));
    const body = {
      source: v('source'), reporter: v('reporter'), urban: v('urban'), urgency: v('urgency'),
      area: { county: v('county'), township: v('township'), village: v('village') },
      household: {
        status: {
          dibao: v('dibao'), low_income: v('low_income'), single_parent: v('single_parent'),
          one_child: v('one_child'), two_daughter: v('two_daughter'), relocation_site: v('relocation_site'),
        },
        housing: v('housing'),
        members: [],
      },
      circumstances: [],
    };
    if (v('as_of')) body.as_of = v('as_of');
    for (const [id, n] of [['county', 6], ['township', 9], ['village', 12]]) {
      if (!new RegExp(`^\\d{${n}}$`).test(v(id))) problem($('#' + id), `应为 ${n} 位数字`);
    }
    const seen = new Map();
    $$('#members fieldset').forEach((card, i) => {
      const m = {};
      for (const c of $$('[data-key]', card)) {
        const k = c.dataset.key;
        let x = value(c);
        if (k === 'monthly_income_fen') {
          x = toFen(x);
          if (x === null) { problem(c, '金额格式不正确(元,最多两位小数)'); continue; }
        } else if (k === 'months_working_locally' || k === 'disability_grade') {
          if (x === '') x = '0';
          if (!/^\d+$/.test(x)) { problem(c, '应为整数'); continue; }
          x = parseInt(x, 10);
        }
        m[k] = x;
      }
      const idc = card.querySelector('input.idnum');
      if (!m.id_number) problem(idc, `第 ${i + 1} 位成员:请填写身份证号码`);
      else if (!checkId(idc)) bad++;
      else {
        m.id_number = m.id_number.toUpperCase();
        if (seen.has(m.id_number)) problem(idc, `第 ${i + 1} 位成员:与第 ${seen.get(m.id_number)} 位成员身份证号码相同`);
        seen.set(m.id_number, i + 1);
      }
      if (!m.name) problem(card.querySelector('[data-key=name]'), `第 ${i + 1} 位成员:请填写姓名`);
      body.household.members.push(m);
    });
    $$('#circumstances .circ').forEach(row => {
      const c = {};
      for (const ctl of $$('[data-key]', row)) {
        const k = ctl.dataset.key;
        let x = value(ctl);
        if (k === 'expense_fen') {
          x = toFen(x);
          if (x === null) { problem(ctl, '金额格式不正确'); continue; }
        }
        if ((k === 'occurred_on' || k === 'id_number' || k === 'note') && x === '') continue;
        if (k === 'id_number') {
          const p = idProblem(x, v('as_of'));
          if (p) { problem(ctl, p); continue; }
          x = x.toUpperCase();
        }
        c[k] = x;
      }
      body.circumstances.push(c);
    });
    return { body, bad };
  }

  /* ---- submit ------------------------------------------------------------ */
  $('#report').addEventListener('submit', async ev => {
    ev.preventDefault();
    clearErrors();
    const { body, bad } = build();
    if (bad) {
      showError($('#error'), { code: 'invalid_field', message: `有 ${bad} 处需要修改,见标红的栏目` });
      const first = $('.invalid');
      if (first) first.scrollIntoView({ block: 'center' });
      return;
    }
    const btn = $('#submit');
    btn.disabled = true;
    btn.textContent = '提交中…';
    const r = await api('POST', '/api/reports', body, { key });
    btn.disabled = false;
    btn.textContent = '提交报告';
    if (!r.ok) {
      /* the same key stays: fixing and resending is the same request */
      const c = r.error && r.error.field && $(`[data-path="${CSS.escape(r.error.field)}"]`);
      if (c) {
        fieldError(c, (c.classList.contains('idnum') ? `第 ${memberNo(c)} 位成员:` : '') +
          `服务器:${r.error.message}`);
        c.scrollIntoView({ block: 'center' });
      }
      showError($('#error'), r.error);
      return;
    }
    key = AID.formKey();
    const res = r.result;
    const done = clear($('#done'));
    done.hidden = false;
    done.append(res.duplicate ? '该报告此前已提交(重复提交未重复登记):' : '报告已提交并保存:',
      el('a', { href: `case.html?id=${encodeURIComponent(res.case_id)}`, text: `个案 ${res.case_id}` }),
      `(${res.report_id})`);
    location.href = `case.html?id=${encodeURIComponent(res.case_id)}&filed=1`;
  });

  $('#add-member').addEventListener('click', addMember);
  $('#add-circumstance').addEventListener('click', addCircumstance);
  $('#as_of').value = AID.today();
  $('#as_of').max = AID.today();
  if (user.role === 'township') {
    $('#county').value = user.scope.slice(0, 6);
    $('#township').value = user.scope;
    $('#township').readOnly = true;
    $('#county').readOnly = true;
    $('#village').value = user.scope;
  }
  addMember();
})();
