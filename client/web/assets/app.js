/*
 * pgq web: the dashboard's script.
 *
 * Every figure comes from pgq web's JSON endpoints (each one call of a
 * pgqueuer.* SQL function); every value is written with textContent or as
 * an SVG attribute, never parsed as HTML, so entrypoint names, payloads,
 * headers and tracebacks cannot run anything.  The page refreshes itself when
 * the server's event stream (/events, fed by LISTEN ch_pgqueuer) reports a
 * change, at most once a second.
 */
"use strict";

const STATUSES = ["successful", "exception", "failed", "canceled", "deleted", "queued", "picked"];
let session = { actions: false, authenticated: false, csrf: null };
let refreshTimer = null;
let lastRefresh = 0;

/* el(tag, attrs, ...children): an element; strings become text nodes. */
function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === null || v === undefined || v === false) continue;
        if (k === "onclick" || k === "onsubmit") node.addEventListener(k.slice(2), v);
        else if (k === "text") node.textContent = String(v);
        else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
        if (c === null || c === undefined) continue;
        node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
}

function svg(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
}

function banner(message) {
    const b = document.getElementById("banner");
    if (message) { b.textContent = message; b.hidden = false; }
    else { b.textContent = ""; b.hidden = true; }
}

/* api(path): the JSON of a read endpoint; throws (and shows a banner) on error. */
async function api(path) {
    let res;
    try {
        res = await fetch(path, { credentials: "same-origin" });
    } catch (e) {
        banner("pgq web cannot be reached; retrying.");
        throw e;
    }
    const body = await res.json().catch(() => ({ error: "unreadable reply (HTTP " + res.status + ")" }));
    if (!res.ok) {
        banner((res.status === 503 ? "The database cannot be reached: " : "Error: ") + body.error);
        throw new Error(body.error);
    }
    banner(null);
    return body;
}

/* act(path, params): a POST action with the session's CSRF token; then refresh. */
async function act(path, params) {
    const query = new URLSearchParams(params).toString();
    const res = await fetch(path + "?" + query, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": session.csrf || "" },
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) banner("Action failed: " + (body.error || "HTTP " + res.status));
    else banner(null);
    await render();
    return body;
}

/* A button that acts; "confirm" makes a first click ask for a second. */
function actionButton(label, path, params, opts) {
    opts = opts || {};
    const b = el("button", { type: "button", class: opts.danger ? "danger" : null,
                             "data-action": opts.name || label.toLowerCase() });
    b.textContent = label;
    if (!session.authenticated) {
        b.disabled = true;
        b.title = session.actions ? "log in to act" : "actions are disabled (no token)";
    }
    let armed = false;
    b.addEventListener("click", async () => {
        if (opts.confirm && !armed) {
            armed = true;
            b.textContent = "Confirm: " + label.toLowerCase() + "?";
            b.setAttribute("data-armed", "");
            return;
        }
        b.disabled = true;
        await act(path, params);
    });
    return b;
}

function fmtTime(t) {
    if (!t) return "";
    const d = new Date(t);
    return isNaN(d) ? t : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function fmtAge(seconds) {
    if (seconds === null || seconds === undefined || seconds === "") return "";
    const s = Number(seconds);
    if (s < 120) return s.toFixed(1) + " s";
    if (s < 7200) return (s / 60).toFixed(1) + " min";
    return (s / 3600).toFixed(1) + " h";
}

function table(columns, rows, rowAttrs) {
    const head = el("tr", {}, columns.map(c => el("th", { class: c.num ? "num" : null }, c.label)));
    const body = rows.length === 0
        ? [el("tr", {}, el("td", { class: "empty", colspan: columns.length }, "none"))]
        : rows.map(r => el("tr", rowAttrs ? rowAttrs(r) : {},
            columns.map(c => {
                const v = c.render ? c.render(r) : r[c.key];
                return el("td", { class: c.num ? "num" : null, "data-field": c.key || null }, v);
            })));
    return el("table", {}, el("thead", {}, head), el("tbody", {}, body));
}

function sum(rows, key) {
    return rows.reduce((a, r) => a + Number(r[key] || 0), 0);
}

/* ---- pages ---- */

function throughputChart(rows) {
    const width = 720, height = 160, pad = 24;
    const now = Date.now();
    const start = now - 60 * 60000;
    const minutes = new Map();
    for (const r of rows) {
        if (r.status === "queued" || r.status === "picked") continue;
        const m = Math.floor((new Date(r.minute).getTime() - start) / 60000);
        if (m < 0 || m > 60) continue;
        const bucket = minutes.get(m) || {};
        bucket[r.status] = (bucket[r.status] || 0) + Number(r.count);
        minutes.set(m, bucket);
    }
    let max = 1;
    for (const b of minutes.values()) max = Math.max(max, Object.values(b).reduce((a, n) => a + n, 0));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
                               "aria-label": "jobs finished per minute, last hour" });
    const barW = (width - pad) / 61;
    for (const [m, bucket] of minutes) {
        let y = height - pad;
        for (const status of STATUSES) {
            const n = bucket[status] || 0;
            if (!n) continue;
            const h = (height - 2 * pad) * n / max;
            y -= h;
            const rect = svg("rect", { x: pad + m * barW, y: y, width: Math.max(barW - 1, 1), height: h,
                                       class: "s-" + status });
            const title = svg("title", {});
            title.textContent = `${n} ${status}`;
            rect.append(title);
            chart.append(rect);
        }
    }
    const axis = svg("line", { x1: pad, y1: height - pad, x2: width, y2: height - pad, stroke: "#999" });
    const label = svg("text", { x: pad, y: height - 6, "font-size": 11, fill: "#687387" });
    label.textContent = "last 60 minutes, jobs finished per minute (max " + max + ")";
    const top = svg("text", { x: 2, y: pad, "font-size": 11, fill: "#687387" });
    top.textContent = String(max);
    chart.append(axis, label, top);
    return el("div", { class: "chart", "data-testid": "throughput" }, chart,
        el("div", { class: "legend" }, ["successful", "exception", "failed", "canceled"].map(s =>
            el("span", { class: "s-" + s }, s))));
}

