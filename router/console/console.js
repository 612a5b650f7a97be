// ledgerhook support console: dead letters, replay, discard and the event journal, over the
// admin API. Every piece of data is written with textContent, never parsed as HTML.
"use strict";

const TOKEN_KEY = "ledgerhook.adminToken";
const STATUSES = ["open", "replaying", "replayed", "discarded"];
const FILTER_FIELDS = ["tenant", "source", "type", "destination", "status", "q"];
const REASON_PREVIEW = 90;

const state = { filter: {}, cursor: null, shown: 0, detail: null, listRequest: 0 };

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  describe() {
    const where = this.status ? `HTTP ${this.status}` : "no answer";
    return `${this.message} (${this.code}, ${where})`;
  }
}

// Builds an element; attributes are set one by one and children become text nodes.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function formatTime(value) {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

function timeEl(value, withZone = true) {
  const text = formatTime(value);
  return el("time", { datetime: value || undefined }, withZone ? text : text.replace(/ UTC$/, ""));
}

function badge(status) {
  const known = STATUSES.includes(status) ? status : "unknown";
  return el("span", { class: `badge badge-${known}`, "data-testid": "status" }, status || "—");
}

function orDash(value) {
  return value === undefined || value === null || value === "" ? "—" : String(value);
}

function truncate(text, length) {
  const s = orDash(text);
  return s.length > length ? `${s.slice(0, length - 1)}…` : s;
}

