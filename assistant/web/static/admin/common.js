/* 政务助手 operator console: the shell every /admin page shares (no build step, no CDN).

   A page is a static HTML file with <body data-page="NAME" data-title="标题"> that loads this
   script and its own; the page script calls ZW.page(function (main, me) { ... }). This file:
   - builds the top bar, the navigation (文档 问答 会话 洞察 索引 安全词库 审计) and <main>, with a skip link;
   - logs in: the operator types a key into a form; it is kept in sessionStorage (this tab only,
     gone when the tab closes) and sent as the X-API-Key header — never in a URL or a cookie;
     GET /v1/admin/whoami tells the role (admin / editor / reviewer);
   - ZW.api(path, opts): fetch with the key header, JSON or multipart body, query parameters;
     rejects with an Error carrying .status / .code / .message from the API's error shape; a 401
     logs out and shows the login form again;
   - ZW.h (element builder, text only: never innerHTML), ZW.status (the live message line),
     ZW.table (an accessible table with a caption), ZW.pager, ZW.fmtTime, ZW.can(role...).
*/
(function () {
  "use strict";

  var KEY_STORE = "zw-admin-key";
  var NAV = [
    ["documents", "文档", "/admin/documents"],
    ["curated", "问答", "/admin/curated"],
    ["conversations", "会话", "/admin/conversations"],
    ["insights", "洞察", "/admin/insights"],
    ["index", "索引", "/admin/index"],
    ["screening", "安全词库", "/admin/screening"],
    ["audit", "审计", "/admin/audit"]
  ];
  var ROLE_NAMES = { admin: "管理员", editor: "编辑", reviewer: "审核员" };

  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k.slice(0, 2) === "on" && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    });
    [].concat(kids === undefined ? [] : kids).forEach(function (kid) {
      if (kid === null || kid === undefined || kid === false) return;
      el.appendChild(typeof kid === "string" || typeof kid === "number" ? document.createTextNode(String(kid)) : kid);
    });
    return el;
  }

  function getKey() {
    try { return sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { return memoryKey; }
  }
  var memoryKey = "";
  function setKey(key) {
    memoryKey = key;
    try { if (key) sessionStorage.setItem(KEY_STORE, key); else sessionStorage.removeItem(KEY_STORE); } catch (e) { /* blocked storage: memory only */ }
  }

  function ApiError(status, code, message) {
    var err = new Error(message || ("HTTP " + status));
    err.status = status; err.code = code || ""; return err;
  }

  /* fetch helper. opts: method, query (object), json (body), form (FormData), raw (return Response). */
  function api(path, opts) {
    opts = opts || {};
    var url = path;
    if (opts.query) {
      var q = new URLSearchParams();
      Object.keys(opts.query).forEach(function (k) {
        var v = opts.query[k];
        if (v !== "" && v !== null && v !== undefined) q.append(k, String(v));
      });
      var qs = q.toString();
      if (qs) url += (url.indexOf("?") < 0 ? "?" : "&") + qs;
    }
    var headers = { "Accept": "application/json" };
    var key = opts.key !== undefined ? opts.key : getKey();
    if (key) headers["X-API-Key"] = key;
    var body;
    if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(opts.json); }
    else if (opts.form) body = opts.form;
    return fetch(url, { method: opts.method || (body ? "POST" : "GET"), headers: headers, body: body, cache: "no-store" })
      .then(function (res) {
        if (opts.raw && res.ok) return res;
        return res.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          if (res.ok) return data;
          var e = (data && data.error) || {};
          if (res.status === 401 && !opts.login) { logout("登录已失效，请重新输入密钥。"); }
          throw ApiError(res.status, e.code, e.message || text || res.statusText);
        });
      });
  }

  var statusEl = null;
  /* Show a message in the page's live region; kind: ok | err | info. An Error shows its message. */
  function status(msg, kind) {
    if (!statusEl) return;
    if (msg instanceof Error) { kind = "err"; msg = describeError(msg); }
    statusEl.className = "adm-status " + (kind || "info");
    statusEl.textContent = msg || "";
  }
  function describeError(err) {
    if (err.status === 403) return "没有权限：" + err.message;
    if (err.status === 404) return "未找到：" + err.message;
    if (err.status === 409) return "冲突：" + err.message;
    if (err.status === 413) return "文件太大：" + err.message;
    if (err.status === 422 || err.status === 400) return "输入有误：" + err.message;
    if (err.status >= 500) return "服务器暂时无法处理（" + err.status + "）：" + err.message;
    return err.message || "出错了";
  }

  function fmtTime(value) {
    if (!value) return "";
    var d = new Date(value);
    if (isNaN(d.getTime())) return String(value);
    function p(n) { return n < 10 ? "0" + n : String(n); }
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " + p(d.getHours()) + ":" + p(d.getMinutes());
  }

  /* columns: [{key, label, render(row) -> Node|string, num}]; rows: array of objects. */
  function table(caption, columns, rows, emptyText) {
    var wrap = h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption });
    if (!rows || !rows.length) { wrap.appendChild(h("p", { class: "empty", text: emptyText || "没有记录。" })); return wrap; }
    var head = h("tr", {}, columns.map(function (c) { return h("th", { scope: "col", class: c.num ? "num" : null, text: c.label }); }));
    var body = h("tbody", {}, rows.map(function (row) {
      return h("tr", {}, columns.map(function (c, i) {
        var v = c.render ? c.render(row) : row[c.key];
        var cell = h(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, class: c.num ? "num" : null });
        if (v instanceof Node) cell.appendChild(v); else cell.textContent = v === null || v === undefined ? "" : String(v);
        return cell;
      }));
    }));
    wrap.appendChild(h("table", {}, [h("caption", { text: caption }), h("thead", {}, head), body]));
    return wrap;
  }

  /* A pager: state {offset, limit, total}; onPage(newOffset). */
  function pager(state, onPage) {
    var page = Math.floor(state.offset / state.limit) + 1, pages = Math.max(1, Math.ceil(state.total / state.limit));
    return h("nav", { class: "pager", "aria-label": "分页" }, [
      h("button", { type: "button", class: "btn", disabled: state.offset <= 0, onclick: function () { onPage(Math.max(0, state.offset - state.limit)); } }, "上一页"),
      h("span", { text: "第 " + page + " / " + pages + " 页，共 " + state.total + " 条" }),
      h("button", { type: "button", class: "btn", disabled: state.offset + state.limit >= state.total, onclick: function () { onPage(state.offset + state.limit); } }, "下一页")
    ]);
  }

  var JOB_NAMES = { queued: "排队中", running: "进行中", done: "已完成", failed: "失败" };
  var JOB_KINDS = { queued: "info", running: "info", done: "ok", failed: "bad" };

  /* Follow a job (GET /v1/admin/jobs/{id}) in the status line with a progress bar until it ends;
     onEnd(job) runs once it is done or failed. */
  function watchJob(jobId, label, onEnd) {
    var bar = h("progress", { max: "1", value: "0", "aria-label": label + "进度" });
    var text = h("span", { text: label + "：排队中" });
    if (statusEl) { statusEl.className = "adm-status info"; statusEl.textContent = ""; statusEl.appendChild(text); statusEl.appendChild(document.createTextNode(" ")); statusEl.appendChild(bar); }
    function poll() {
      api("/v1/admin/jobs/" + encodeURIComponent(jobId)).then(function (job) {
        bar.value = job.progress || 0;
        text.textContent = label + "：" + (JOB_NAMES[job.status] || job.status) + (job.message ? "（" + job.message + "）" : "");
        if (job.status === "done" || job.status === "failed") {
          status(label + "：" + JOB_NAMES[job.status] + (job.message ? "。" + job.message : ""), job.status === "done" ? "ok" : "err");
          if (onEnd) onEnd(job);
        } else setTimeout(poll, 1000);
      }).catch(function (err) { status(err); });
    }
    poll();
  }

  function badge(text, kind) { return h("span", { class: "badge " + (kind || "") , text: text }); }

  var me = null, pageMain = null, pageRender = null;

  function can() {
    if (!me) return false;
    if (me.role === "admin") return true;
    for (var i = 0; i < arguments.length; i++) if (arguments[i] === me.role) return true;
    return false;
  }

  function buildShell() {
    var page = document.body.getAttribute("data-page") || "";
    var title = document.body.getAttribute("data-title") || "";
    var userBox = h("div", { class: "adm-user", id: "adm-user" });
    var bar = h("header", { class: "adm-bar" }, h("div", { class: "adm-bar-in" }, [
      h("div", { class: "adm-brand" }, [h("span", { class: "adm-emblem", "aria-hidden": "true", text: "政" }), h("span", { text: "政务助手 · 管理台" })]),
      userBox
    ]));
    var nav = h("nav", { class: "adm-nav", "aria-label": "管理台导航" }, h("ul", {}, NAV.map(function (n) {
      return h("li", {}, h("a", { href: n[2], "aria-current": n[0] === page ? "page" : null, text: n[1] }));
    })));
    statusEl = h("p", { class: "adm-status", id: "adm-status", role: "status", "aria-live": "polite" });
    pageMain = h("div", { id: "adm-page" });
    var main = h("main", { id: "adm-main", tabindex: "-1" }, [h("h1", { id: "adm-title", text: title }), statusEl, pageMain]);
    document.body.insertBefore(h("a", { class: "skip", href: "#adm-main", text: "跳到主要内容" }), document.body.firstChild);
    document.body.appendChild(bar);
    document.body.appendChild(nav);
    document.body.appendChild(main);
  }

  function renderUser() {
    var box = document.getElementById("adm-user");
    box.textContent = "";
    if (!me) return;
    box.appendChild(h("span", { text: "当前角色：" + (ROLE_NAMES[me.role] || me.role) + (me.key_id ? "（" + me.key_id + "）" : "") }));
    if (me.keys_configured) box.appendChild(h("button", { type: "button", class: "btn", id: "adm-logout", onclick: function () { logout("已退出登录。"); } }, "退出"));
  }

  function showLogin(message) {
    me = null; renderUser();
    pageMain.textContent = "";
    var input = h("input", { id: "adm-key", type: "password", autocomplete: "current-password", required: true, "aria-describedby": "adm-key-hint" });
    var form = h("form", { class: "card login", id: "adm-login", "aria-labelledby": "adm-login-title" }, [
      h("h2", { id: "adm-login-title", text: "登录管理台" }),
      h("div", { class: "field" }, [
        h("label", { for: "adm-key", text: "管理密钥" }), input,
        h("span", { class: "hint", id: "adm-key-hint", text: "请输入管理员、编辑或审核员密钥。密钥只保存在本标签页，关闭后需重新登录。" })
      ]),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn primary" }, "登录"))
    ]);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var key = input.value.trim();
      if (!key) { status("请输入密钥。", "err"); input.focus(); return; }
      api("/v1/admin/whoami", { key: key, login: true }).then(function (who) {
        setKey(key); status("登录成功。", "ok"); enter(who);
        document.getElementById("adm-main").focus();  // the form is gone: keep the focus in the page
      }).catch(function (err) {
        status(err.status === 401 ? "密钥无效，请检查后重试。" : err, "err");
        input.select(); input.focus();
      });
    });
    pageMain.appendChild(form);
    if (message) status(message, "info");
    input.focus();
  }

  function logout(message) {
    setKey("");
    if (pageMain) showLogin(message);
  }

  function enter(who) {
    me = who; renderUser();
    pageMain.textContent = "";
    try { pageRender(pageMain, me); } catch (e) { status(e); }
  }

  /* Entry point for a page script: render(container, me) runs once the operator is logged in. */
  function page(render) {
    pageRender = render;
    var go = function () {
      buildShell();
      api("/v1/admin/whoami", { login: true }).then(enter).catch(function (err) {
        if (err.status === 401) showLogin(getKey() ? "密钥已失效，请重新登录。" : "");
        else status(err);
      });
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go); else go();
  }

  window.ZW = {
    api: api, h: h, status: status, table: table, pager: pager, badge: badge, fmtTime: fmtTime,
    can: can, page: page, logout: logout, describeError: describeError, watchJob: watchJob,
    JOB_NAMES: JOB_NAMES, JOB_KINDS: JOB_KINDS,
    me: function () { return me; }, ROLE_NAMES: ROLE_NAMES
  };
})();