async function pageOverview(main) {
    const data = await api("/api/overview");
    const eps = data.entrypoints;
    const cards = [["queued", "queued (due)"], ["deferred", "deferred"], ["picked", "picked"], ["failed", "failed"]];
    main.replaceChildren(
        el("h1", {}, "Overview"),
        el("div", { class: "cards" }, cards.map(([key, label]) =>
            el("div", { class: "card", "data-testid": "total-" + key },
                el("div", { class: "n" }, sum(eps, key)), el("div", { class: "l" }, label)))),
        el("h2", {}, "Throughput"),
        throughputChart(data.throughput),
        el("h2", {}, "Entrypoints"),
        table([
            { label: "entrypoint", key: "entrypoint", render: r => el("a", { href: "/jobs?entrypoint=" + encodeURIComponent(r.entrypoint) }, r.entrypoint) },
            { label: "queued", key: "queued", num: true },
            { label: "deferred", key: "deferred", num: true },
            { label: "picked", key: "picked", num: true },
            { label: "failed", key: "failed", num: true },
            { label: "oldest queued", key: "oldest_queued_age", render: r => fmtAge(r.oldest_queued_age) },
            { label: "state", key: "paused", render: r => r.paused === "t" ? el("span", { class: "paused" }, "paused") : "" },
        ], eps, r => ({ "data-entrypoint": r.entrypoint })),
        el("h2", {}, "Workers"),
        table([
            { label: "queue_manager_id", key: "queue_manager_id" },
            { label: "host", key: "client_addr", render: r => r.client_hostname || r.client_addr || (r.pid ? "local socket" : "") },
            { label: "pid", key: "pid", num: true },
            { label: "picked", key: "picked", num: true },
            { label: "entrypoints", key: "entrypoints" },
            { label: "last heartbeat", key: "last_heartbeat", render: r => fmtTime(r.last_heartbeat) },
        ], data.workers, r => ({ "data-worker": r.queue_manager_id })),
    );
}

function jobLink(id) {
    return el("a", { href: "/job?id=" + encodeURIComponent(id) }, id);
}

async function pageJobs(main) {
    const params = new URLSearchParams(location.search);
    const query = new URLSearchParams();
    for (const k of ["entrypoint", "status", "id", "dedupe_key"]) if (params.get(k)) query.set(k, params.get(k));
    const data = await api("/api/jobs?" + query.toString());
    const input = (name, label) => el("label", {}, label, el("input", { name, value: params.get(name) || "" }));
    const status = el("select", { name: "status" }, ["", "queued", "picked", "failed"].map(s =>
        el("option", { value: s, selected: params.get("status") === s && s !== "" }, s || "any")));
    main.replaceChildren(
        el("h1", {}, "Jobs"),
        el("form", { class: "filters", method: "get", action: "/jobs" },
            input("entrypoint", "entrypoint"), el("label", {}, "status", status),
            input("id", "job id"), input("dedupe_key", "dedupe key"),
            el("button", { type: "submit" }, "Filter")),
        table([
            { label: "id", key: "id", render: r => jobLink(r.id) },
            { label: "entrypoint", key: "entrypoint" },
            { label: "status", key: "status", render: r => r.status === "queued" && r.due === "f" ? "deferred" : r.status },
            { label: "priority", key: "priority", num: true },
            { label: "attempts", key: "attempts", num: true },
            { label: "dedupe key", key: "dedupe_key" },
            { label: "execute after", key: "execute_after", render: r => fmtTime(r.execute_after) },
            { label: "payload", key: "payload_size", render: r => r.payload_size === null ? "" : r.payload_size + " B" },
            { label: "", render: r => r.status === "failed" ? "" :
                actionButton("Cancel", "/api/cancel", { ids: r.id }, { danger: true, name: "cancel" }) },
        ], data.jobs, r => ({ "data-job": r.id })),
        el("p", { class: "muted" }, "Newest 100 jobs of the queue table; finished jobs are in a job's history."),
    );
}

