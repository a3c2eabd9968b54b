// The Webconf: plain JavaScript modules on the REST API (docs/openapi.yaml), no framework
// and no build step (docs/WEBCONF.md says why). Every text from the API is put into the page
// with textContent, never as HTML. The session lives in the HttpOnly cookie the API sets;
// state changes carry the CSRF token from the readable cookie, as the API requires.

const main = document.getElementById("main");

// --- DOM helpers -----------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function message(kind, text) {
  return el("div", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status", text });
}

// --- API -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)keepsake_csrf=([^;]+)/);
  return match ? match[1] : "";
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  let payload;
  if (body instanceof URLSearchParams) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  const data = res.headers.get("Content-Type")?.includes("application/json") ? await res.json() : null;
  if (res.status === 401 && path !== "/oauth/token") {
    // Never a blank page: an expired session goes back to the login page, saying so.
    showLogin(session ? { kind: "error", text: "Your session has ended. Log in again." } : null);
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// --- Session ---------------------------------------------------------------------------

let session = null;  // {username, otp_user}
let poller = null;
let events = null;  // the status stream of the Backup page
let generation = 0;  // which page drawing is current: an older one still loading must not draw

// Ends the updates of the page shown so far; returns the new page drawing's generation.
function stopPolling() {
  if (poller) clearTimeout(poller);
  poller = null;
  // Left open, a stream keeps reconnecting: six of them take every connection the browser
  // allows this host, and each later request waits forever.
  if (events) events.close();
  events = null;
  return ++generation;
}

// The Backup Status as the daemon pushes it (server-sent events, GET /api/v1/events): one
// open connection instead of a request a second. EventSource reconnects by itself when the
// stream ends; a refused stream (the session ended) is checked through the API, which shows
// the login page on 401.
function watchStatus(onStatus) {
  if (events) events.close();
  events = new EventSource("/api/v1/events");
  events.addEventListener("status", (e) => onStatus(JSON.parse(e.data)));
  events.addEventListener("error", () => {
    if (events?.readyState === EventSource.CLOSED) api("GET", "/api/v1/session").catch(() => null);
  });
}

// Shows `page` again in a second; an answer that fails meanwhile (a restore swapping the
// state in, a slow storage) is tried again rather than ending the updates.
function pollAgain(page) {
  poller = setTimeout(() => page().catch((e) => (e.status === 401 ? null : pollAgain(page))), 1000);
}

function showLogin(note) {
  stopPolling();
  session = null;
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("otp-banner").hidden = true;
  document.getElementById("who").textContent = "";
  const error = el("div");
  const form = el(
    "form",
    { class: "card", "aria-labelledby": "login-title" },
    el("h1", { id: "login-title", text: "Log in" }),
    el("label", { for: "username", text: "Username" }),
    el("input", { id: "username", name: "username", autocomplete: "username", required: true }),
    el("label", { for: "password", text: "Password" }),
    el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Log in" })),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = new URLSearchParams({
      grant_type: "password",
      username: form.username.value,
      password: form.password.value,
    });
    try {
      await api("POST", "/oauth/token", params);
      form.password.value = "";
      await start();
    } catch (e) {
      error.replaceChildren(message("error", e.message));  // the API's words: wrong password, try again in N s
    }
  });
  show(note ? message(note.kind, note.text) : "", form);
  form.username.focus();
}

async function start() {
  try {
    session = await api("GET", "/api/v1/session");
  } catch (e) {
    if (e.status !== 401) show(message("error", e.message));
    return;
  }
  document.getElementById("who").textContent = session.otp_user ? `${session.username} (Initial OTP User)` : session.username;
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  await refreshBanner();
  route();
}

// While the Initial OTP User exists, every page says what to do about it.
async function refreshBanner() {
  const { users } = await api("GET", "/api/v1/users");
  document.getElementById("otp-banner").hidden = !users.some((u) => u.otp_user);
}

// --- Backup page -----------------------------------------------------------------------

function timeCell(when, words) {
  return el("time", { datetime: when, title: when, tabindex: "0", text: words });
}

function statusRows(s) {
  const rows = [];
  const current = el("td", {}, el("strong", { id: "backup-state", text: s.state }));
  if (s.job) {
    const pct = s.job.percent;
    current.append(
      el("div", {}, `${s.job.phase}`, pct !== null ? ` — ${pct}%` : "", s.job.eta_seconds !== null ? `, about ${s.job.eta_seconds} s left` : ""),
      el("progress", { max: "100", value: pct ?? false, "aria-label": "Progress" }),
    );
  }
  rows.push(el("tr", {}, el("th", { scope: "row", text: "Current Backup Status" }), current));
  const last = s.last_successful_backup;
  rows.push(
    el("tr", {}, el("th", { scope: "row", text: "Last Successful Backup" }),
      el("td", { id: "last-success" }, last ? [timeCell(last.time, last.ago), el("div", { class: "muted", text: last.file })] : "Never")),
  );
  const next = s.next_scheduled_backup;
  const nextCell = el("td", { id: "next-run" });
  if (next) {
    nextCell.append(timeCell(next.time, `${next.in} (${next.local})`));
  } else {
    nextCell.append(el("strong", { text: "Schedule Disabled" }),
      el("ul", { class: "reasons" }, s.schedule_disabled_reasons.map((r) => el("li", { text: r }))));
  }
  rows.push(el("tr", {}, el("th", { scope: "row", text: "Next Scheduled Backup Execution" }), nextCell));
  if (s.last_failure) {
    rows.push(el("tr", {}, el("th", { scope: "row", text: "Last Failure" }),
      el("td", {}, timeCell(s.last_failure.time, s.last_failure.time), el("div", { text: s.last_failure.error }))));
  }
  if (s.storage) {
    rows.push(el("tr", {}, el("th", { scope: "row", text: "Backup Storage" }),
      el("td", { text: `${s.storage.free} free of ${s.storage.total} (${s.storage.permission})` })));
  }
  return rows;
}

