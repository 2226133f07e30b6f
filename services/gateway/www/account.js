/* account.js — changing one's own password (argon2id on the server; every
 * other session of the account ends). */
'use strict';
(async () => {
  const { $ } = AID;
  await AID.boot();
  $('#password').addEventListener('submit', async ev => {
    ev.preventDefault();
    if ($('#new1').value !== $('#new2').value) {
      AID.fieldError($('#password'), { field: 'new_password', message: '两次输入的新密码不一致' });
      return;
    }
    const r = await AID.submitForm($('#password'), '/api/password',
      { old_password: $('#old').value, new_password: $('#new1').value },
      (res, box) => { box.append('密码已修改。其他设备上的登录已失效。'); });
    if (r.ok) AID.setSession(r.result);
  });
})();