/* payloadView(hexText, size): text when the bytes are UTF-8, else hex. */
function payloadView(bytea, size) {
    if (bytea === null || bytea === undefined) return el("p", { class: "muted" }, "no payload");
    const hex = bytea.startsWith("\\x") ? bytea.slice(2) : "";
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(2 * i, 2), 16);
    let text, kind;
    try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        kind = "text";
    } catch (e) {
        text = hex.replace(/(.{2})/g, "$1 ").replace(/((?:\S\S ){32})/g, "$1\n");
        kind = "hex";
    }
    const note = Number(size) > bytes.length ? ` (first ${bytes.length} of ${size} bytes)` : ` (${size} bytes)`;
    return el("div", {}, el("p", { class: "muted" }, kind + note), el("pre", { "data-testid": "payload" }, text));
}

function prettyJson(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
}

async function pageJob(main) {
    const id = new URLSearchParams(location.search).get("id") || "";
    const data = await api("/api/job?id=" + encodeURIComponent(id));
    const job = data.job[0];
    const parts = [el("h1", {}, "Job " + id)];
    if (!job) parts.push(el("p", { class: "muted" }, "Not in the queue table: finished, or never existed. Its history follows."));
    else {
        const fields = ["entrypoint", "status", "priority", "attempts", "dedupe_key", "queue_manager_id",
                        "created", "updated", "execute_after", "heartbeat"];
        parts.push(el("dl", { class: "fields" }, fields.map(f => [el("dt", {}, f),
            el("dd", { "data-field": f }, f.match(/created|updated|execute_after|heartbeat/) ? fmtTime(job[f]) : (job[f] ?? ""))])));
        parts.push(el("h2", {}, "Payload"), payloadView(job.payload, job.payload_size));
        parts.push(el("h2", {}, "Headers"), job.headers === null ? el("p", { class: "muted" }, "none")
            : el("pre", { "data-testid": "headers" }, prettyJson(job.headers)));
    }
    parts.push(el("h2", {}, "History"), table([
        { label: "time", key: "created", render: r => fmtTime(r.created) },
        { label: "status", key: "status" },
        { label: "priority", key: "priority", num: true },
        { label: "traceback", key: "traceback", render: r => r.traceback === null ? "" : el("pre", {}, prettyJson(r.traceback)) },
    ], data.history));
    main.replaceChildren(...parts);
}

async function pageFailed(main) {
    const data = await api("/api/jobs?status=failed&limit=1000");
    const byEp = new Map();
    for (const j of data.jobs) {
        if (!byEp.has(j.entrypoint)) byEp.set(j.entrypoint, []);
        byEp.get(j.entrypoint).push(j);
    }
    const parts = [el("h1", {}, "Failed jobs"), el("p", { class: "muted", "data-testid": "failed-count" },
        data.jobs.length + " held job(s)")];
    for (const [ep, jobs] of byEp) {
        parts.push(el("h2", { "data-entrypoint": ep }, ep + " ",
            actionButton("Requeue all", "/api/requeue", { entrypoint: ep }, { confirm: true, name: "requeue-all" }), " ",
            actionButton("Delete all", "/api/delete", { entrypoint: ep }, { confirm: true, danger: true, name: "delete-all" })));
        parts.push(table([
            { label: "id", key: "id", render: r => jobLink(r.id) },
            { label: "attempts", key: "attempts", num: true },
            { label: "updated", key: "updated", render: r => fmtTime(r.updated) },
            { label: "", render: r => [actionButton("Requeue", "/api/requeue", { ids: r.id }, { name: "requeue" }), " ",
                                      actionButton("Delete", "/api/delete", { ids: r.id }, { danger: true, name: "delete" })] },
        ], jobs, r => ({ "data-job": r.id })));
    }
    main.replaceChildren(...parts);
}

