/* console.test.js — the web console end to end, in Debian's Chromium driven by
 * playwright-core (no browser download: executablePath /usr/bin/chromium).
 *
 * As the county officer (one browser): sign in; see a wrong ID number named on its member's
 * row before anything is sent; see a server field error next to its field; file
 * a report through the form and watch the case reach every department live. As
 * the housing officer (housing is external in the test stack), in a second
 * browser: record the housing decision; the first one's case view updates by itself and
 * shows every department decided, with amounts in yuan and the rules' texts.
 * The 待办 page of the review procedure: a township caseworker records a home
 * investigation (an overdue review listed first, marked); the county officer,
 * another person, confirms after the notice. The payroll page (资金发放): the
 * county officer compiles a month and is refused approving it (four eyes).
 * Screenshots go to $AID_VAR/e2e/. Run by tests/gateway/run.sh against its stack
 * (environment from `ops/stack.sh env`). Exit status 0 when every step passed. */
'use strict';
const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const G = process.env.AID_GATEWAY_URL;
const ADMIN = process.env.AID_ADMIN_USER || 'admin';
const ADMIN_PW = process.env.AID_ADMIN_PASSWORD;
const OUT = path.join(process.env.AID_VAR || path.join(ROOT, 'var', 'gwtest'), 'e2e');
const HOUSING_USER = 'e2e-housing';
const HOUSING_PW = 'e2e-housing-password';
const T = 30000;

/* ---- ID numbers (POLICY.md §0) -------------------------------------- */
const W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const C = '10X98765432';
const area = 100000 + Math.floor(Math.random() * 400000);
let seq = Math.floor(Math.random() * 500);
function newId(birth) {
  const first = String(area) + birth.replace(/-/g, '') + String(seq++).padStart(3, '0');
  let s = 0;
  for (let i = 0; i < 17; i++) s += (+first[i]) * W[i];
  return first + C[s % 11];
}
const wrongCheck = id => id.slice(0, 17) + C[(C.indexOf(id[17]) + 1) % 11];