// The status table, Create Backup Now (disabled with the reasons) and the warnings: the part
// of the Backup page that the status stream redraws.
function statusBlock(s, feedback) {
  const blocked = s.backup_blockers.length > 0 || s.state !== "NOT RUNNING";
  const why = s.state !== "NOT RUNNING" ? `A job is running: ${s.state}.` : s.backup_blockers.join(" ");
  const button = el("button", {
    type: "button",
    id: "backup-now",
    disabled: blocked,
    "aria-describedby": blocked ? "backup-now-why" : false,
    text: "Create Backup Now",
    onclick: async () => {
      try {
        const { job } = await api("POST", "/api/v1/backups");
        feedback.replaceChildren(message("ok", `Backup ${job.id} started.`));
      } catch (e) {
        feedback.replaceChildren(message("error", e.message));
      }
    },
  });
  return [
    el("table", { id: "status-table" }, el("tbody", {}, statusRows(s))),
    s.warnings.map((w) => message("error", w)),
    el("div", { class: "actions" }, button, blocked ? el("span", { id: "backup-now-why", class: "muted", text: why }) : ""),
  ];
}

async function showBackup(note) {
  const mine = stopPolling();
  const s = await api("GET", "/api/v1/status");
  const feedback = el("div", { id: "backup-feedback", "aria-live": "polite" }, note || "");
  const block = el("div", { id: "status-block" }, statusBlock(s, feedback));
  const [dms, storage, schedule, settings, jobs] = await Promise.all([
    api("GET", "/api/v1/dms"), api("GET", "/api/v1/storage"), api("GET", "/api/v1/schedule"),
    api("GET", "/api/v1/settings"), api("GET", "/api/v1/jobs?limit=20")]);
  if (mine !== generation) return;  // another page (or a newer drawing of this one) took over meanwhile
  show(
    el("h1", { text: "Backup" }),
    !dms.set && !jobs.jobs.some((j) => j.kind === "backup") ? welcomeCard() : "",
    el("h2", { text: "Backup Status" }),
    block,
    feedback,
    dmsSection(dms),
    scheduleSection(schedule, settings),
    storageSection(storage.storage),
    historySection(jobs.jobs),
  );
  // Live: the status part follows every change; when a job ends, the whole page is read
  // again (its history, the backups, the last success).
  // A job too short to be seen running still changes the last success or failure.
  const outcome = (st) => `${st.last_successful_backup?.time} ${st.last_failure?.time}`;
  let running = s.state !== "NOT RUNNING";
  watchStatus((now) => {
    const ended = now.state === "NOT RUNNING" && (running || outcome(now) !== outcome(s));
    if (ended) return showBackup(feedback.firstChild).catch(() => null);
    running = now.state !== "NOT RUNNING";
    // Redrawn every second (the times count): what had the keyboard focus keeps it.
    const focusables = () => [...block.querySelectorAll("button, [tabindex]")];
    const focused = focusables().indexOf(document.activeElement);
    block.replaceChildren(...statusBlock(now, feedback).flat());
    if (focused >= 0) (focusables()[focused] || block.querySelector("#backup-now"))?.focus();
  });
}

// A fresh appliance (no DMS, no backup yet): the two ways on, set up backups or restore a
// backup of this system taken elsewhere.
let focusUpload = false;  // the Restore page focuses its upload section once when set

function welcomeCard() {
  return el("section", { class: "card wide welcome", id: "welcome", "aria-labelledby": "welcome-title" },
    el("h2", { id: "welcome-title", text: "A new appliance" }),
    el("p", { text: "No backup has been made here yet. Set up backups of this appliance, or restore this system from a backup file of an earlier installation." }),
    el("div", { class: "actions" },
      el("button", { type: "button", id: "welcome-setup", text: "Set up backups", onclick: () => {
        const input = document.getElementById("dms");
        input?.scrollIntoView?.({ block: "center" });
        input?.focus();
      } }),
      el("button", { type: "button", class: "secondary", id: "welcome-restore", text: "Restore system from backup", onclick: () => {
        focusUpload = true;
        location.hash = "#restore";
      } })));
}

// "Set Domain Master Secret": once only; afterwards the fingerprint and no form.
function dmsSection(dms) {
  const section = el("section", { "aria-labelledby": "dms-title" }, el("h2", { id: "dms-title", text: "Backup Settings" }));
  if (dms.set) {
    const lines = [el("strong", { text: "DOMAIN MASTER SECRET IS SET" }),
      el("br"), el("span", { class: "muted", text: `Domain fingerprint: ${dms.fingerprint || dms.error || ""}` })];
    if (dms.device_key) lines.push(el("br"), el("span", { class: "muted", id: "dms-device-key", text: `This appliance's signing key: ${dms.device_key}` }));
    if (!dms.error) {
      lines.push(el("br"), el("span", { class: "muted", id: "dms-restore-key", text: dms.restore_key_kept
        ? "Restore key: kept on this appliance (restores here need no Domain Master Secret)"
        : "Restore key: not kept (write-only appliance: a restore asks for the Domain Master Secret)" }));
    }
    section.append(el("p", { id: "dms-set" }, ...lines));
    return section;
  }
  const feedback = el("div");
  const keepRestoreKey = el("input", { type: "checkbox", id: "keep-restore-key", "aria-describedby": "keep-restore-key-help" });
  const secret = el("input", { id: "dms", name: "dms", type: "password", autocomplete: "new-password", required: true,
    "aria-describedby": "dms-help dms-hint" });
  const repeat = el("input", { id: "dms-repeat", name: "confirmation", type: "password", autocomplete: "new-password", required: true,
    "aria-describedby": "dms-repeat-hint" });
  const meter = el("meter", { id: "dms-strength", min: "0", max: "4", low: "1.5", high: "2.5", optimum: "4", value: "0", "aria-label": "Secret strength" });
  const strengthText = el("span", { id: "dms-strength-text" });
  const strength = el("div", { class: "strength", hidden: true }, meter, " ", strengthText);
  const hint = el("p", { id: "dms-hint", class: "hint", "aria-live": "polite" });
  const repeatHint = el("p", { id: "dms-repeat-hint", class: "hint", "aria-live": "polite" });
  // Guidance while typing. The strength is the server's own rating (zxcvbn, the rule that
  // setting the DMS applies), asked for once typing pauses, over the same TLS session that
  // will carry the secret to set it; nothing is stored or logged there.
  let rateTimer = null;
  let rated = 0;  // answers that arrive after newer typing are dropped
  const rate = async (value, ticket) => {
    try {
      const r = await api("POST", "/api/v1/dms/strength", { dms: value });
      if (ticket !== rated || secret.value !== value) return;
      meter.value = r.score;
      strengthText.textContent = `Strength: ${r.words}`;
      hint.textContent = r.acceptable ? "" : r.problem;
    } catch (e) {
      if (ticket === rated) hint.textContent = e.message;  // e.g. not valid text
    }
  };
  const guide = () => {
    const value = secret.value;
    strength.hidden = value === "";
    clearTimeout(rateTimer);
    rated += 1;
    if (value !== "" && [...value].length < 8) {
      meter.value = 0;
      strengthText.textContent = "Strength: too short";
      hint.textContent = `Too short: at least 8 characters, ${8 - [...value].length} more.`;
    } else if (value !== "") {
      const ticket = rated;
      rateTimer = setTimeout(() => rate(value, ticket), 250);
    } else {
      hint.textContent = "";
    }
    repeatHint.textContent = repeat.value !== "" && repeat.value !== value ? "The two entries do not match." : "";
  };
  secret.addEventListener("input", guide);
  repeat.addEventListener("input", guide);
  const form = el("form", { class: "card", id: "dms-form", "aria-labelledby": "dms-form-title" },
    el("h3", { id: "dms-form-title", text: "Set Domain Master Secret" }),
    el("p", { id: "dms-help", class: "muted", text: "At least 8 characters, and not easy to guess: several unrelated words make a good one. It encrypts and signs every backup, can be set only once and must be kept for the lifetime of the appliance: without it a backup cannot be restored on another appliance." }),
    el("label", { for: "dms", text: "Domain Master Secret" }),
    secret, strength, hint,
    el("label", { for: "dms-repeat", text: "Repeat Domain Master Secret" }),
    repeat, repeatHint,
    el("label", { class: "check" }, keepRestoreKey, " Keep the restore key on this appliance"),
    el("p", { id: "keep-restore-key-help", class: "muted", text: "Off (recommended): this appliance makes and checks backups but cannot open them; every restore asks for the Domain Master Secret, and a copy of its disk reads no backup. On: restores here need no secret, and whoever copies this appliance's disk can read every backup of the domain." }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Set Domain Master Secret" })),
    feedback);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/api/v1/dms", { dms: form.dms.value, confirmation: form.confirmation.value,
        keep_restore_key: keepRestoreKey.checked });
      await showBackup(message("ok", "The Domain Master Secret is set."));
    } catch (e) {
      feedback.replaceChildren(message("error", e.message));  // the API names the rule broken
    }
  });
  section.append(form);
  return section;
}