async function pageEntrypoints(main) {
    const data = await api("/api/entrypoints");
    main.replaceChildren(el("h1", {}, "Entrypoints"), table([
        { label: "entrypoint", key: "entrypoint" },
        { label: "registered", key: "registered", render: r => r.registered === "t" ? "yes" : "no" },
        { label: "concurrency limit", key: "concurrency_limit", num: true, render: r => r.concurrency_limit === "0" ? "none" : r.concurrency_limit },
        { label: "requests/s", key: "requests_per_second", num: true, render: r => Number(r.requests_per_second) === 0 ? "none" : r.requests_per_second },
        { label: "lease", key: "lease_timeout", render: r => r.lease_timeout || "default" },
        { label: "max attempts", key: "max_attempts", render: r => r.max_attempts || "default" },
        { label: "backoff", key: "retry_backoff_base", render: r => r.retry_backoff_base ? r.retry_backoff_base + " … " + r.retry_backoff_max : "" },
        { label: "on failure", key: "on_failure" },
        { label: "queued", key: "queued", num: true },
        { label: "picked", key: "picked", num: true },
        { label: "state", key: "paused", render: r => r.paused === "t"
            ? [el("span", { class: "paused" }, "paused "), actionButton("Resume", "/api/resume", { entrypoint: r.entrypoint }, { name: "resume" })]
            : ["running ", actionButton("Pause", "/api/pause", { entrypoint: r.entrypoint }, { name: "pause" })] },
    ], data.entrypoints, r => ({ "data-entrypoint": r.entrypoint })));
}

async function pageSchedules(main) {
    const data = await api("/api/schedules");
    main.replaceChildren(el("h1", {}, "Schedules"), table([
        { label: "id", key: "id", num: true },
        { label: "expression", key: "expression" },
        { label: "entrypoint", key: "entrypoint" },
        { label: "next run", key: "next_run", render: r => fmtTime(r.next_run) },
        { label: "last run", key: "last_run", render: r => fmtTime(r.last_run) },
        { label: "fired by", key: "server_fired", render: r => r.server_fired === "t" ? "server" : "PgQueuer's scheduler" },
        { label: "enabled", key: "enabled", render: r => r.enabled === "t"
            ? ["yes ", actionButton("Disable", "/api/schedule", { id: r.id, enabled: "false" }, { name: "disable" })]
            : ["no ", actionButton("Enable", "/api/schedule", { id: r.id, enabled: "true" }, { name: "enable" })] },
    ], data.schedules, r => ({ "data-schedule": r.id })));
}

const PAGES = {
    "/": ["overview", pageOverview], "/jobs": ["jobs", pageJobs], "/job": ["jobs", pageJob],
    "/failed": ["failed", pageFailed], "/entrypoints": ["entrypoints", pageEntrypoints],
    "/schedules": ["schedules", pageSchedules],
};

async function render() {
    const [name, fn] = PAGES[location.pathname] || PAGES["/"];
    for (const a of document.querySelectorAll("nav a"))
        a.classList.toggle("active", a.dataset.page === name);
    lastRefresh = Date.now();
    try {
        await fn(document.getElementById("main"));
        document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
    } catch (e) {
        /* the banner says what went wrong; the next change or timer retries */
        scheduleRefresh(2000);
    }
}

/* scheduleRefresh(delay): render again soon, at most once a second. */
function scheduleRefresh(delay) {
    if (refreshTimer) return;
    const wait = Math.max(delay || 0, 1000 - (Date.now() - lastRefresh));
    refreshTimer = setTimeout(() => { refreshTimer = null; render(); }, wait);
}

async function loadSession() {
    try {
        const res = await fetch("/api/session", { credentials: "same-origin" });
        session = await res.json();
    } catch (e) {
        session = { actions: false, authenticated: false, csrf: null };
    }
    document.getElementById("login").hidden = !(session.actions && !session.authenticated);
    document.getElementById("logout").hidden = !session.authenticated;
}

function live() {
    const ind = document.getElementById("live");
    const events = new EventSource("/events");
    const state = (data) => {
        let db = true;
        try { db = JSON.parse(data).db; } catch (e) { /* keep true */ }
        ind.className = "live " + (db ? "on" : "off");
        ind.textContent = db ? "live" : "database unreachable";
        if (!db) banner("The database cannot be reached; pgq web keeps trying.");
    };
    events.addEventListener("hello", e => { state(e.data); scheduleRefresh(0); });
    events.addEventListener("change", e => { state(e.data); scheduleRefresh(0); });
    events.onerror = () => {
        ind.className = "live off";
        ind.textContent = "reconnecting…";
    };
}

document.addEventListener("DOMContentLoaded", async () => {
    document.getElementById("login").addEventListener("submit", async (e) => {
        e.preventDefault();
        const token = document.getElementById("token").value;
        const res = await fetch("/api/login", { method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: "token=" + encodeURIComponent(token) });
        if (!res.ok) banner("Login failed: wrong token.");
        else banner(null);
        await loadSession();
        await render();
    });
    document.getElementById("logout").addEventListener("click", async () => {
        await act("/api/logout", {});
        await loadSession();
        await render();
    });
    await loadSession();
    await render();
    live();
});