// ---- the token and the API ---------------------------------------------------------------

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(method, path, body) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${token() || ""}` };
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    throw new ApiError(0, "unreachable", `Cannot reach the admin API: ${cause.message}`);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (_) {
    json = null;
  }
  if (!response.ok) {
    const code = (json && json.error) || "error";
    const message = (json && json.message) || text || response.statusText || "request failed";
    const error = new ApiError(response.status, code, message);
    if (response.status === 401) {
      showLogin(`The admin API refused the token: ${message}`);
    }
    throw error;
  }
  return json;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const s = search.toString();
  return s ? `?${s}` : "";
}

// ---- messages ------------------------------------------------------------------------------

function showError(error) {
  if (error instanceof ApiError && error.status === 401) return;
  const box = $("error");
  box.textContent = error instanceof ApiError ? error.describe() : String(error.message || error);
  box.hidden = false;
}

function showNotice(text) {
  const box = $("notice");
  box.textContent = text;
  box.hidden = false;
}

function clearMessages() {
  $("error").hidden = true;
  $("error").textContent = "";
  $("notice").hidden = true;
  $("notice").textContent = "";
}

// Runs an action with its button disabled, showing any error.
async function run(button, action) {
  if (button) button.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(error);
  } finally {
    if (button) button.disabled = false;
    syncDetailButtons();
  }
}

// Replay is refused for a discarded dead letter and discard for one that is not open.
function syncDetailButtons() {
  const d = state.detail;
  if (!d) return;
  $("replay-one").disabled = d.status === "discarded";
  $("discard-one").disabled = d.status !== "open";
}

// ---- signing in and out ------------------------------------------------------------------

function showLogin(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.detail = null;
  $("app").hidden = true;
  $("nav").hidden = true;
  $("login").hidden = false;
  const box = $("login-error");
  box.textContent = message || "";
  box.hidden = !message;
  $("token-input").value = "";
  $("token-input").focus();
}

function showApp() {
  $("login").hidden = true;
  $("login-error").hidden = true;
  $("app").hidden = false;
  $("nav").hidden = false;
  showView("dead-letters");
}

async function signIn(event) {
  event.preventDefault();
  const value = $("token-input").value.trim();
  if (!value) return;
  sessionStorage.setItem(TOKEN_KEY, value);
  showApp();
  clearMessages();
  await run($("sign-in"), () => loadList(true));
}

function signOut() {
  showLogin("");
  $("dead-letter-rows").replaceChildren();
  $("journal-results").replaceChildren();
  $("journal-summary").textContent = "";
  clearMessages();
}

// ---- views -------------------------------------------------------------------------------

function showView(name) {
  $("dead-letters-view").hidden = name !== "dead-letters";
  $("detail-view").hidden = name !== "detail";
  $("journal-view").hidden = name !== "journal";
  $("tab-dead-letters").setAttribute("aria-pressed", String(name !== "journal"));
  $("tab-journal").setAttribute("aria-pressed", String(name === "journal"));
}

// ---- the list ------------------------------------------------------------------------------

function readFilter() {
  const filter = {};
  for (const field of FILTER_FIELDS) {
    const value = $(`filter-${field}`).value.trim();
    if (value) filter[field] = value;
  }
  return filter;
}

async function loadList(reset) {
  if (reset) {
    state.filter = readFilter();
    state.cursor = null;
    state.shown = 0;
    // Never show the previous answer's rows under a new filter or after an action changed them.
    $("dead-letter-rows").replaceChildren();
    $("load-more").hidden = true;
    $("list-summary").textContent = "Loading…";
  }
  const request = ++state.listRequest;
  const page = await api(
    "GET",
    `/api/v1/dead-letters${query({ ...state.filter, cursor: reset ? undefined : state.cursor })}`,
  );
  if (request !== state.listRequest) return; // a newer load has started; its answer wins
  const rows = $("dead-letter-rows");
  for (const item of page.items || []) rows.append(row(item));
  state.shown += (page.items || []).length;
  state.cursor = page.next_cursor || null;
  $("load-more").hidden = !state.cursor;
  const filtered = Object.keys(state.filter).length > 0;
  $("list-summary").textContent =
    state.shown === 0
      ? filtered ? "No dead letters match this filter." : "No dead letters."
      : `${state.shown} dead letter${state.shown === 1 ? "" : "s"} shown, newest first${state.cursor ? "; more below" : ""}.`;
}

function row(item) {
  const open = el(
    "button",
    {
      type: "button",
      class: "link",
      "data-testid": "open-dead-letter",
      "aria-label": `Open dead letter ${item.invoice_number || item.subject || item.id}`,
    },
    timeEl(item.created_at, false),
  );
  open.addEventListener("click", () => run(open, () => openDetail(item.id)));
  const cell = (col, content, attrs = {}) => el("td", { "data-col": col, ...attrs }, content);
  return el(
    "tr",
    { "data-testid": "dead-letter-row", "data-id": item.id },
    cell("created", open),
    cell("tenant", orDash(item.tenant)),
    cell("destination", orDash(item.destination)),
    cell("type", orDash(item.type)),
    cell("invoice_number", orDash(item.invoice_number)),
    cell("subject", orDash(item.subject), { class: "mono", title: item.subject || undefined }),
    cell("reason_class", orDash(item.reason_class)),
    cell("reason", truncate(item.reason, REASON_PREVIEW), { title: item.reason || undefined }),
    cell("attempts", orDash(item.attempts), { class: "num" }),
    cell("status", badge(item.status)),
  );
}

// ---- the detail view ---------------------------------------------------------------------

async function openDetail(id) {
  clearMessages();
  const detail = await api("GET", `/api/v1/dead-letters/${encodeURIComponent(id)}`);
  renderDetail(detail);
  showView("detail");
  window.scrollTo(0, 0);
}

async function refreshDetail() {
  if (!state.detail) return;
  renderDetail(await api("GET", `/api/v1/dead-letters/${encodeURIComponent(state.detail.id)}`));
}

function renderDetail(d) {
  state.detail = d;
  $("detail-id").textContent = d.id;
  const status = $("detail-status");
  status.className = `badge badge-${STATUSES.includes(d.status) ? d.status : "unknown"}`;
  status.textContent = orDash(d.status);
  syncDetailButtons();

  const fields = [
    ["Tenant", d.tenant],
    ["Source", d.source],
    ["Destination", d.destination],
    ["Type", d.type],
    ["Invoice number", d.invoice_number],
    ["Subject", d.subject],
    ["Event id", d.event_id],
    ["Idempotency key", d.idempotency_key],
    ["Reason class", d.reason_class],
    ["Created", formatTime(d.created_at)],
    ["Updated", formatTime(d.updated_at)],
    ["Replays", d.replay_count],
  ];
  if (d.closed_by) fields.push(["Closed by", d.closed_by]);
  if (d.closed_reason) fields.push(["Closed because", d.closed_reason]);
  $("detail-fields").replaceChildren(
    ...fields.flatMap(([name, value]) => [
      el("dt", {}, name),
      el("dd", { "data-field": name.toLowerCase().replace(/ /g, "_") }, orDash(value)),
    ]),
  );
  $("detail-reason").textContent = orDash(d.reason);

  const attempts = (d.attempts || []).map((a) =>
    el(
      "tr",
      { "data-testid": "attempt-row" },
      el("td", { class: "num" }, orDash(a.attempt)),
      el("td", {}, timeEl(a.at)),
      el("td", {}, orDash(a.class)),
      el("td", { class: "num" }, orDash(a.http_status)),
      el("td", { class: "message" }, orDash(a.message)),
    ),
  );
  $("detail-attempts").tBodies[0].replaceChildren(
    ...(attempts.length ? attempts : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No attempts recorded."))]),
  );

  const actions = (d.actions || []).map((a) =>
    el(
      "tr",
      { "data-testid": "action-row" },
      el("td", {}, timeEl(a.at)),
      el("td", {}, orDash(a.action)),
      el("td", {}, orDash(a.actor)),
      el("td", {}, orDash(a.reason)),
    ),
  );
  $("detail-actions").tBodies[0].replaceChildren(
    ...(actions.length ? actions : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "Nobody has replayed or discarded it yet."))]),
  );

  $("detail-event").textContent = JSON.stringify(d.event, null, 2);
}

async function replayOne() {
  clearMessages();
  const d = state.detail;
  await api("POST", `/api/v1/dead-letters/${encodeURIComponent(d.id)}/replay`);
  showNotice(`Queued for replay to ${d.destination}. The status turns to replayed once the worker has applied it; press Refresh to check.`);
  await refreshDetail();
}

function openDiscard() {
  $("discard-reason").value = "";
  $("discard-error").hidden = true;
  $("discard-dialog").showModal();
  $("discard-reason").focus();
}

async function confirmDiscard(event) {
  event.preventDefault();
  const reason = $("discard-reason").value.trim();
  if (!reason) {
    $("discard-error").textContent = "A reason is required: say why this event should never be applied.";
    $("discard-error").hidden = false;
    return;
  }
  try {
    await api("POST", `/api/v1/dead-letters/${encodeURIComponent(state.detail.id)}/discard`, { reason });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      $("discard-dialog").close();
      return;
    }
    $("discard-error").textContent = error instanceof ApiError ? error.describe() : String(error);
    $("discard-error").hidden = false;
    return;
  }
  $("discard-dialog").close();
  clearMessages();
  showNotice("Discarded. It stays in the list with its reason, and is never replayed.");
  await refreshDetail();
}

// ---- replay all matching -------------------------------------------------------------------

function bulkFilter() {
  const filter = readFilter();
  if (!filter.status) filter.status = "open";
  return filter;
}

function openReplayAll() {
  const filter = bulkFilter();
  $("replay-all-filter").replaceChildren(
    ...Object.entries(filter).flatMap(([name, value]) => [
      el("dt", {}, name),
      el("dd", { "data-field": name }, value),
    ]),
  );
  $("replay-all-dialog").showModal();
  $("replay-all-cancel").focus();
}

async function confirmReplayAll() {
  const filter = bulkFilter();
  $("replay-all-dialog").close();
  clearMessages();
  const answer = await api("POST", "/api/v1/dead-letters/replay", filter);
  const count = answer && typeof answer.count === "number" ? answer.count : 0;
  showNotice(`${count} dead letter${count === 1 ? "" : "s"} queued for replay.`);
  await loadList(true);
}

// ---- the journal -------------------------------------------------------------------------

async function searchJournal(event) {
  event.preventDefault();
  clearMessages();
  const q = $("journal-q").value.trim();
  if (!q) return;
  const tenant = $("journal-tenant").value.trim();
  const answer = await api("GET", `/api/v1/events${query({ q, tenant })}`);
  const items = (answer && answer.items) || [];
  $("journal-summary").textContent = items.length
    ? `${items.length} event${items.length === 1 ? "" : "s"} about “${q}”, newest first.`
    : `No events found for “${q}”.`;
  $("journal-results").replaceChildren(...items.map(journalEvent));
}

function journalEvent(e) {
  const title = [e.type, e.invoice_number ? `invoice ${e.invoice_number}` : null]
    .filter(Boolean)
    .join(" · ");
  const steps = (e.steps || []).map((s) =>
    el(
      "li",
      { "data-testid": "journal-step", "data-step": s.step },
      el("span", { class: "when" }, timeEl(s.at)),
      el("span", { class: `step step-${/^[a-z_]+$/.test(s.step || "") ? s.step : "other"}` }, orDash(s.step)),
      s.destination ? el("span", { class: "dest" }, s.destination) : null,
      s.target_id ? el("span", { class: "target" }, `target ${s.target_id}`) : null,
      s.detail ? el("span", { class: "detail" }, s.detail) : null,
    ),
  );
  if (e.received_at) {
    steps.unshift(
      el(
        "li",
        { "data-testid": "journal-step", "data-step": "received" },
        el("span", { class: "when" }, timeEl(e.received_at)),
        el("span", { class: "step step-received" }, "received"),
        el("span", { class: "detail" }, `by the router from ${orDash(e.source)}`),
      ),
    );
  }
  return el(
    "article",
    { class: "journal-event", "data-testid": "journal-event", "data-event-id": e.event_id },
    el("h3", {}, title || "event"),
    el(
      "dl",
      { class: "fields compact" },
      el("dt", {}, "Event id"), el("dd", { class: "mono" }, orDash(e.event_id)),
      el("dt", {}, "Tenant"), el("dd", {}, orDash(e.tenant)),
      el("dt", {}, "Source"), el("dd", {}, orDash(e.source)),
      el("dt", {}, "Subject"), el("dd", { class: "mono" }, orDash(e.subject)),
    ),
    steps.length ? el("ol", { class: "timeline" }, ...steps) : el("p", { class: "muted" }, "No steps recorded yet."),
  );
}

// ---- wiring --------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("tab-dead-letters").addEventListener("click", () => {
    clearMessages();
    showView("dead-letters");
    run(null, () => loadList(true));
  });
  $("tab-journal").addEventListener("click", () => {
    clearMessages();
    showView("journal");
    $("journal-q").focus();
  });
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    clearMessages();
    run($("apply-filters"), () => loadList(true));
  });
  $("clear-filters").addEventListener("click", () => {
    for (const field of FILTER_FIELDS) $(`filter-${field}`).value = "";
    clearMessages();
    run($("clear-filters"), () => loadList(true));
  });
  $("load-more").addEventListener("click", () => run($("load-more"), () => loadList(false)));
  $("replay-all").addEventListener("click", openReplayAll);
  $("replay-all-cancel").addEventListener("click", () => $("replay-all-dialog").close());
  $("replay-all-confirm").addEventListener("click", () => run($("replay-all"), confirmReplayAll));
  $("back-to-list").addEventListener("click", () => {
    clearMessages();
    showView("dead-letters");
    run(null, () => loadList(true));
  });
  $("replay-one").addEventListener("click", () => run($("replay-one"), replayOne));
  $("discard-one").addEventListener("click", openDiscard);
  $("discard-form").addEventListener("submit", (event) => run($("discard-confirm"), () => confirmDiscard(event)));
  $("discard-cancel").addEventListener("click", () => $("discard-dialog").close());
  $("refresh-detail").addEventListener("click", () => run($("refresh-detail"), refreshDetail));
  $("journal-form").addEventListener("submit", (event) => run($("journal-search"), () => searchJournal(event)));

  if (token()) {
    showApp();
    run(null, () => loadList(true));
  } else {
    showLogin("");
  }
});