// --- Filename prefix, Automated Backup Schedule, retention -------------------------------

const KINDS = [["none", "None"], ["hourly", "Hourly"], ["daily", "Daily"], ["weekly", "Weekly"], ["monthly", "Monthly"], ["cron", "Cron (Quartz)"]];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const FIELDS_OF = {
  none: [], hourly: ["minute"], daily: ["hour", "minute"], weekly: ["day_of_week", "hour", "minute"],
  monthly: ["day_of_month", "hour", "minute"], cron: ["cron"],
};

function numberField(id, label, value, min, max) {
  return [el("label", { for: id, text: label }), el("input", { id, type: "number", min: String(min), max: String(max), value: String(value ?? min) })];
}

function scheduleSection(schedule, settings) {
  const feedback = el("div", { id: "schedule-feedback" });
  const preview = el("div", { id: "schedule-preview", "aria-live": "polite" });
  const kind = el("select", { id: "schedule-kind" }, KINDS.map(([v, l]) => el("option", { value: v, selected: v === schedule.kind, text: l })));
  const fields = el("div");
  const zones = el("datalist", { id: "zones" }, (Intl.supportedValuesOf?.("timeZone") || []).map((z) => el("option", { value: z })));
  const zone = el("input", { id: "schedule-zone", list: "zones", value: schedule.time_zone || "UTC" });
  const cronError = el("div", { id: "cron-error" });
  const render = () => {
    const k = kind.value;
    const f = FIELDS_OF[k];
    fields.replaceChildren(
      ...(f.includes("day_of_week") ? [el("label", { for: "schedule-dow", text: "Day of Week" }),
        el("select", { id: "schedule-dow" }, DAYS.map((d, i) => el("option", { value: String(i + 1), selected: schedule.day_of_week === i + 1, text: d })))] : []),
      ...(f.includes("day_of_month") ? [el("label", { for: "schedule-dom", text: "Day of Month" }),
        el("select", { id: "schedule-dom" }, [...Array.from({ length: 28 }, (_, i) => [String(i + 1), String(i + 1)]), ["-1", "Last day of the month"]]
          .map(([v, l]) => el("option", { value: v, selected: String(schedule.day_of_month) === v, text: l })))] : []),
      ...(f.includes("hour") ? numberField("schedule-hour", "Hour of Day", schedule.hour, 0, 23) : []),
      ...(f.includes("minute") ? numberField("schedule-minute", "Minute of Hour", schedule.minute, 0, 59) : []),
      ...(f.includes("cron") ? [el("label", { for: "schedule-cron", text: "Quartz expression" }),
        el("input", { id: "schedule-cron", value: schedule.cron || "0 0 2 ? * MON-FRI", "aria-describedby": "cron-error" }), cronError] : []),
      ...(k !== "none" ? [el("label", { for: "schedule-zone", text: "Time zone" }), zone, zones] : []),
    );
    for (const input of fields.querySelectorAll("input, select")) input.addEventListener("change", refresh);
    refresh();
  };
  const body = () => {
    const k = kind.value;
    const b = { kind: k };
    const num = (id) => Number(fields.querySelector(`#${id}`)?.value);
    if (FIELDS_OF[k].includes("minute")) b.minute = num("schedule-minute");
    if (FIELDS_OF[k].includes("hour")) b.hour = num("schedule-hour");
    if (k === "weekly") b.day_of_week = num("schedule-dow");
    if (k === "monthly") b.day_of_month = num("schedule-dom");
    if (k === "cron") b.cron = fields.querySelector("#schedule-cron").value;
    if (k !== "none") b.time_zone = zone.value;
    return b;
  };
  // The next 5 runs, as the fields change; an invalid field gets the API's message beside it.
  async function refresh() {
    cronError.replaceChildren();
    try {
      const p = await api("POST", "/api/v1/schedule/preview", body());
      preview.replaceChildren(p.next_runs.length
        ? el("div", {}, el("strong", { text: "Next runs: " }), el("ol", { id: "next-runs" }, p.next_runs.map((r) => el("li", {}, el("time", { datetime: r.time, text: r.local })))))
        : el("p", { class: "muted", text: kind.value === "none" ? "No scheduled backups." : "This schedule never runs." }));
    } catch (e) {
      preview.replaceChildren();
      (kind.value === "cron" ? cronError : preview).replaceChildren(message("error", e.message));
    }
  }
  kind.addEventListener("change", render);
  const prefix = el("input", { id: "prefix", value: settings.prefix, placeholder: "none" });
  const keep = (name, label) => numberField(`keep-${name}`, label, settings.retention[`keep_${name}`], 0, 1000);
  const save = el("button", { type: "button", text: "Save Settings", onclick: async () => {
    try {
      const retention = Object.fromEntries(["last", "daily", "weekly", "monthly"].map((n) => [`keep_${n}`, Number(document.getElementById(`keep-${n}`).value)]));
      await api("PUT", "/api/v1/settings", { prefix: prefix.value, retention });
      await api("PUT", "/api/v1/schedule", body());
      await showBackup(message("ok", "Settings saved."));
    } catch (e) {
      feedback.replaceChildren(message("error", e.message));
    }
  } });
  render();
  return el("section", { "aria-labelledby": "schedule-title" },
    el("div", { class: "card wide" },
      el("h3", { id: "schedule-title", text: "Backup Filename and Automated Backup Schedule" }),
      el("label", { for: "prefix", text: "Backup Filename prefix (optional)" }), prefix,
      el("label", { for: "schedule-kind", text: "Automated Backup Schedule" }), kind, fields, preview,
      el("h3", { text: "Retention" }),
      el("p", { class: "muted", text: "How many backups to keep; 0 everywhere keeps every backup. Only this appliance's backups with this prefix are ever deleted." }),
      keep("last", "Keep the newest"), keep("daily", "Daily backups to keep"), keep("weekly", "Weekly backups to keep"), keep("monthly", "Monthly backups to keep"),
      el("div", { class: "actions" }, save), feedback));
}