/* ---- steps ---------------------------------------------------------- */
let passed = 0, failed = 0;
async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(e && e.stack || e).split('\n').slice(0, 6).join('\n  ')}`);
    throw e;
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

function ensureUser(name, role, scope, pw) {
  const env = Object.assign({}, process.env);
  const aidctl = path.join(ROOT, 'bin', 'aidctl');
  try {
    execFileSync(aidctl, ['user', 'add', name, role, scope, '住建局(外部系统)经办人'], { input: pw + '\n', env, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (e) {
    execFileSync(aidctl, ['user', 'passwd', name], { input: pw + '\n', env, stdio: ['pipe', 'ignore', 'pipe'] });
  }
}

async function login(page, user, pw) {
  await page.goto(G + '/login.html');
  await page.fill('#username', user);
  await page.fill('#password', pw);
  await Promise.all([page.waitForNavigation({ timeout: T }), page.click('#submit')]);
  await page.waitForSelector('nav.nav', { timeout: T });
}

async function fillMember(page, i, m) {
  const card = page.locator('#members fieldset').nth(i);
  await card.locator('[data-key=id_number]').fill(m.id);
  await card.locator('[data-key=name]').fill(m.name);
  if (m.relation) await card.locator('[data-key=relation]').selectOption(m.relation);
  if (m.income) await card.locator('[data-key=monthly_income_fen]').fill(m.income);
  if (m.self_care) await card.locator('[data-key=self_care]').selectOption(m.self_care);
  if (m.school) await card.locator('[data-key=school_stage]').selectOption(m.school);
  for (const f of m.flags || []) await card.locator(`[data-key=${f}]`).check();
}

(async () => {
  assert(G && ADMIN_PW, 'AID_GATEWAY_URL and AID_ADMIN_PASSWORD must be set (eval "$(ops/stack.sh env)")');
  fs.mkdirSync(OUT, { recursive: true });
  ensureUser(HOUSING_USER, 'department', 'housing', HOUSING_PW);
  /* one browser per person, each with a fresh profile (--user-data-dir) */
  const profiles = [];
  const browser = async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aid-e2e-chromium-'));
    profiles.push(dir);
    return chromium.launchPersistentContext(dir, {
      env: Object.assign({}, process.env, { LANG: 'zh_CN.UTF-8', LANGUAGE: 'zh_CN:zh' }),
      executablePath: '/usr/bin/chromium',
      headless: true,
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', '--lang=zh-CN'],
    });
  };
  const ctx = await browser();
  let other = null;
  const page = ctx.pages()[0] || await ctx.newPage();
  const pageErrors = [];
  page.on('pageerror', e => pageErrors.push(e.message));
  let reportPosts = 0;
  page.on('request', r => { if (r.method() === 'POST' && r.url().endsWith('/api/reports')) reportPosts++; });
  let caseId = null, housingRef = null;
  try {
    await step('an unsigned visitor is sent to the login page and back', async () => {
      await page.goto(G + '/report.html');
      await page.waitForURL(/login\.html\?next=/, { timeout: T });
      await page.fill('#username', ADMIN);
      await page.fill('#password', 'wrong password!');
      await page.click('#submit');
      await page.waitForSelector('#error:not([hidden])', { timeout: T });
      assert((await page.textContent('#error')).includes('用户名或密码错误'), 'login error shown');
      await page.fill('#password', ADMIN_PW);
      await Promise.all([page.waitForNavigation({ timeout: T }), page.click('#submit')]);
      await page.waitForSelector('#members fieldset', { timeout: T });
      assert(page.url().endsWith('/report.html'), 'back on the report form: ' + page.url());
      assert((await page.textContent('header.top')).includes('县级管理人员'), 'role shown');
    });

    const head = newId('1958-05-05'), spouse = newId('1986-03-12'), child = newId('2013-09-01');
    await step('a wrong check digit is named on its member row before anything is sent', async () => {
      await page.fill('#county', '520123');
      await page.fill('#township', '520123101');
      await page.fill('#village', '520123101001');
      await fillMember(page, 0, { id: head, name: '王建国' });
      await page.click('#add-member');
      await fillMember(page, 1, { id: wrongCheck(spouse), name: '李秀英', relation: 'spouse' });
      await page.locator('#members fieldset').nth(1).locator('[data-key=name]').click(); /* blur */
      const err = page.locator('#members fieldset').nth(1).locator('.field-error').first();
      await err.waitFor({ timeout: T });
      const text = await err.textContent();
      assert(text.includes('第 2 位成员') && text.includes('校验位错误'), 'row error: ' + text);
      await page.click('#submit');
      await page.waitForSelector('#error:not([hidden])', { timeout: T });
      assert(reportPosts === 0, 'nothing was sent');
      await page.screenshot({ path: path.join(OUT, 'field-error.png'), fullPage: true });
    });

    await step('a field error from the server is shown next to its field', async () => {
      await fillMember(page, 1, { id: spouse, name: '李秀英' });
      await page.fill('#village', '520123102001'); /* not in township 520123101 */
      await page.click('#submit');
      await page.waitForSelector('#village.invalid', { timeout: T });
      const msg = await page.locator('#village').locator('xpath=..').locator('.field-error').textContent();
      assert(msg.includes('服务器') && msg.includes('须以所属乡镇的代码开头'), 'server error beside the village, in Chinese: ' + msg);
      assert((await page.textContent('#error')).includes('area.village'), 'path named');
      assert(reportPosts === 1, 'one request sent');
    });

    await step('a report filed through the form reaches every department, live', async () => {
      await page.fill('#village', '520123101001');
      await page.selectOption('#dibao', 'full');
      await page.selectOption('#housing', 'renting');
      await page.selectOption('#urgency', 'urgent');
      await page.fill('#reporter', '甲镇民政办');
      await fillMember(page, 0, { id: head, name: '王建国', income: '300', self_care: 'semi', flags: [] });
      await fillMember(page, 1, { id: spouse, name: '李秀英', relation: 'spouse', flags: ['labor_capacity', 'wants_work'] });
      await page.click('#add-member');
      await fillMember(page, 2, { id: child, name: '王小明', relation: 'child', school: 'compulsory' });
      await page.click('#add-circumstance');
      await page.click('#add-circumstance');
      const circ = page.locator('#circumstances .circ');
      await circ.nth(0).locator('[data-key=kind]').selectOption('accident');
      await circ.nth(0).locator('[data-key=expense_fen]').fill('12000.50');
      await circ.nth(1).locator('[data-key=kind]').selectOption('disaster');
      await Promise.all([page.waitForURL(/case\.html\?id=case-\d+/, { timeout: T }), page.click('#submit')]);
      caseId = new URL(page.url()).searchParams.get('id');
      await page.waitForSelector('#live:not(.off)', { timeout: T });
      const departments = ['civil', 'tempaid', 'medical', 'education', 'housing', 'employment', 'relief', 'social', 'care'];
      await page.waitForFunction(
        list => list.every(d => document.querySelector(`.dept[data-department="${d}"]`)) &&
          Array.from(document.querySelectorAll('.dept')).filter(e => e.dataset.status !== 'pending').length === list.length - 1,
        departments, { timeout: T });
      assert(await page.getAttribute('.dept[data-department="housing"]', 'data-status') === 'pending', 'housing waits');
      housingRef = await page.getAttribute('.dept[data-department="housing"]', 'data-referral');
      assert((await page.textContent('#state')).includes('办理中'), 'not complete yet');
      await page.screenshot({ path: path.join(OUT, 'case-pending.png'), fullPage: true });
    });

    await step('the housing officer records the decision in another browser', async () => {
      other = await browser();
      const tab = other.pages()[0] || await other.newPage();
      tab.on('pageerror', e => pageErrors.push(e.message));
      await login(tab, HOUSING_USER, HOUSING_PW);
      await tab.goto(G + '/referrals.html');
      const card = tab.locator(`[data-referral="${housingRef}"]`);
      await card.waitFor({ timeout: T });
      assert(!(await card.textContent()).includes(head), 'ID numbers masked on the referrals page');
      await card.locator('input[name=rules]').fill('R-HOUSE-S, R-HOUSE-FREE');
      await card.locator('button.add').click();
      await card.locator('[data-key=code]').selectOption('housing.public_rental_or_subsidy');
      await card.locator('button.add').click();
      await card.locator('[data-key=code]').nth(1).selectOption('housing.rent_free');
      await card.locator('button[type=submit]').click();
      await card.locator('.ok-box:not([hidden])').waitFor({ timeout: T });
      assert((await card.locator('.ok-box').textContent()).includes('已批准'), 'decision recorded');
      await tab.screenshot({ path: path.join(OUT, 'referrals.png'), fullPage: true });
    });

    await step('the open case view updates by itself: every department decided', async () => {
      await page.waitForFunction(() => document.querySelector('#case').dataset.complete === 'true' &&
        document.querySelectorAll('.dept[data-status=pending]').length === 0, null, { timeout: T });
      assert((await page.textContent('#state')).includes('各部门均已办结'), 'complete shown');
      const amounts = await page.locator('.dept .amount').allTextContents();
      assert(amounts.length > 0 && amounts.every(a => /^[\d,]+\.\d{2} 元$/.test(a)), 'amounts in yuan: ' + amounts);
      const housing = await page.textContent('.dept[data-department="housing"]');
      assert(housing.includes('R-HOUSE-S') && housing.includes('实物配租和租赁补贴') &&
        !housing.includes('public rental housing'), 'rule in the plan\'s own words (Chinese)');
      const persons = await page.textContent('#persons');
      assert(!persons.includes(head) && persons.includes(head.slice(0, 6) + '********' + head.slice(14)), 'persons masked');
      await page.screenshot({ path: path.join(OUT, 'case-view.png'), fullPage: true });
    });

    await step('the household ledger (台账) prints: members masked, Chinese measures, yuan, rule texts', async () => {
      await page.goto(G + '/household.html?id=' + encodeURIComponent(caseId));
      await page.waitForSelector('#sheet[data-ready=true]', { timeout: T });
      const sheet = await page.textContent('#sheet');
      assert(!sheet.includes(head) && sheet.includes(head.slice(0, 6) + '********' + head.slice(14)), 'members masked');
      assert(sheet.includes('住房') && sheet.includes('已批准'), 'departments and statuses in Chinese');
      assert(sheet.includes('实物配租和租赁补贴'), 'rules in the plan\'s own words');
      assert(/\d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+8\)/.test(sheet), 'times in UTC+8 with the zone');
      const codes = await page.locator('#decisions td:nth-child(2)').allTextContents();
      assert(codes.length > 0 && codes.every(c => !/^[a-z_]+\.[a-z_0-9]+$/.test(c)), 'measure names, not codes: ' + codes);
      const amounts = await page.locator('#decisions .amount').allTextContents();
      assert(amounts.length > 0 && amounts.every(a => /^[\d,]+\.\d{2}$/.test(a)), 'amounts in yuan: ' + amounts);
      await page.emulateMedia({ media: 'print' });
      assert(!(await page.isVisible('#lookup')), 'the form is not printed');
      await page.screenshot({ path: path.join(OUT, 'household.png'), fullPage: true });
      await page.emulateMedia({ media: 'screen' });
    });

    await step('the dashboard, ledger, disclosure and audit pages render', async () => {
      for (const [p, sel] of [['index.html', '#ledger-card .stats'], ['ledger.html', '#sections .card'],
        ['audit.html', '#rows table']]) {
        await page.goto(G + '/' + p);
        await page.waitForSelector(sel, { timeout: T });
      }
      assert((await page.textContent('#rows')).includes(caseId), 'the case reads are in the audit trail');
      await page.goto(G + '/index.html');
      await page.waitForSelector('#chart-groups svg', { timeout: T });
      await page.screenshot({ path: path.join(OUT, 'dashboard.png'), fullPage: true });
      await page.goto(G + '/disclosure.html');
      await page.fill('#village', '520123101001');
      await page.click('#query button[type=submit]');
      await page.waitForSelector('#sheet:not([hidden]) table', { timeout: T });
      assert(!(await page.textContent('#sheet')).includes(head.slice(0, 6) + '*'), 'no ID numbers on the public list');
    });

    await step('待办: the township records the investigation, the county confirms after the notice', async () => {
      const aidctl = path.join(ROOT, 'bin', 'aidctl');
      const env = Object.assign({}, process.env);
      const chinaDay = n => new Date(Date.now() + 8 * 3600e3 + n * 86400e3).toISOString().slice(0, 10);
      const file = n => {   /* a dibao applicant filed 20 days ago; its civil referral */
        const body = { as_of: chinaDay(-20), source: 'visit',
          area: { county: '520123', township: '520123101', village: '520123101001' },
          household: { members: [{ id_number: newId('1981-02-02'), name: '赵申请' + n, hukou_local: true, monthly_income_fen: 20000 }] } };
        const f = path.join(OUT, `applicant-${n}.json`);
        fs.writeFileSync(f, JSON.stringify(body));
        const res = JSON.parse(execFileSync(aidctl, ['--json', 'submit', f], { env }).toString());
        for (let i = 0; i < 100; i++) {
          const c = JSON.parse(execFileSync(aidctl, ['--json', 'case', res.case_id], { env }).toString());
          const civil = c.referrals.find(x => x.department === 'civil' && x.status === 'in_review');
          if (civil) return civil.referral_id;
          execFileSync('sleep', ['0.3']);
        }
        throw new Error('no review for ' + res.case_id);
      };
      const ref = file(1), late = file(2);
      /* the second one started 60 days ago: overdue */
      execFileSync('psql', [env.AID_PG_DSN, '-qc', `UPDATE reviews SET started_on = '${chinaDay(-60)}' WHERE referral_id = ${late.split('-')[1]}`], { env });
      const tw = await browser();
      try {
        const tp = tw.pages()[0] || await tw.newPage();
        tp.on('pageerror', e => pageErrors.push(e.message));
        execFileSync(aidctl, ['user', 'add', 'e2e-township', 'township', '520123101', '乡镇经办人李'], { input: 'e2e-township-password\n', env, stdio: ['pipe', 'ignore', 'ignore'] });
        await login(tp, 'e2e-township', 'e2e-township-password');
        await tp.goto(G + '/todo.html');
        await tp.waitForSelector('#list[data-ready=true]', { timeout: T });
        const first = tp.locator('#list .card').first();
        assert(await first.getAttribute('data-referral') === late, 'the overdue review comes first');
        assert((await first.textContent()).includes('逾期'), 'and is marked');
        const card = tp.locator(`#list .card[data-referral="${ref}"]`);
        assert((await card.textContent()).includes('入户调查') && (await card.textContent()).includes('赵*'), 'stage and masked name');
        await card.locator('summary', { hasText: '录入入户调查结果' }).click();
        const form = card.locator('form[data-action=investigate]');
        await form.locator('input[name=on]').fill(chinaDay(-19));
        await form.locator('input[name=findings]').fill('入户核实,收入属实');
        await form.locator('button[type=submit]').click();
        await form.locator('.ok-box:not([hidden])').waitFor({ timeout: T });
        assert((await form.locator('.ok-box').textContent()).includes('待审核确认'), 'the notice of 7 days has ended');
        await tp.screenshot({ path: path.join(OUT, 'todo-township.png'), fullPage: true });
      } finally {
        await tw.close();
      }
      await page.goto(G + '/todo.html');
      await page.waitForSelector('#list[data-ready=true]', { timeout: T });
      const card = page.locator(`#list .card[data-referral="${ref}"]`);
      assert((await card.textContent()).includes('待审核确认'), 'the county sees it awaiting confirmation');
      await card.locator('summary', { hasText: '审核确认' }).first().click();
      const form = card.locator('form[data-action=confirm]');
      await form.locator('button[type=submit]').click();
      await form.locator('.ok-box:not([hidden])').waitFor({ timeout: T });
      assert((await form.locator('.ok-box').textContent()).includes('已批准'), 'confirmed: granted');
      await page.screenshot({ path: path.join(OUT, 'todo-county.png'), fullPage: true });
    });

    await step('案件名册: the township\'s cases searched by name, masked', async () => {
      await page.goto(G + '/cases.html');
      await page.waitForSelector('#list[data-ready=true]', { timeout: T });
      await page.fill('#township', '520123101');
      await page.fill('#name', '王建国');
      await page.click('#query button[type=submit]');
      await page.waitForFunction(() => document.querySelector('#list p') &&
        document.querySelector('#list p').textContent.startsWith('共 1 户'), null, { timeout: T });
      const text = await page.textContent('#list');
      assert(text.includes(caseId) && text.includes('王**') && !text.includes('王建国'), 'found, masked: ' + text);
      assert(!text.includes(head), 'no ID number in full');
      await page.screenshot({ path: path.join(OUT, 'cases.png'), fullPage: true });
    });

    await step('资金发放: the county compiles a month\'s payroll; its maker cannot approve it', async () => {
      /* a month of the past no case is paid in: an empty county run, never approved */
      const month = `${2000 + Math.floor(Math.random() * 20)}-${String(1 + Math.floor(Math.random() * 12)).padStart(2, '0')}`;
      await page.goto(G + '/payroll.html');
      await page.fill('#month', month);
      await page.click('#run button[type=submit]');
      await page.waitForSelector('#view[data-ready=true]', { timeout: T });
      assert((await page.textContent('#title')).includes(month + ' · 全县'), 'the run is shown');
      assert((await page.textContent('#people')).includes('编制人:县民政局管理员(admin)'), 'who compiled it');
      await page.click('#approve');
      await page.waitForSelector('#approve-error:not([hidden])', { timeout: T });
      assert((await page.textContent('#approve-error')).includes('编制人不能审核'), 'four eyes: the server refuses the maker');
      await page.screenshot({ path: path.join(OUT, 'payroll.png'), fullPage: true });
    });

    await step('no script errors on any page', async () => {
      assert(pageErrors.length === 0, 'page errors: ' + pageErrors.join(' | '));
    });
  } catch (e) {
    await page.screenshot({ path: path.join(OUT, 'failure.png'), fullPage: true }).catch(() => {});
  } finally {
    if (other) await other.close();
    await ctx.close();
    for (const dir of profiles) fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`e2e: ${passed} passed, ${failed} failed (screenshots in ${OUT})`);
  process.exit(failed ? 1 : 0);
})().catch(e => {
  console.error('e2e:', e);
  console.log('e2e: 0 passed, 1 failed');
  process.exit(1);
});
