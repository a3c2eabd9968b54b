// End-to-end test of the Webconf in Debian's Chromium, driven by Playwright (playwright-core,
// pinned in package-lock.json). Run by tests/integration/test_webconf.py, which starts a real
// keepsaked over HTTPS on a fresh appliance state and passes:
//   KS_URL          the daemon's https://127.0.0.1:PORT
//   KS_OTP          the Initial OTP User's one-time password
//   KS_SHOTS        a directory for screenshots of every page
//   KS_STORAGE      a local directory for the backup storage (with site-a and site-b)
//   KS_FRESH_URL    a second keepsaked, a fresh appliance (no DMS, no storage, not set up),
//   KS_FRESH_OTP    and its Initial OTP User's password: disaster recovery onto it by upload
//   KS_APPLIANCE    the first daemon's appliance root (a large file is put there for a while)
//   KS_NFS          "127.0.0.1:PORT/rw", an export of nfs-ganesha; "" when it cannot run here
// The daemon's certificate is self-signed: the Python side checked that the server is the
// daemon with that certificate; here HTTPS errors are ignored for that one origin.
// Exits non-zero, naming the failed step, on the first failure.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const url = process.env.KS_URL;
const otp = process.env.KS_OTP;
const shots = process.env.KS_SHOTS;
const ADMIN_PASSWORD = "a long admin passphrase 42";
const DMS = "correct horse battery staple";  // the first appliance's Domain Master Secret

let step = "start";
async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