// --- Job history -------------------------------------------------------------------------

function historySection(jobs) {
  const seconds = (ms) => (ms === null ? "" : `${(ms / 1000).toFixed(1)} s`);
  return el("section", { "aria-labelledby": "history-title" },
    el("h2", { id: "history-title", text: "Job History" }),
    jobs.length === 0 ? el("p", { class: "muted", text: "No jobs yet." }) :
      el("table", { id: "history" },
        el("thead", {}, el("tr", {}, ["Started", "Job", "Trigger", "Result", "Duration", "Size", "File / message"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, jobs.map((j) => el("tr", {},
          el("td", {}, el("time", { datetime: j.started_at, text: j.started_at })),
          el("td", { text: j.kind }), el("td", { text: j.trigger }), el("td", { text: j.result }),
          el("td", { text: seconds(j.duration_ms) }), el("td", { text: j.size === null ? "" : String(j.size) }),
          el("td", { text: [j.file, j.error, j.summary].filter(Boolean).join(": ") }))))));
}

// --- Backup Storage Settings and the storage browser ------------------------------------

const STORAGE_TYPES = [
  ["none", "None"],
  ["nfs", "Network File System (NFS)"],
  ["usb", "USB drive"],
  ["local", "Local directory"],
];

function storageSection(current) {
  const feedback = el("div", { id: "storage-feedback" });
  const type = el("select", { id: "storage-type" },
    STORAGE_TYPES.map(([value, label]) => el("option", { value, selected: value === current.type, text: label })));
  const fields = el("div");
  const url = () => storageUrl(type.value, fields);
  const browse = el("button", { type: "button", class: "secondary", text: "Browse Storage",
    onclick: () => { feedback.replaceChildren(); openBrowser(url(), "", feedback).catch((e) => feedback.replaceChildren(message("error", e.message))); } });
  const save = el("button", { type: "button", text: "Save Storage Settings",
    onclick: async () => {
      try {
        const res = await api("PUT", "/api/v1/storage", type.value === "none" ? { type: "none" } : { url: url() });
        await showBackup(message("ok", res.message));
      } catch (e) {
        feedback.replaceChildren(message("error", e.message));
      }
    } });
  const render = () => {
    fields.replaceChildren(...storageFields(type.value, current));
    browse.hidden = type.value === "none";
  };
  type.addEventListener("change", render);
  render();
  return el("section", { "aria-labelledby": "storage-title" },
    el("h2", { id: "storage-title", text: "Backup Storage Settings" }),
    el("p", { class: "muted", id: "storage-current", text: current.type === "none" ? "No backup storage is configured." : `Backups go to ${current.url}` }),
    el("div", { class: "card" },
      el("label", { for: "storage-type", text: "Storage Type" }), type, fields,
      el("div", { class: "actions" }, browse, save)),
    feedback);
}

function storageFields(kind, current) {
  if (kind === "nfs") {
    const m = (current.url || "").match(/^nfs:\/\/([^?]*)(?:\?version=([\d.]+))?/);
    return [
      el("label", { for: "nfs-location", text: "NFS export (nfs://server/export/path)" }),
      el("div", { class: "prefixed" }, el("span", { text: "nfs://" }),
        el("input", { id: "nfs-location", value: m ? m[1] : "", placeholder: "nas.example.com/backups", "aria-describedby": "nfs-help" })),
      el("p", { id: "nfs-help", class: "muted", text: "Server, then the export's path; a port as server:port." }),
      el("label", { for: "nfs-version", text: "NFS version" }),
      el("select", { id: "nfs-version" }, ["4", "4.1", "4.2"].map((v) => el("option", { value: v, selected: m && m[2] === v, text: v === "4" ? "4 (4.0)" : v }))),
    ];
  }
  if (kind === "local") {
    return [el("label", { for: "local-path", text: "Directory (an absolute path on the appliance)" }),
      el("input", { id: "local-path", value: current.path || "", placeholder: "/srv/backups" })];
  }
  if (kind === "usb") {
    const list = el("div", { id: "usb-drives" }, el("p", { class: "muted", text: "Looking for USB drives…" }));
    api("GET", "/api/v1/storage/usb").then(({ drives }) => {
      const offered = drives.flatMap((d) => d.volumes.filter((v) => v.url).map((v) => [v.url, `${v.label || v.uuid} — ${v.capacity.free} free of ${v.capacity.total} (${d.vendor} ${d.model})`]));
      const refused = drives.flatMap((d) => (d.supported ? d.volumes.filter((v) => !v.url) : [{ label: d.device, reason: d.reason }]).map((v) => `${v.label || v.uuid || d.device}: ${v.reason}`));
      list.replaceChildren(
        el("label", { for: "usb-volume", text: "USB drive" }),
        offered.length ? el("select", { id: "usb-volume" }, offered.map(([value, label]) => el("option", { value, selected: value === current.url, text: label })))
          : el("p", { text: "No usable USB drive is attached." }),
        refused.length ? el("ul", { class: "reasons" }, refused.map((r) => el("li", { text: r }))) : "");
    }).catch((e) => list.replaceChildren(message("error", e.message)));
    return [list];
  }
  return [];
}

function storageUrl(kind, fields) {
  const value = (id) => fields.querySelector(`#${id}`)?.value.trim() || "";
  if (kind === "nfs") return `nfs://${value("nfs-location")}?version=${value("nfs-version") || "4"}`;
  if (kind === "local") return `file://${value("local-path")}`;
  if (kind === "usb") return value("usb-volume");
  return "";
}

// The storage browser dialog: one directory at a time, its information, Backup Details of a
// clicked backup, and "Use This Location".
async function openBrowser(url, path, feedback) {
  const params = new URLSearchParams({ url, path });
  const filterBox = document.getElementById("browser-filter");
  if (filterBox?.value) params.set("filter", filterBox.value);
  const listing = await api("GET", `/api/v1/storage/browse?${params}`);
  let dialog = document.getElementById("browser");
  if (!dialog) {
    dialog = el("dialog", { id: "browser", "aria-labelledby": "browser-title" });
    document.body.append(dialog);
  }
  const info = listing.info;
  const details = el("div", { id: "backup-details" });
  const filter = el("input", { id: "browser-filter", type: "search", value: filterBox?.value || "", placeholder: "Part of a name" });
  filter.addEventListener("change", () => openBrowser(url, path, feedback).catch((e) => details.replaceChildren(message("error", e.message))));
  const dirs = listing.entries.filter((e) => e.type === "directory");
  const files = listing.entries.filter((e) => e.type === "file");
  dialog.replaceChildren(
    el("h2", { id: "browser-title", text: "Browse Storage" }),
    el("p", { class: "muted", id: "browser-where", text: `${listing.url}${listing.path ? "/" + listing.path : ""}` }),
    el("label", { for: "browser-filter", text: "Filter" }), filter,
    el("div", { class: "actions" },
      el("button", { type: "button", class: "secondary", disabled: listing.parent === null, text: "One level up",
        onclick: () => openBrowser(url, listing.parent ?? "", feedback) })),
    el("h3", { text: "Directories" }),
    dirs.length ? el("ul", { id: "browser-dirs" }, dirs.map((d) => el("li", {}, el("button", { type: "button", class: "link", text: d.name,
      onclick: () => openBrowser(url, listing.path ? `${listing.path}/${d.name}` : d.name, feedback) })))) : el("p", { class: "muted", text: "No directories here." }),
    el("h3", { text: "Files" }),
    files.length ? el("ul", { id: "browser-files" }, files.map((f) => el("li", {},
      f.backup ? el("button", { type: "button", class: "link", text: f.name, onclick: () => showDetails(url, listing.path ? `${listing.path}/${f.name}` : f.name, details) }) : el("span", { text: f.name }),
      el("span", { class: "muted", text: ` ${f.size_human}` })))) : el("p", { class: "muted", text: "No files here." }),
    details,
    el("h3", { text: "Storage Information" }),
    el("table", { id: "storage-info" }, el("tbody", {},
      [["Permission", info.permission], ["Used Disk Space", info.used], ["Remaining Disk Space", `${info.free} (${info.free_percent}%)`], ["Total Disk Space", info.total]]
        .map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: v }))))),
    info.warning ? message("error", info.warning) : "",
    el("div", { class: "actions" },
      el("button", { type: "button", text: "Use This Location", disabled: !info.can_write, onclick: async () => {
        try {
          const res = await api("PUT", "/api/v1/storage", { url, path: listing.path });
          dialog.close();
          await showBackup(el("div", { class: "banner ok", role: "status", text: res.message }));
        } catch (e) {
          details.replaceChildren(message("error", e.message));
        }
      } }),
      el("button", { type: "button", class: "secondary", text: "Close", onclick: () => dialog.close() })),
  );
  if (!dialog.open) dialog.showModal();
}

