import { pageJson, pagePrintable } from "./page-escape.ts";

/**
 * The approvers' inbox, served by the admin listener at /ui/. The page holds no data of its own: approvers sign in
 * with an identity provider where one is configured (a session cookie the page never sees; decisions carry the
 * session's CSRF token), or give the admin token (kept in sessionStorage); it then calls the admin API. Every value from a call is rendered as
 * text (never as HTML), because tool arguments come from agents, and with control and bidi characters escaped, so
 * a tool name cannot pose as another.
 */
export const APPROVALS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Toolgate approvals</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2433; background: #f6f7f9; }
  header { background: #1d2433; color: #fff; padding: 12px 24px; display: flex; gap: 16px; align-items: center; }
  header h1 { font-size: 16px; margin: 0; flex: 1; }
  main { padding: 16px 24px; }
  form.login, .who, .idp { display: flex; gap: 8px; align-items: center; margin-bottom: 16px; }
  [hidden] { display: none !important; }
  a.signin { padding: 6px 12px; border-radius: 4px; background: #0969da; color: #fff; text-decoration: none; }
  input { font: inherit; padding: 6px 8px; border: 1px solid #c5cad3; border-radius: 4px; }
  button { font: inherit; padding: 6px 12px; border-radius: 4px; border: 1px solid #c5cad3; background: #fff; cursor: pointer; }
  button.approve { background: #1a7f37; border-color: #1a7f37; color: #fff; }
  button.deny { background: #cf222e; border-color: #cf222e; color: #fff; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; vertical-align: top; padding: 8px; border-bottom: 1px solid #e3e6eb; }
  tr.focus { outline: 2px solid #0969da; }
  pre { margin: 0; white-space: pre-wrap; word-break: break-word; max-width: 480px; }
  .status { padding: 8px 0; color: #57606a; }
  .error { color: #cf222e; }
</style>
</head>
<body>
<header><h1>Toolgate approvals</h1><span id="gateway"></span></header>
<main>
  <div class="idp" id="idp" hidden><span>Sign in with</span><span id="idp-list"></span><button id="use-token" type="button">Use the admin token instead</button></div>
  <form class="login" id="login" hidden>
    <label for="token">Admin token</label>
    <input id="token" type="password" autocomplete="off" size="48" required>
    <button type="submit">Sign in</button>
  </form>
  <div id="inbox" hidden>
    <div class="who"><span id="who-token"><label for="approver">You are</label> <input id="approver" placeholder="name or email" size="32"></span><span id="who-session" hidden>Signed in as <strong id="signed-in-as"></strong></span><button id="signout" type="button">Sign out</button></div>
    <p class="status" id="status">Loading…</p>
    <table>
      <thead><tr><th>Tool</th><th>Arguments</th><th>Why</th><th>Grant · server</th><th>Expires</th><th></th></tr></thead>
      <tbody id="rows"></tbody>
    </table>
  </div>
</main>
<script src="/ui/app.js"></script>
</body>
</html>
`;

export const APPROVALS_JS = `"use strict";
(() => {
  ${pagePrintable.toString()}
  ${pageJson.toString()}
  const $ = (id) => document.getElementById(id);
  // session: the signed-in approver (identity provider sign-in); token: the admin token typed in instead.
  // offered: the identity providers to sign in with; where there are any, the admin token form is shown on request.
  const state = { token: sessionStorage.getItem("toolgate-token") || "", session: null, offered: [], tokenForm: false };
  $("approver").value = localStorage.getItem("toolgate-approver") || "";
  $("approver").addEventListener("change", () => localStorage.setItem("toolgate-approver", $("approver").value.trim()));
  $("gateway").textContent = location.host;

  async function start() {
    const session = await fetch("/ui/auth/session", { headers: { accept: "application/json" } });
    state.session = session.ok ? await session.json() : null;
    if (!state.session && !state.token) {
      const offered = await fetch("/ui/auth/providers").then((r) => (r.ok ? r.json() : { providers: [] }), () => ({ providers: [] }));
      const list = $("idp-list");
      list.replaceChildren();
      for (const p of offered.providers) {
        const a = document.createElement("a");
        a.className = "signin";
        a.href = "/ui/auth/login?provider=" + encodeURIComponent(p.name) + (location.hash ? "&return=" + encodeURIComponent(location.hash) : "");
        a.textContent = pagePrintable(p.description || p.name);
        a.dataset.provider = p.name;
        list.append(a, " ");
      }
      state.offered = offered.providers;
    }
    show();
  }

  function show() {
    const signedIn = Boolean(state.session || state.token);
    $("idp").hidden = signedIn || state.offered.length === 0;
    $("login").hidden = signedIn || (state.offered.length > 0 && !state.tokenForm);
    $("use-token").hidden = state.tokenForm;
    $("inbox").hidden = !signedIn;
    $("who-token").hidden = Boolean(state.session);
    $("who-session").hidden = !state.session;
    if (state.session) {
      const s = state.session;
      $("signed-in-as").textContent = pagePrintable((s.name || s.email || s.subject) + (s.email && s.name ? " <" + s.email + ">" : "") + " (" + s.decider + ")");
    }
    if (signedIn) load();
  }

  async function api(method, path, body) {
    const headers = { ...(body ? { "content-type": "application/json" } : {}) };
    if (state.session) headers[state.session.csrfHeader] = state.session.csrfToken;
    else headers.authorization = "Bearer " + state.token;
    const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    if (res.status === 401) {
      const wasSession = Boolean(state.session);
      state.token = "";
      state.session = null;
      sessionStorage.removeItem("toolgate-token");
      await start();
      throw new Error(wasSession ? "Your sign-in has ended: sign in again" : "The admin token was not accepted");
    }
    const data = await res.json();
    if (!res.ok) throw new Error(pagePrintable(data.detail || "HTTP " + res.status));
    return data;
  }

  function cell(row, content) {
    const td = document.createElement("td");
    if (content instanceof Node) td.append(content);
    else td.textContent = content;
    row.append(td);
    return td;
  }

  function render(items) {
    const rows = $("rows");
    rows.replaceChildren();
    $("status").textContent = items.length === 0 ? "No calls are waiting for approval." : items.length + " call" + (items.length === 1 ? "" : "s") + " waiting for approval.";
    for (const a of items) {
      const tr = document.createElement("tr");
      tr.dataset.id = a.id;
      if (location.hash === "#" + a.id) tr.className = "focus";
      cell(tr, pagePrintable(a.tool));
      const pre = document.createElement("pre");
      pre.textContent = pageJson(a.arguments);
      cell(tr, pre);
      cell(tr, pagePrintable(a.reason));
      cell(tr, pagePrintable(a.grant) + " · " + pagePrintable(a.server));
      cell(tr, new Date(a.expiresAt).toLocaleString());
      const actions = cell(tr, "");
      const approve = document.createElement("button");
      approve.className = "approve";
      approve.textContent = "Approve";
      approve.addEventListener("click", () => decide(a.id, "approve"));
      const reason = document.createElement("input");
      reason.placeholder = "reason to deny";
      reason.setAttribute("aria-label", "reason to deny " + a.id);
      const deny = document.createElement("button");
      deny.className = "deny";
      deny.textContent = "Deny";
      deny.addEventListener("click", () => decide(a.id, "deny", reason.value));
      actions.append(approve, " ", reason, " ", deny);
      rows.append(tr);
    }
  }

  async function load() {
    try {
      render((await api("GET", "/v1/approvals?status=pending")).items);
    } catch (error) {
      $("status").textContent = error.message;
      $("status").className = "status error";
    }
  }

  async function decide(id, action, reason) {
    // A signed-in approver decides as themselves: the gateway records their identity, not a typed name.
    const by = state.session ? "" : $("approver").value.trim();
    if (!by && !state.session) {
      $("status").textContent = "Enter your name or email first: it is recorded with the decision.";
      $("status").className = "status error";
      $("approver").focus();
      return;
    }
    try {
      await api("POST", "/v1/approvals/" + encodeURIComponent(id) + "/" + action, { ...(by ? { by } : {}), ...(reason ? { reason } : {}) });
      $("status").className = "status";
      await load();
      $("status").textContent = (action === "approve" ? "Approved " : "Denied ") + id + ". " + $("status").textContent;
    } catch (error) {
      $("status").textContent = error.message;
      $("status").className = "status error";
    }
  }

  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem("toolgate-token", state.token);
    $("token").value = "";
    show();
  });
  $("use-token").addEventListener("click", () => {
    state.tokenForm = true;
    show();
  });
  $("signout").addEventListener("click", async () => {
    if (state.session) await fetch("/ui/auth/logout", { method: "POST", headers: { [state.session.csrfHeader]: state.session.csrfToken } });
    state.token = "";
    state.session = null;
    sessionStorage.removeItem("toolgate-token");
    await start();
  });
  setInterval(() => (state.token || state.session) && load(), 5000);
  void start();
})();
`;