// axe-core (pinned in package-lock.json) checks the page as it is drawn. The Webconf's CSP
// (script-src 'self') blocks page.addScriptTag, which inserts the script inline; evaluating
// the source through the DevTools protocol is not subject to the page's CSP, so the checks
// run on the page exactly as served, CSP included.
const axeSource = fs.readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve("axe-core")), "axe.min.js"), "utf8");
const axeMinor = {};
async function accessible(page, name) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`) })));
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of violations.filter((x) => !serious.includes(x))) axeMinor[`${name}: ${v.id} (${v.impact})`] = v.nodes.length;
  assert.deepEqual(serious, [], `axe on ${name}:\n${JSON.stringify(serious, null, 2)}`);
}

// The element that has the keyboard focus: what it is, and whether its focus is drawn.
async function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    const style = getComputedStyle(e);
    return {
      what: `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""} ${(e.getAttribute("aria-label") || e.textContent || "").trim().slice(0, 40)}`,
      outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
      disabled: e.disabled === true,
    };
  });
}

const browser = await chromium.launch({
  executablePath: process.env.KS_CHROMIUM || "/usr/bin/chromium",
  // As root Chromium needs --no-sandbox; the others keep it from reaching for the network.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
let page = null;
let debugPage = null;  // a second page, shown too when a step on it fails
const consoleErrors = [];
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));

  step = "the login page is the first page";
  await page.goto(`${url}/`);
  await page.getByRole("heading", { name: "Log in" }).waitFor();
  await shot(page, "login");

  step = "axe: the login page";
  await accessible(page, "Login");

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

  step = "a fresh appliance: the Backup page offers to set up backups or restore from a backup";
  const welcome = page.locator("#welcome");
  await welcome.getByRole("heading", { name: "A new appliance" }).waitFor();
  await welcome.getByRole("button", { name: "Set up backups" }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), "dms", "Set up backups focuses the DMS form");
  await welcome.getByRole("button", { name: "Restore system from backup" }).click();
  await page.getByRole("heading", { name: "Restore", exact: true }).waitFor();
  await page.locator("#upload-file:focus").waitFor();
  assert.equal(new URL(page.url()).hash, "#restore");
  await page.getByRole("link", { name: "Backup", exact: true }).click();
  await welcome.waitFor();

  step = "axe: the Backup page of a fresh appliance (welcome, DMS form)";
  await accessible(page, "Backup (fresh)");

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

  step = "axe: the Access page";
  await accessible(page, "Access");

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

  step = "the DMS form guides while typing: strength, too short, repeat mismatched";
  await page.getByRole("link", { name: "Backup" }).click();
  const dmsForm = page.locator("#dms-form");
  assert.ok(await dmsForm.locator(".strength").isHidden(), "no strength before typing");
  await dmsForm.getByLabel("Domain Master Secret", { exact: true }).fill("short");
  await dmsForm.locator("#dms-strength-text", { hasText: "Strength: too short" }).waitFor();
  assert.match(await dmsForm.locator("#dms-hint").textContent(), /Too short: at least 8 characters, 3 more/);
  // The server's rating (zxcvbn): a common password is refused by name, a passphrase is not.
  await dmsForm.getByLabel("Domain Master Secret", { exact: true }).fill("Password1");
  await dmsForm.locator("#dms-strength-text", { hasText: "Strength: too guessable" }).waitFor();
  await dmsForm.locator("#dms-hint", { hasText: /too guessable/ }).waitFor();
  await dmsForm.getByLabel("Domain Master Secret", { exact: true }).fill("correct horse battery staple");
  await dmsForm.locator("#dms-strength-text", { hasText: "Strength: very unguessable" }).waitFor();
  assert.equal(await dmsForm.locator("#dms-hint").textContent(), "");
  assert.equal(await dmsForm.locator("#dms-strength").getAttribute("aria-label"), "Secret strength");
  await dmsForm.getByLabel("Repeat Domain Master Secret").fill("correct horse");
  await dmsForm.locator("#dms-repeat-hint", { hasText: "The two entries do not match." }).waitFor();
  await dmsForm.getByLabel("Repeat Domain Master Secret").fill("correct horse battery staple");
  assert.equal(await dmsForm.locator("#dms-repeat-hint").textContent(), "", "no hint once the entries match");

  step = "the DMS form refuses a mismatched repeat and a short secret, then sets it once";
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
  // Format v2: the restore key stays off the appliance unless the administrator asks.
  assert.equal(await dmsForm.getByLabel("Keep the restore key on this appliance").isChecked(), false,
    "a write-only appliance is the default");
  await dmsForm.getByRole("button", { name: "Set Domain Master Secret" }).click();
  await page.locator("#dms-set", { hasText: "DOMAIN MASTER SECRET IS SET" }).waitFor();
  assert.match(await page.locator("#dms-restore-key").textContent(), /not kept \(write-only/);
  assert.match(await page.locator("#dms-device-key").textContent(), /signing key: [0-9a-f:]{39}/);
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
  await accessible(page, "the storage browser dialog");
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

  step = "keyboard only: Tab reaches the nav, Create Backup Now, the settings and Browse Storage in order, focus drawn";
  await page.reload();
  await page.locator("#storage-current").waitFor();
  assert.equal(await page.locator("#welcome").count(), 0, "no welcome once the DMS is set and a backup made");
  const nowDisabled = await page.locator("#backup-now").isDisabled();
  const wanted = ["a Backup", "a Restore", "a Access", "a Audit log", ...(nowDisabled ? [] : ["button#backup-now"]),
    "input#prefix", "select#schedule-kind", "input#keep-last", "button Save Settings", "select#storage-type", "input#local-path", "button Browse Storage"];
  const visited = [];
  for (let i = 0; i < 80 && visited.length < 1000; ++i) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    visited.push(f.what);
    assert.ok(f.outline, `the focus on ${f.what} is drawn (outline)`);
    assert.ok(!f.disabled, `a disabled control takes no focus: ${f.what}`);
    if (f.what.startsWith("button") && f.what.includes("Browse Storage")) break;
  }
  let at = 0;
  for (const v of visited) if (at < wanted.length && v.startsWith(wanted[at])) ++at;
  assert.equal(at, wanted.length, `Tab order reached ${wanted.slice(0, at).join(" > ")}, missing ${wanted[at]}; visited: ${visited.join(" | ")}`);
  if (nowDisabled) assert.ok(!visited.some((v) => v.startsWith("button#backup-now")), "a disabled Create Backup Now is skipped");

  step = "keyboard only: the focus stays on Create Backup Now while the status is redrawn every second";
  if (!nowDisabled) {
    await page.locator("#backup-now").focus();
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Tab");
    await page.waitForTimeout(2500);  // the status stream redraws the block meanwhile
    assert.equal((await focused(page)).what.split(" ")[0], "button#backup-now");
  }

  step = "axe: the Backup page";
  await accessible(page, "Backup");

  step = "the new backup in the storage browser, with its Backup Details";
  await page.getByRole("button", { name: "Browse Storage" }).click();
  await dialog.locator("#browser-files button").first().click();
  await dialog.locator("#backup-details", { hasText: "valid, this domain" }).waitFor();
  // The whole file was read for its integrity (the signed trailer; no secret needed).
  await dialog.locator("#backup-details", { hasText: /Integrity\s*intact \(checked \d{4}-/ }).waitFor();
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
  // Waited for, not read once: a status stream that just (re)joined is first sent the last
  // status the daemon published, which may predate the save by up to a second.
  await page.locator("#next-run", { hasText: "02:30:00 CE", hasNotText: "Schedule Disabled" }).waitFor();

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
  // A genuine header followed by garbage (issue 13, finding 5): its header is shown, its
  // integrity is not, and it cannot be chosen.
  const headerEnd = 16 + bytes.readUInt32LE(12) + 64;
  const hollow = Buffer.concat([fs.readFileSync(good).subarray(0, headerEnd), Buffer.alloc(4096, 0x5a)]);
  fs.writeFileSync(`${process.env.KS_STORAGE}/site-a/vm_20200102T000000Z.ksb`, hollow);
  await page.getByRole("link", { name: "Backup", exact: true }).click();
  await page.getByRole("link", { name: "Restore" }).click();
  const hollowRow = page.locator("#backups tr", { hasText: "vm_20200102T000000Z.ksb" });
  await hollowRow.waitFor();
  assert.match(await hollowRow.textContent(), /this appliance's domain/);
  assert.match(await hollowRow.textContent(), /DAMAGED: chunk 0: length \d+ is out of range/);
  assert.ok(await hollowRow.getByRole("button", { name: /Choose/ }).isDisabled(), "a hollow backup cannot be restored");

  step = "Restore: a dry run reports what it would restore and changes nothing";
  await page.getByRole("button", { name: `Choose ${made}` }).click();
  await page.getByRole("heading", { name: `Restore ${made}` }).waitFor();
  assert.match(await page.locator("#restore-panel").textContent(), /valid, this domain/);
  assert.match(await page.locator("#restore-panel").textContent(), /Integrityintact \(checked/);
  // A write-only appliance asks for the DMS even for its own backups.
  await page.getByLabel("Domain Master Secret of the backup's domain").fill(DMS);
  await page.getByRole("button", { name: "Dry run" }).click();
  await page.locator("#last-restore", { hasText: "would restore" }).waitFor({ timeout: 60000 });
  assert.match(await page.locator("#last-restore").textContent(), /\(dry-run\): succeeded/);
  await shot(page, "restore");
  await page.getByRole("button", { name: `Choose ${made}` }).click();
  await page.getByRole("heading", { name: `Restore ${made}` }).waitFor();

  step = "axe: the Restore page with a backup chosen";
  await accessible(page, "Restore");

  step = "Restore: for real only behind the typed confirmation, keeping the network settings";
  await page.getByRole("button", { name: `Choose ${made}` }).click();
  await page.getByLabel("Keep this appliance's network settings").check();
  await page.getByLabel("Domain Master Secret of the backup's domain").fill(DMS);
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
    .or(page.getByRole("heading", { name: "Log in" })).waitFor({ timeout: 60000 });
  assert.equal(await page.getByRole("heading", { name: "Log in" }).count(), 0,
    "the session ended during the rollback (the login page is shown)");
  assert.equal(await page.locator("#rollback-feedback .message").count(), 0,
    await page.locator("#rollback-feedback").textContent());
  assert.match(await page.locator("#last-restore").textContent(), /\(rollback\): succeeded — returned to the state saved at/);
  await page.getByRole("button", { name: "Discard rollback point" }).click();
  await page.getByRole("status").filter({ hasText: "The rollback point was discarded" }).waitFor();
  await page.locator("#rollback", { hasText: "No rollback point" }).waitFor();

  step = "Restore: Download gives the backup file as stored, under its name";
  const downloads = fs.mkdtempSync(path.join(os.tmpdir(), "ks-webconf-dl-"));
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: `Download ${made}` }).click(),
  ]);
  assert.equal(download.suggestedFilename(), made);
  const downloaded = path.join(downloads, made);
  await download.saveAs(downloaded);
  assert.ok(fs.statSync(downloaded).size > 0, "the download is not empty");
  assert.ok(fs.readFileSync(downloaded).equals(fs.readFileSync(good)), "the download is the file on the storage");

  step = "Restore: Delete needs the name typed again; a wrong name shows the API's message at the field";
  const tampered = "vm_20200101T000000Z.ksb";  // the second backup file on the storage
  await page.getByRole("button", { name: `Delete ${tampered}` }).click();
  const confirmRow = page.locator("#backups tr.confirm-row:visible");
  await confirmRow.getByLabel(`Type ${tampered} to delete this backup from the storage`).fill("vm_20200101T000000Z");
  await confirmRow.getByRole("button", { name: "Delete permanently" }).click();
  await confirmRow.getByRole("alert").filter({ hasText: "must be the backup's name" }).waitFor();
  assert.ok(fs.existsSync(`${process.env.KS_STORAGE}/site-a/${tampered}`), "a wrong name deletes nothing");
  await confirmRow.getByLabel(`Type ${tampered} to delete this backup from the storage`).fill(tampered);
  await confirmRow.getByRole("button", { name: "Delete permanently" }).click();
  await page.getByRole("status").filter({ hasText: `${tampered} was deleted.` }).waitFor();
  assert.equal(await page.locator("#backups tr", { hasText: tampered }).count(), 0, "the row is gone");
  assert.ok(!fs.existsSync(`${process.env.KS_STORAGE}/site-a/${tampered}`), "the file is gone");
  assert.equal(await page.locator("#backups tr", { hasText: made }).count(), 1, "the other backup stays");

  step = "Restore: upload the downloaded file, see its details, choose it, dry run from the upload";
  assert.equal(await page.locator("#upload-none").textContent(), "No uploaded backup.");
  await page.getByLabel("Backup file", { exact: true }).setInputFiles(downloaded);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await page.getByRole("status").filter({ hasText: `${made} was uploaded.` }).waitFor();
  const uploaded = page.locator("#uploaded");
  assert.match(await uploaded.textContent(), new RegExp(made.replace(".", "\\.")));
  await uploaded.getByRole("table", { name: `Backup Details of the uploaded ${made}` }).getByText("valid, this domain").waitFor();
  await shot(page, "restore-upload");
  await accessible(page, "Restore with an upload");
  await uploaded.getByRole("button", { name: `Choose uploaded ${made}` }).click();
  await page.getByRole("heading", { name: `Restore the uploaded ${made}` }).waitFor();
  await page.getByLabel("Domain Master Secret of the backup's domain").fill(DMS);
  await page.getByRole("button", { name: "Dry run" }).click();
  await page.getByRole("status").filter({ hasText: "Dry run started" }).waitFor();
  await page.locator("#last-restore", { hasText: "would restore" }).waitFor({ timeout: 60000 });
  assert.match(await page.locator("#last-restore").textContent(), /\(dry-run\): succeeded/);

  step = "disaster recovery: a fresh appliance restores the uploaded backup with its DMS";
  if (process.env.KS_FRESH_URL) {
    // Its own browser context: cookies do not tell ports apart, the two sessions would mix.
    const freshContext = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const fresh = await freshContext.newPage();
    fresh.on("pageerror", (e) => consoleErrors.push(`fresh: ${e}`));
    await fresh.goto(`${process.env.KS_FRESH_URL}/`);
    await fresh.getByLabel("Username").fill("otp-admin");
    await fresh.getByLabel("Password").fill(process.env.KS_FRESH_OTP);
    await fresh.getByRole("button", { name: "Log in" }).click();
    await fresh.getByRole("button", { name: "Restore system from backup" }).click();
    await fresh.locator("#upload-file:focus").waitFor();
    await fresh.getByLabel("Backup file", { exact: true }).setInputFiles(downloaded);
    await fresh.getByRole("button", { name: "Upload", exact: true }).click();
    await fresh.getByRole("status").filter({ hasText: `${made} was uploaded.` }).waitFor();
    await fresh.getByRole("button", { name: `Choose uploaded ${made}` }).click();
    await fresh.getByRole("heading", { name: `Restore the uploaded ${made}` }).waitFor();
    debugPage = fresh;
    const freshDms = fresh.getByLabel("Domain Master Secret of the backup's domain");
    await freshDms.waitFor({ timeout: 5000 });  // a backup of another domain asks for its DMS
    await freshDms.fill(DMS);
    await fresh.getByLabel(/Type RESTORE/).fill("RESTORE");
    await fresh.getByRole("button", { name: "Restore", exact: true }).click();
    // The restore brings the first appliance's accounts: the OTP User's session may end with it.
    const restored = fresh.locator("#last-restore", { hasText: /manual\): succeeded — restored/ });
    await restored.or(fresh.getByRole("heading", { name: "Log in" })).waitFor({ timeout: 60000 });
    if (!(await restored.isVisible())) {
      await fresh.getByLabel("Username").fill("admin");
      await fresh.getByLabel("Password").fill(ADMIN_PASSWORD);
      await fresh.getByRole("button", { name: "Log in" }).click();
      await fresh.getByRole("heading", { name: "Restore", exact: true }).waitFor();
      await restored.waitFor({ timeout: 60000 });
    }
    await fresh.locator("#upload-none").waitFor();  // a restore that succeeds frees the upload
    await shot(fresh, "fresh-restored");
    await fresh.getByRole("link", { name: "Backup", exact: true }).click();
    await fresh.locator("#dms-set", { hasText: "DOMAIN MASTER SECRET IS SET" }).waitFor();
    await freshContext.close();
    debugPage = null;
  }

  step = "Restore: the uploaded backup is deleted";
  await page.getByRole("button", { name: "Delete uploaded backup" }).click();
  await page.getByRole("status").filter({ hasText: "The uploaded backup was deleted." }).waitFor();
  await page.locator("#upload-none").waitFor();

  step = "the audit log: newest first, filtered";
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("heading", { name: "Audit log" }).waitFor();
  assert.match(await page.locator("#audit tbody tr").first().textContent(), /backup\.upload_discarded/);
  await page.locator("#audit-filter").fill("account.added");
  await page.locator("#audit-filter").press("Enter");
  await page.locator("#audit-count", { hasText: "of 2," }).waitFor();
  const events = await page.locator("#audit tbody tr td:nth-child(4)").allTextContents();
  assert.deepEqual(events, ["account.added", "account.added"], "the OTP User at first start, then admin");
  await shot(page, "audit");

  step = "axe: the Audit log page";
  await accessible(page, "Audit log");

  step = "a backup of a large appliance: BACKUP IN PROGRESS with a moving progress bar, then NOT RUNNING";
  // 5 GiB of zeros (a sparse file: no disk used) take the backup several seconds to read,
  // hash and compress (about 0.4 GiB/s here), so the status stream shows it moving. (Onto
  // NFS such a backup once failed: its pauses outlasted libnfs's timeout; see STORAGE.md.)
  const big = path.join(process.env.KS_APPLIANCE, "firmware", "large.img");
  fs.closeSync(fs.openSync(big, "w"));
  fs.truncateSync(big, 5 * 1024 ** 3);
  try {
    await page.getByRole("link", { name: "Backup", exact: true }).click();
    await page.getByRole("heading", { name: "Backup", exact: true }).waitFor();
    const now = page.getByRole("button", { name: "Create Backup Now" });
    for (let i = 0; i < 50 && await now.isDisabled(); ++i) {
      await page.waitForTimeout(200);
      await page.reload();
    }
    await now.click();
    await page.locator("#backup-state", { hasText: "BACKUP IN PROGRESS" }).waitFor({ timeout: 15000 });
    const bar = page.locator("#status-block progress");
    await bar.waitFor();
    const first = Number((await bar.getAttribute("value")) ?? 0);
    // Moving: the status stream brings a higher percent, without a reload, while it runs.
    await page.waitForFunction((start) => {
      const p = document.querySelector("#status-block progress");
      return p !== null && Number(p.getAttribute("value") ?? 0) > start;
    }, first, { timeout: 30000 });
    await shot(page, "backup-in-progress");
    await page.locator("#backup-state", { hasText: "NOT RUNNING" }).waitFor({ timeout: 120000 });
    await page.locator("#history tbody tr").first().filter({ hasText: "succeeded" }).waitFor();
  } finally {
    fs.unlinkSync(big);
  }

  if (process.env.KS_NFS) {
    step = "an NFS export through the storage browser (nfs-ganesha): down, Storage Information, Use This Location";
    await page.getByRole("link", { name: "Backup", exact: true }).click();
    await page.getByRole("heading", { name: "Backup", exact: true }).waitFor();
    await page.getByLabel("Storage Type").selectOption("nfs");
    await page.getByLabel("NFS export (nfs://server/export/path)").fill(process.env.KS_NFS);
    await page.getByLabel("NFS version").selectOption("4");
    await page.getByRole("button", { name: "Browse Storage" }).click();
    await dialog.getByRole("heading", { name: "Browse Storage" }).waitFor();
    await dialog.locator("#storage-info").getByRole("row", { name: /Permission/ }).waitFor();
    assert.equal(await dialog.locator("#storage-info").getByRole("row", { name: /Permission/ }).locator("td").textContent(), "read/write");
    assert.match(await dialog.locator("#storage-info").textContent(), /Total Disk Space/);
    await dialog.getByRole("button", { name: "nfs-site" }).click();
    await dialog.locator("#browser-where", { hasText: "/nfs-site" }).waitFor();
    await dialog.getByRole("button", { name: "Use This Location" }).click();
    await page.getByRole("status").filter({ hasText: "Successfully updated backup storage configuration." }).waitFor();
    assert.match(await page.locator("#storage-current").textContent(), /Backups go to nfs:\/\/127\.0\.0\.1:\d+\/rw\/nfs-site$/);

    step = "Create Backup Now onto the NFS export";
    const onNfs = page.getByRole("button", { name: "Create Backup Now" });
    for (let i = 0; i < 50 && await onNfs.isDisabled(); ++i) {  // readiness is refreshed in the background
      await page.waitForTimeout(200);
      await page.reload();
    }
    const before = await page.locator("#last-success").textContent();
    await onNfs.click();
    await page.locator("#last-success", { hasText: /\.ksb/ }).filter({ hasNotText: before }).waitFor({ timeout: 60000 });
  } else {
    console.log("the NFS steps are skipped (no KS_NFS: nfs-ganesha cannot run here)");
  }

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
  console.log(`axe, moderate and minor findings (not failing): ${JSON.stringify(axeMinor)}`);
  console.log("webconf e2e: every step passed");
} catch (e) {
  console.error(`webconf e2e failed at: ${step}\n${e.stack || e}\nscript errors: ${JSON.stringify(consoleErrors)}`);
  await page?.screenshot({ path: `${shots}/failed.png`, fullPage: true }).catch(() => null);  // what the page showed
  await debugPage?.screenshot({ path: `${shots}/failed-fresh.png`, fullPage: true }).catch(() => null);
  process.exitCode = 1;
} finally {
  await browser.close();
}