async function showDetails(url, path, into) {
  try {
    const { details: d } = await api("GET", `/api/v1/storage/details?${new URLSearchParams({ url, path })}`);
    into.replaceChildren(detailsTable(d, `Backup Details of ${d.file_name}`));
  } catch (e) {
    into.replaceChildren(message("error", `${path}: ${e.message}`));  // damaged or forged: said, never hidden
  }
}

// --- Access page -----------------------------------------------------------------------

async function showAccess(note) {
  const mine = stopPolling();
  const { users } = await api("GET", "/api/v1/users");
  if (mine !== generation) return;
  const feedback = el("div", {}, note || "");
  const rows = users.map((u) =>
    el("tr", {},
      el("td", { text: u.username }),
      el("td", { text: u.otp_user ? "Initial OTP User" : "Internal OAuth Provider" }),
      el("td", {},
        el("button", {
          type: "button",
          class: "secondary",
          disabled: !u.removable,
          title: u.removable ? false : u.remove_refusal,
          "aria-label": `Remove ${u.username}`,
          text: "Remove",
          onclick: async () => {
            try {
              const res = await api("DELETE", `/api/v1/users/${encodeURIComponent(u.username)}`);
              await refreshBanner();
              await showAccess(message("ok", res.message));
            } catch (e) {
              feedback.replaceChildren(message("error", e.message));
            }
          },
        }),
        u.removable ? "" : el("div", { class: "muted", text: u.remove_refusal }))));
  const form = el("form", { class: "card", "aria-labelledby": "add-title" },
    el("h2", { id: "add-title", text: "Add User Account" }),
    el("p", { class: "muted", text: "Authentication Type: Internal OAuth Provider. The password must follow the appliance's account rules; the API says which one a password breaks." }),
    el("label", { for: "new-username", text: "Username" }),
    el("input", { id: "new-username", name: "username", autocomplete: "off", required: true }),
    el("label", { for: "new-password", text: "Password" }),
    el("input", { id: "new-password", name: "password", type: "password", autocomplete: "new-password", required: true }),
    el("label", { for: "new-confirmation", text: "Repeat Password" }),
    el("input", { id: "new-confirmation", name: "confirmation", type: "password", autocomplete: "new-password", required: true }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: "Add User Account" })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const res = await api("POST", "/api/v1/users", {
        username: form.username.value,
        password: form.password.value,
        confirmation: form.confirmation.value,
      });
      await showAccess(message("ok", res.message));
    } catch (e) {
      feedback.replaceChildren(message("error", e.message));
    }
  });
  show(
    el("h1", { text: "Access" }),
    el("table", { id: "users" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Username" }), el("th", { scope: "col", text: "Type" }), el("th", { scope: "col", text: "Actions" }))),
      el("tbody", {}, rows)),
    feedback,
    form,
  );
}

