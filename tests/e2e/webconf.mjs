// End-to-end test of the Webconf in Debian's Chromium, driven by Playwright (playwright-core,
// pinned in package-lock.json). Run by tests/integration/test_webconf.py, which starts a real
// keepsaked over HTTPS on a fresh appliance state and passes:
//   KS_URL          the daemon's https://127.0.0.1:PORT
//   KS_OTP          the Initial OTP User's one-time password
//   KS_SHOTS        a directory for screenshots of every page
// The daemon's certificate is self-signed: the Python side checked that the server is the
// daemon with that certificate; here HTTPS errors are ignored for that one origin.
// Exits non-zero, naming the failed step, on the first failure.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import fs from "node:fs";

const url = process.env.KS_URL;
const otp = process.env.KS_OTP;
const shots = process.env.KS_SHOTS;
const ADMIN_PASSWORD = "a long admin passphrase 42";

let step = "start";
async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

const browser = await chromium.launch({
  executablePath: process.env.KS_CHROMIUM || "/usr/bin/chromium",
  // As root Chromium needs --no-sandbox; the others keep it from reaching for the network.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));

  step = "the login page is the first page";
  await page.goto(`${url}/`);
  await page.getByRole("heading", { name: "Log in" }).waitFor();
  await shot(page, "login");

  step = "a wrong password shows the API's message";
  await page.getByLabel("Username").fill("otp-admin");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").filter({ hasText: "invalid username or password" }).waitFor();

  step = "the OTP User logs in and sees the banner and why backups are refused";
  await page.getByLabel("Password").fill(otp);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Backup", exact: true }).waitFor();
  assert.ok(await page.locator("#otp-banner").isVisible(), "the OTP banner is shown");
  assert.equal(await page.locator("#backup-state").textContent(), "NOT RUNNING");
  const next = await page.locator("#next-run").textContent();
  assert.match(next, /Schedule Disabled/);
  assert.match(next, /Initial OTP User still exists/);
  assert.ok(await page.getByRole("button", { name: "Create Backup Now" }).isDisabled(), "no backup while blocked");
  assert.match(await page.locator("#backup-now-why").textContent(), /Domain Master Secret/);
  await shot(page, "backup-otp-user");

  step = "the OTP User adds an OAuth account";
  await page.getByRole("link", { name: "Access" }).click();
  await page.getByRole("heading", { name: "Access" }).waitFor();
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password", { exact: true }).fill(ADMIN_PASSWORD);
  await page.getByLabel("Repeat Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Add User Account" }).click();
  await page.getByRole("status").filter({ hasText: "Account admin added." }).waitFor();
  assert.ok(await page.getByRole("button", { name: "Remove otp-admin" }).isDisabled(),
    "the OTP User cannot remove itself (lock-out prevention, greyed out)");
  await shot(page, "access");

  step = "log out, log in as the new account, remove the OTP User: the banner goes";
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("status").filter({ hasText: "You are logged out." }).waitFor();
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  // Logged in again, the page is the one the administrator was on.
  await page.getByRole("heading", { name: "Access" }).waitFor();
  await page.getByRole("button", { name: "Remove otp-admin" }).click();
  await page.getByRole("status").filter({ hasText: "Account otp-admin removed." }).waitFor();
  assert.ok(await page.locator("#otp-banner").isHidden(), "the banner is gone with the OTP User");

  step = "the DMS form refuses a mismatched repeat and a short secret, then sets it once";
  await page.getByRole("link", { name: "Backup" }).click();
  const dmsForm = page.locator("#dms-form");
  await dmsForm.getByLabel("Domain Master Secret", { exact: true }).fill("correct horse battery staple");
  await dmsForm.getByLabel("Repeat Domain Master Secret").fill("correct horse battery stable");
  await dmsForm.getByRole("button", { name: "Set Domain Master Secret" }).click();
  await dmsForm.getByRole("alert").waitFor();
  assert.match(await dmsForm.getByRole("alert").textContent(), /match/i);
  await dmsForm.getByLabel("Domain Master Secret", { exact: true }).fill("short");
  await dmsForm.getByLabel("Repeat Domain Master Secret").fill("short");
  await dmsForm.getByRole("button", { name: "Set Domain Master Secret" }).click();
  await dmsForm.getByRole("alert").filter({ hasText: /8/ }).waitFor();
  await dmsForm.getByLabel("Domain Master Secret", { exact: true }).fill("correct horse battery staple");
  await dmsForm.getByLabel("Repeat Domain Master Secret").fill("correct horse battery staple");
  await dmsForm.getByRole("button", { name: "Set Domain Master Secret" }).click();
  await page.locator("#dms-set", { hasText: "DOMAIN MASTER SECRET IS SET" }).waitFor();
  await page.reload();
  await page.locator("#dms-set").waitFor();
  assert.equal(await page.locator("#dms-form").count(), 0, "no form once the DMS is set");

  step = "the storage browser: down, up, filter, Storage Information, Use This Location";
  await page.getByLabel("Storage Type").selectOption("local");
  await page.getByLabel("Directory (an absolute path on the appliance)").fill(process.env.KS_STORAGE);
  await page.getByRole("button", { name: "Browse Storage" }).click();
  const dialog = page.locator("#browser");
  await dialog.getByRole("heading", { name: "Browse Storage" }).waitFor();
  assert.ok(await dialog.getByRole("button", { name: "One level up" }).isDisabled(), "the root has no way up");
  assert.equal(await dialog.locator("#storage-info").getByRole("row", { name: /Permission/ }).locator("td").textContent(), "read/write");
  await dialog.getByLabel("Filter").fill("site-b");
  await dialog.getByLabel("Filter").press("Enter");
  await dialog.locator("#browser-dirs li", { hasText: "site-a" }).waitFor({ state: "detached" });
  assert.equal(await dialog.locator("#browser-dirs li").count(), 1, "the filter keeps site-b only");
  assert.equal(await dialog.locator("#browser-dirs li").textContent(), "site-b");
  await dialog.getByLabel("Filter").fill("");
  await dialog.getByLabel("Filter").press("Enter");
  await dialog.locator("#browser-dirs li", { hasText: "site-a" }).waitFor();
  await dialog.getByRole("button", { name: "site-a" }).click();
  await dialog.locator("#browser-where", { hasText: "/site-a" }).waitFor();
  await dialog.getByRole("button", { name: "One level up" }).click();
  await dialog.locator("#browser-where", { hasText: /backups$/ }).waitFor();
  await dialog.getByRole("button", { name: "site-a" }).click();
  await dialog.locator("#browser-where", { hasText: "/site-a" }).waitFor();
  await shot(page, "storage-browser");
  await dialog.getByRole("button", { name: "Use This Location" }).click();
  await page.getByRole("status").filter({ hasText: "Successfully updated backup storage configuration." }).waitFor();
  assert.match(await page.locator("#storage-current").textContent(), /site-a$/);

  step = "Create Backup Now runs once nothing blocks it";
  const button = page.getByRole("button", { name: "Create Backup Now" });
  for (let i = 0; i < 50 && await button.isDisabled(); ++i) {  // readiness is refreshed in the background
    await page.waitForTimeout(200);
    await page.reload();
  }
  await button.click();
  await page.getByRole("status").filter({ hasText: /Backup \d+ started\./ }).waitFor();
  await page.locator("#backup-state", { hasText: "NOT RUNNING" }).waitFor({ timeout: 60000 });
  await page.locator("#last-success time").waitFor({ timeout: 60000 });
  assert.match(await page.locator("#last-success").textContent(), /\.ksb/);
  await shot(page, "backup");

  step = "the new backup in the storage browser, with its Backup Details";
  await page.getByRole("button", { name: "Browse Storage" }).click();
  await dialog.locator("#browser-files button").first().click();
  await dialog.locator("#backup-details", { hasText: "valid, this appliance's domain" }).waitFor();
  await shot(page, "backup-details");
  await dialog.getByRole("button", { name: "Close" }).click();

  step = "the job history lists the backup";
  assert.match(await page.locator("#history tbody tr").first().textContent(), /backup.*manual.*succeeded/);

  step = "a weekly schedule: the fields it needs, five runs previewed, then the next execution";
  await page.getByLabel("Automated Backup Schedule", { exact: true }).selectOption("weekly");
  await page.getByLabel("Day of Week").selectOption({ label: "Friday" });
  await page.getByLabel("Hour of Day").fill("2");
  await page.getByLabel("Minute of Hour").fill("30");
  await page.getByLabel("Time zone").fill("Europe/Berlin");
  await page.getByLabel("Time zone").dispatchEvent("change");
  await page.locator("#next-runs li", { hasText: "02:30:00 CE" }).nth(4).waitFor();
  await page.getByLabel("Keep the newest").fill("10");
  await page.getByRole("button", { name: "Save Settings" }).click();
  await page.getByRole("status").filter({ hasText: "Settings saved." }).waitFor();
  await page.locator("#next-run", { hasText: "02:30:00 CE" }).waitFor();
  assert.doesNotMatch(await page.locator("#next-run").textContent(), /Schedule Disabled/);

  step = "a cron schedule: an invalid expression shows the API's message at the field";
  await page.getByLabel("Automated Backup Schedule", { exact: true }).selectOption("cron");
  await page.getByLabel("Quartz expression").fill("0 0 25 * * ?");
  await page.getByLabel("Quartz expression").dispatchEvent("change");
  await page.locator("#cron-error").getByRole("alert").waitFor();
  assert.match(await page.locator("#cron-error").textContent(), /25/);
  await page.getByLabel("Quartz expression").fill("0 15 10 ? * MON-FRI");
  await page.getByLabel("Quartz expression").dispatchEvent("change");
  await page.locator("#next-runs li", { hasText: "10:15:00" }).nth(4).waitFor();
  assert.equal(await page.locator("#cron-error").textContent(), "");
  await page.getByRole("button", { name: "Save Settings" }).click();
  await page.getByRole("status").filter({ hasText: "Settings saved." }).waitFor();
  await page.locator("#next-run", { hasText: "10:15:00" }).waitFor();
  await shot(page, "backup-settings");

  step = "Restore: a tampered copy on the storage is shown as damaged and cannot be chosen";
  const made = (await page.locator("#last-success .muted").textContent()).trim();
  const good = `${process.env.KS_STORAGE}/site-a/${made}`;
  const bytes = fs.readFileSync(good);
  bytes[40] ^= 1;  // inside the signed header
  fs.writeFileSync(`${process.env.KS_STORAGE}/site-a/vm_20200101T000000Z.ksb`, bytes);
  await page.getByRole("link", { name: "Restore" }).click();
  await page.getByRole("heading", { name: "Restore", exact: true }).waitFor();
  const damaged = page.locator("#backups tr", { hasText: "vm_20200101T000000Z.ksb" });
  await damaged.waitFor();
  assert.match(await damaged.textContent(), /damaged or forged/);
  assert.ok(await damaged.getByRole("button", { name: /Choose/ }).isDisabled(), "a damaged backup cannot be restored");

  step = "Restore: a dry run reports what it would restore and changes nothing";
  await page.getByRole("button", { name: `Choose ${made}` }).click();
  await page.getByRole("heading", { name: `Restore ${made}` }).waitFor();
  assert.match(await page.locator("#restore-panel").textContent(), /valid, this appliance's domain/);
  await page.getByRole("button", { name: "Dry run" }).click();
  await page.locator("#last-restore", { hasText: "would restore" }).waitFor({ timeout: 60000 });
  assert.match(await page.locator("#last-restore").textContent(), /\(dry-run\): succeeded/);
  await shot(page, "restore");

  step = "Restore: for real only behind the typed confirmation, keeping the network settings";
  await page.getByRole("button", { name: `Choose ${made}` }).click();
  await page.getByLabel("Keep this appliance's network settings").check();
  await page.getByLabel(/Type RESTORE/).fill("restore");
  await page.getByRole("button", { name: "Restore", exact: true }).click();
  await page.locator("#restore-feedback", { hasText: "Type RESTORE to confirm." }).waitFor();
  await page.getByLabel(/Type RESTORE/).fill("RESTORE");
  await page.getByRole("button", { name: "Restore", exact: true }).click();
  await page.locator("#last-restore", { hasText: /manual\): succeeded — restored/ }).waitFor({ timeout: 60000 });

  step = "the rollback point: roll back the restore, then discard the point";
  assert.match(await page.locator("#rollback-point").textContent(), new RegExp(`replaced by ${made.replace(".", "\\.")}`));
  await page.getByRole("button", { name: "Roll back the last restore" }).click();
  // Either the rollback's result or the API's refusal, whichever comes: a refusal names why.
  await page.locator("#last-restore", { hasText: "(rollback)" }).or(page.locator("#rollback-feedback .message"))
    .waitFor({ timeout: 60000 });
  assert.equal(await page.locator("#rollback-feedback .message").count(), 0,
    await page.locator("#rollback-feedback").textContent());
  assert.match(await page.locator("#last-restore").textContent(), /\(rollback\): succeeded — returned to the state saved at/);
  await page.getByRole("button", { name: "Discard rollback point" }).click();
  await page.getByRole("status").filter({ hasText: "The rollback point was discarded" }).waitFor();
  await page.locator("#rollback", { hasText: "No rollback point" }).waitFor();

  step = "the audit log: newest first, filtered";
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("heading", { name: "Audit log" }).waitFor();
  assert.match(await page.locator("#audit tbody tr").first().textContent(), /rollback\.discarded/);
  await page.locator("#audit-filter").fill("account.added");
  await page.locator("#audit-filter").press("Enter");
  await page.locator("#audit-count", { hasText: "of 2," }).waitFor();
  const events = await page.locator("#audit tbody tr td:nth-child(4)").allTextContents();
  assert.deepEqual(events, ["account.added", "account.added"], "the OTP User at first start, then admin");
  await shot(page, "audit");

  step = "a session that ends returns to the login page with a message";
  await page.evaluate(async () => {
    const csrf = document.cookie.match(/keepsake_csrf=([^;]+)/)[1];
    await fetch("/oauth/revoke", { method: "POST", headers: { "X-CSRF-Token": csrf } });
  });
  await page.getByRole("link", { name: "Access" }).click();
  await page.getByRole("alert").filter({ hasText: "Your session has ended. Log in again." }).waitFor();
  await page.getByRole("heading", { name: "Log in" }).waitFor();

  step = "a phone-sized window shows the same page";
  await page.setViewportSize({ width: 390, height: 800 });
  await shot(page, "login-phone");

  step = "no script errors";
  // The browser also logs every answer of 400 or 401 as an error; those were asked for above.
  assert.deepEqual(consoleErrors.filter((e) => !e.startsWith("Failed to load resource")), []);
  console.log("webconf e2e: every step passed");
} catch (e) {
  console.error(`webconf e2e failed at: ${step}\n${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
