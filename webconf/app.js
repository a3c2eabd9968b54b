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

function stopPolling() {
  if (poller) clearTimeout(poller);
  poller = null;
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

async function showBackup(note) {
  stopPolling();
  const s = await api("GET", "/api/v1/status");
  const blocked = s.backup_blockers.length > 0 || s.state !== "NOT RUNNING";
  const why = s.state !== "NOT RUNNING" ? `A job is running: ${s.state}.` : s.backup_blockers.join(" ");
  const feedback = el("div", { id: "backup-feedback" }, note || "");
  const button = el("button", {
    type: "button",
    id: "backup-now",
    disabled: blocked,
    "aria-describedby": blocked ? "backup-now-why" : false,
    text: "Create Backup Now",
    onclick: async () => {
      try {
        const { job } = await api("POST", "/api/v1/backups");
        await showBackup(message("ok", `Backup ${job.id} started.`));
      } catch (e) {
        feedback.replaceChildren(message("error", e.message));
      }
    },
  });
  show(
    el("h1", { text: "Backup" }),
    el("h2", { text: "Backup Status" }),
    el("table", { id: "status-table" }, el("tbody", {}, statusRows(s))),
    s.warnings.map((w) => message("error", w)),
    el("div", { class: "actions" }, button, blocked ? el("span", { id: "backup-now-why", class: "muted", text: why }) : ""),
    feedback,
  );
  // While a job runs the status changes: look again, at most once a second.
  if (s.state !== "NOT RUNNING") poller = setTimeout(() => showBackup().catch(() => {}), 1000);
}

// --- Access page -----------------------------------------------------------------------

async function showAccess(note) {
  stopPolling();
  const { users } = await api("GET", "/api/v1/users");
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
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Username" }), el("th", { scope: "col", text: "Type" }), el("th", { scope: "col", text: "" }))),
      el("tbody", {}, rows)),
    feedback,
    form,
  );
}

// --- Navigation ------------------------------------------------------------------------

const pages = { backup: showBackup, access: showAccess };

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