// --- Restore page ----------------------------------------------------------------------

const THIS_DOMAIN = "this appliance's domain";

// Whether the whole file is as its signer wrote it (the signed trailer and whole-file hash,
// checked by the server without any secret), and when that was found.
function integrityText(i) {
  return i.state === "intact" ? `intact (checked ${i.checked_at})` : `DAMAGED: ${i.reason}`;
}

function detailsTable(d, label) {
  return el("table", { class: "details", "aria-label": label }, el("tbody", {},
    [["File", d.file_name], ["Created", d.created_at], ["Device", `${d.device.hostname} (${d.device.model})`],
      ["Firmware", d.device.firmware_version], ["Signature", d.signature], ["Integrity", integrityText(d.integrity)],
      ["Components", d.components.map((c) => c.name).join(", ")]]
      .map(([k, v]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { class: k === "Integrity" && d.integrity.state !== "intact" ? "damaged" : "", text: v })))));
}

// Whether this appliance keeps the restore key (GET /api/v1/dms), read with the restore page.
let restoreKeyKept = false;

async function showRestore(note) {
  const mine = stopPolling();
  const restore = await api("GET", "/api/v1/restore");
  if (mine !== generation) return;
  const panel = el("div", { id: "restore-panel" });
  const last = restore.last;
  const lastLine = last ? el("p", { id: "last-restore" },
    `Last restore (${last.trigger}): ${last.result}`, last.summary ? ` — ${last.summary}` : "", last.error ? ` — ${last.error}` : "") : "";
  if (restore.state === "RESTORE IN PROGRESS") {
    const p = restore.progress;
    show(el("h1", { text: "Restore" }), note || "",
      el("p", { id: "restore-state" }, el("strong", { text: restore.state }), ` — ${p.phase}`, p.percent !== null ? `, ${p.percent}%` : ""),
      el("progress", { max: "100", value: p.percent ?? false, "aria-label": "Restore progress" }));
    pollAgain(() => showRestore(note));
    return;
  }
  // Read once no restore runs: the rollback point is what the last one left.
  const [list, rollback, uploaded, dms] = await Promise.all([api("GET", "/api/v1/backups").catch((e) => ({ error: e.message })),
    api("GET", "/api/v1/restore/rollback"), api("GET", "/api/v1/restore/upload").catch((e) => ({ error: e.message })),
    api("GET", "/api/v1/dms").catch(() => ({}))]);
  if (mine !== generation) return;
  restoreKeyKept = dms.restore_key_kept === true;
  const rows = (list.backups || []).flatMap((b) => {
    const d = b.details;
    const confirmRow = el("tr", { class: "confirm-row", hidden: true });
    const row = el("tr", {},
      el("td", { text: b.name }), el("td", {}, el("time", { datetime: b.created_at, text: b.created_at })),
      el("td", { text: b.size_human }), el("td", { text: d ? d.device.hostname : "" }), el("td", { text: d ? d.device.firmware_version : "" }),
      el("td", { class: d ? "" : "damaged", text: d ? d.domain_check : `damaged or forged: ${b.error}` }),
      el("td", { class: d && d.integrity.state === "intact" ? "" : "damaged", text: d ? (d.integrity.state === "intact" ? "intact" : `DAMAGED: ${d.integrity.reason}`) : "" }),
      el("td", { class: "row-actions" },
        el("button", { type: "button", class: "secondary", disabled: !d || d.integrity.state !== "intact", "aria-label": `Choose ${b.name}`, text: "Choose",
          onclick: () => choose(b, panel) }),
        el("a", { href: `/api/v1/backups/${encodeURIComponent(b.name)}/file`, download: b.name, "aria-label": `Download ${b.name}`, text: "Download" }),
        el("button", { type: "button", class: "secondary", "aria-label": `Delete ${b.name}`, "aria-expanded": "false", text: "Delete",
          onclick: (event) => confirmDelete(b.name, confirmRow, event.currentTarget) })));
    return [row, confirmRow];
  });
  show(
    el("h1", { text: "Restore" }),
    note || "", lastLine,
    rollbackSection(rollback.rollback_point),
    el("h2", { text: "Backups on the storage" }),
    list.error ? message("error", list.error)
      : rows.length === 0 ? el("p", { class: "muted", text: "No backups on the configured storage." })
      : el("table", { id: "backups" },
        el("thead", {}, el("tr", {}, ["Name", "Created", "Size", "Device", "Firmware", "Domain", "Integrity", "Actions"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, rows)),
    uploadSection(uploaded, panel),
    panel);
  if (focusUpload) {
    focusUpload = false;
    const file = document.getElementById("upload-file");
    file.scrollIntoView?.({ block: "center" });
    file.focus();
  }
}

// Deleting a backup: its name typed again (the API checks it and says so when it differs).
function confirmDelete(name, row, opener) {
  if (!row.hidden) {
    row.hidden = true;
    opener.setAttribute("aria-expanded", "false");
    return;
  }
  const id = `delete-confirm-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  const feedback = el("div", { class: "field-error" });
  const input = el("input", { id, autocomplete: "off", spellcheck: "false" });
  const remove = async () => {
    try {
      const res = await api("DELETE", `/api/v1/backups/${encodeURIComponent(name)}`, { confirmation: input.value });
      await showRestore(message("ok", res.message));
    } catch (e) {
      feedback.replaceChildren(message("error", e.message));
      input.focus();
    }
  };
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") remove(); });
  row.replaceChildren(el("td", { colspan: "7" },
    el("div", { class: "confirm" },
      el("label", { for: id, text: `Type ${name} to delete this backup from the storage` }),
      input, feedback,
      el("div", { class: "actions" },
        el("button", { type: "button", class: "danger", text: "Delete permanently", onclick: remove }),
        el("button", { type: "button", class: "secondary", text: "Cancel", onclick: () => {
          row.hidden = true;
          opener.setAttribute("aria-expanded", "false");
          opener.focus();
        } })))));
  row.hidden = false;
  opener.setAttribute("aria-expanded", "true");
  input.focus();
}

// A backup file from this computer (a fresh appliance without its storage, disaster
// recovery): sent as it is, with its progress; then its details, Choose, or delete it.
function uploadSection({ upload, error }, panel) {
  const feedback = el("div", { id: "upload-feedback" });
  const progressText = el("span", { id: "upload-progress-text" });
  const bar = el("progress", { max: "100", "aria-label": "Upload progress" });
  const progress = el("div", { id: "upload-progress", "aria-live": "polite", hidden: true }, bar, " ", progressText);
  const file = el("input", { id: "upload-file", type: "file", accept: ".ksb", "aria-describedby": "upload-help" });
  const button = el("button", { type: "button", id: "upload-now", text: "Upload" });
  button.addEventListener("click", () => {
    const chosen = file.files[0];
    if (!chosen) {
      feedback.replaceChildren(message("error", "Choose a backup file first."));
      return;
    }
    feedback.replaceChildren();
    button.disabled = true;
    progress.hidden = false;
    bar.removeAttribute("value");
    progressText.textContent = "Uploading…";
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/restore/upload?${new URLSearchParams({ name: chosen.name })}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.floor((e.loaded / e.total) * 100);
      bar.value = pct;
      progressText.textContent = `Uploading… ${pct}%`;
    };
    const failed = (text) => {
      button.disabled = false;
      progress.hidden = true;
      feedback.replaceChildren(message("error", text));
    };
    xhr.onerror = () => failed("The upload was cut off: the appliance could not be reached.");
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: said below by its status */ }
      if (xhr.status === 401) {
        showLogin({ kind: "error", text: "Your session has ended. Log in again." });
      } else if (xhr.status !== 201) {
        failed(new ApiError(xhr.status, data).message);
      } else {
        showRestore(message("ok", `${data.upload.name} was uploaded.`)).catch((e) => failed(e.message));
      }
    };
    xhr.send(chosen);  // the File itself: the browser streams it from the disk
  });
  const kept = error ? message("error", error)
    : upload ? uploadedBackup(upload, panel, feedback) : el("p", { class: "muted", id: "upload-none", text: "No uploaded backup." });
  return el("section", { id: "upload", "aria-labelledby": "upload-title" },
    el("h2", { id: "upload-title", text: "Upload a backup file" }),
    el("p", { id: "upload-help", class: "muted", text: "A backup file (.ksb) from this computer, for example to restore a new appliance. One uploaded backup is kept at a time; a restore that succeeds deletes it." }),
    el("div", { class: "card wide" },
      el("label", { for: "upload-file", text: "Backup file" }), file,
      el("div", { class: "actions" }, button), progress),
    kept, feedback);
}

function uploadedBackup(upload, panel, feedback) {
  const d = upload.details;
  return el("div", { id: "uploaded" },
    el("h3", { text: "Uploaded backup" }),
    el("p", {}, el("strong", { text: upload.name }), ` — ${upload.size_human}, backup made `,
      el("time", { datetime: upload.created_at, text: upload.created_at })),
    d ? detailsTable(d, `Backup Details of the uploaded ${upload.name}`)
      : el("p", { class: "damaged", id: "uploaded-error", text: `damaged or unreadable: ${upload.error}` }),
    d ? "" : el("p", { class: "muted", text: "A backup of another domain can be read only with its Domain Master Secret: choose it and type the secret to restore it." }),
    el("div", { class: "actions" },
      el("button", { type: "button", "aria-label": `Choose uploaded ${upload.name}`, text: "Choose", onclick: () => choose(upload, panel, "upload") }),
      el("button", { type: "button", class: "secondary", text: "Delete uploaded backup", onclick: async () => {
        try {
          const res = await api("DELETE", "/api/v1/restore/upload");
          await showRestore(message("ok", res.message));
        } catch (e) {
          feedback.replaceChildren(message("error", e.message));
        }
      } })));
}

// The Restore page once a restore or rollback has started. While it runs the API may answer
// "try again" (503: the accounts are being swapped in) or not at all for a moment; the page
// keeps asking rather than show that as the result.
function showRestoreWhileItRuns(note) {
  showRestore(note).catch((e) => (e.status === 401 ? null : pollAgain(() => showRestore(note))));
}

// The state the last restore replaced: roll back to it, or give its space back.
function rollbackSection(point) {
  const feedback = el("div", { id: "rollback-feedback" });
  if (!point) return el("section", { id: "rollback" }, el("h2", { text: "Rollback point" }), el("p", { class: "muted", text: "No rollback point: no restore has replaced this appliance's state." }));
  const act = (method, done) => async () => {
    let res;
    try {
      res = await api(method, "/api/v1/restore/rollback");
    } catch (e) {
      feedback.replaceChildren(message("error", e.message));
      return;
    }
    showRestoreWhileItRuns(message("ok", done(res)));
  };
  return el("section", { id: "rollback" },
    el("h2", { text: "Rollback point" }),
    el("p", { id: "rollback-point" }, `The state replaced by ${point.replaced_by} at `, el("time", { datetime: point.created_at, text: point.created_at }),
      ` is kept on this appliance's disk (${point.size}).`),
    el("div", { class: "actions" },
      el("button", { type: "button", text: "Roll back the last restore", onclick: act("POST", () => "Rollback started.") }),
      el("button", { type: "button", class: "secondary", text: "Discard rollback point", onclick: act("DELETE", (r) => r.message) })),
    feedback);
}

// One backup chosen: its details, what to restore, the DMS when it is needed, a dry run,
// then the real restore behind a typed confirmation. `source` is where the file is: the
// storage, or "upload" for the uploaded backup (whose details may be unreadable without its
// domain's DMS: then every component, and the DMS field).
function choose(backup, panel, source = "storage") {
  const d = backup.details;
  const feedback = el("div", { id: "restore-feedback" });
  // A backup of another domain, and on a write-only appliance any format 2 backup.
  const needsDms = !d || d.domain_check !== THIS_DOMAIN || (d.format_version === 2 && !restoreKeyKept);
  const boxes = (d ? d.components : []).map((c) => el("label", { class: "check" },
    el("input", { type: "checkbox", name: "component", value: c.name, checked: true }), ` ${c.name}`));
  const keepNetwork = el("input", { type: "checkbox", id: "keep-network" });
  const dms = needsDms ? el("input", { id: "restore-dms", type: "password", autocomplete: "off" }) : null;
  const confirm = el("input", { id: "restore-confirm", autocomplete: "off", "aria-describedby": "restore-confirm-help" });
  const request = (dryRun) => {
    const components = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    const body = { file: backup.name, dry_run: dryRun, components };
    if (source === "upload") body.source = "upload";
    if (keepNetwork.checked) body.keep = ["network"];
    if (dms) body.dms = dms.value;
    return body;
  };
  const start = async (dryRun) => {
    try {
      await api("POST", "/api/v1/restore", request(dryRun));
    } catch (e) {
      feedback.replaceChildren(message("error", e.message));
      return;
    }
    showRestoreWhileItRuns(message("ok", dryRun ? "Dry run started: nothing will be changed." : "Restore started."));
  };
  const title = source === "upload" ? `Restore the uploaded ${backup.name}` : `Restore ${backup.name}`;
  // Said before the confirmation: an old backup under a new name goes back further than
  // its name says (its signed header keeps its true place and name).
  const warnings = [];
  if (d && d.superseded_by) {
    warnings.push(`This is backup ${d.chain.sequence} of this appliance, made ${d.created_at}. A newer one exists: backup ${d.superseded_by.sequence}, made ${d.superseded_by.created_at} (${d.superseded_by.file_name}). Restoring this one goes back to the older state.`);
  }
  if (d && backup.name_matches_header === false) {
    warnings.push(`This file was made as ${d.file_name}: it was renamed or copied.`);
  }
  panel.replaceChildren(
    el("h2", { id: "chosen-title", tabindex: "-1", text: title }),
    ...warnings.map((text) => el("p", { class: "banner warn", role: "note", text })),
    d ? detailsTable(d, `Backup Details of ${backup.name}`)
      : el("p", { class: "damaged", text: `Its details cannot be read here: ${backup.error}` }),
    d ? el("fieldset", {}, el("legend", { text: "Components to restore" }), boxes)
      : el("p", { class: "muted", text: "Every component in the backup is restored." }),
    el("label", { class: "check" }, keepNetwork, " Keep this appliance's network settings"),
    // replaceChildren takes nodes, not arrays (which el() flattens): spread.
    ...(needsDms ? [el("label", { for: "restore-dms", text: "Domain Master Secret of the backup's domain" }), dms] : []),
    el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", text: "Dry run", onclick: () => start(true) })),
    el("label", { for: "restore-confirm", text: "Type RESTORE to replace this appliance's state with the backup's" }),
    el("p", { id: "restore-confirm-help", class: "muted", text: "The state it replaces is kept as the rollback point." }),
    confirm,
    el("div", { class: "actions" }, el("button", { type: "button", id: "restore-now", text: "Restore", onclick: () => {
      if (confirm.value !== "RESTORE") {
        feedback.replaceChildren(message("error", "Type RESTORE to confirm."));
        return;
      }
      start(false);
    } })),
    feedback);
  panel.querySelector("h2").focus();  // scrolls to it; keyboard and screen reader users land there
}

// --- Audit log page ---------------------------------------------------------------------

const AUDIT_PAGE = 50;
let auditQuery = { offset: 0, filter: "" };

async function showAudit() {
  const mine = stopPolling();
  const params = new URLSearchParams({ limit: String(AUDIT_PAGE), offset: String(auditQuery.offset) });
  if (auditQuery.filter) params.set("filter", auditQuery.filter);
  const page = await api("GET", `/api/v1/audit?${params}`);
  if (mine !== generation) return;
  const filter = el("input", { id: "audit-filter", type: "search", value: auditQuery.filter, placeholder: "an account, an event, an address…" });
  const apply = () => { auditQuery = { offset: 0, filter: filter.value.trim() }; showAudit().catch((e) => show(message("error", e.message))); };
  filter.addEventListener("change", apply);
  const known = new Set(["time", "event", "account", "client", "outcome"]);
  const rows = page.entries.map((e) => el("tr", {},
    el("td", {}, el("time", { datetime: e.time, text: e.time })), el("td", { text: e.account }), el("td", { text: e.client }),
    el("td", { text: e.event }), el("td", { text: e.outcome }),
    el("td", { text: Object.entries(e).filter(([k]) => !known.has(k)).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("; ") })));
  const first = auditQuery.offset + 1;
  const last = auditQuery.offset + page.entries.length;
  const go = (offset) => () => { auditQuery = { ...auditQuery, offset }; showAudit().catch((e) => show(message("error", e.message))); };
  show(
    el("h1", { text: "Audit log" }),
    el("label", { for: "audit-filter", text: "Filter" }), filter,
    el("p", { id: "audit-count", class: "muted", text: page.matched ? `${first}–${last} of ${page.matched}, newest first` : "No entries." }),
    el("table", { id: "audit" },
      el("thead", {}, el("tr", {}, ["Time", "Account", "Client", "Event", "Outcome", "Details"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows)),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "secondary", disabled: auditQuery.offset === 0, text: "Newer", onclick: go(Math.max(0, auditQuery.offset - AUDIT_PAGE)) }),
      el("button", { type: "button", class: "secondary", disabled: last >= page.matched, text: "Older", onclick: go(auditQuery.offset + AUDIT_PAGE) })));
}

// --- Navigation ------------------------------------------------------------------------

const pages = { backup: showBackup, restore: showRestore, access: showAccess, audit: showAudit };

async function route() {
  if (!session) return;
  const name = pages[location.hash.slice(1)] ? location.hash.slice(1) : "backup";
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    await pages[name]();
  } catch (e) {
    if (e.status !== 401) show(message("error", e.message));
  }
}

window.addEventListener("hashchange", route);
document.getElementById("logout").addEventListener("click", async () => {
  try {
    await api("POST", "/oauth/revoke");
  } finally {
    showLogin({ kind: "ok", text: "You are logged out." });
  }
});
start();
