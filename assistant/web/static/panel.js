/* 政务助手 chat panel (runs inside the widget iframe): streams answers from POST /v1/chat over SSE,
   renders citations, service cards, clarifying choices and hand-offs, and keeps the conversation
   in localStorage so it survives page loads. Vanilla JS, no dependencies. */
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  var BASE = location.href.replace(/\/widget\/panel\.html.*$/, "");
  var KEY = params.get("key") || "";
  var REGION = params.get("region") || "";
  var EMBEDDED = params.get("embed") === "1" && window.parent !== window;
  var STORE = "zw-assistant:v1:" + REGION;
  var PREFS = "zw-assistant:prefs";
  var MAX_KEPT = 60;
  var STARTERS = ["居住证怎么办理？", "公租房申请条件是什么？", "失业保险金怎么领？", "社保卡丢了怎么补办？"];

  var $ = function (id) { return document.getElementById(id); };
  var log = $("zw-log"), input = $("zw-input"), send = $("zw-send"), form = $("zw-form");
  var state = { sessionId: "", messages: [] };
  var busy = false, controller = null, seq = 0;

  // ---- storage (may be blocked in third-party iframes: fall back to memory) ----
  var mem = {};
  function load(k) {
    try { return JSON.parse(localStorage.getItem(k) || "null"); } catch (e) { return mem[k] || null; }
  }
  function store(k, v) {
    try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) { mem[k] = v; }
  }
  function save() {
    state.messages = state.messages.slice(-MAX_KEPT);
    store(STORE, state);
  }

  // ---- small DOM helpers ----
  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    });
    (kids || []).forEach(function (c) {
      if (c !== null && c !== undefined && c !== false) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return el;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function safeUrl(u) { return /^(https?:|tel:)/i.test(u || "") ? u : ""; }
  function icon(path) {
    return '<svg viewBox="0 0 24 24" aria-hidden="true">' + path + "</svg>";
  }
  var ICON_UP = icon('<path d="M7 11v9H4v-9h3zm0 0l4-8c1.7 0 2.5 1 2.5 2.5L13 9h5.5a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 17.3 20H7"/>');
  var ICON_DOWN = icon('<path d="M17 13V4h3v9h-3zm0 0l-4 8c-1.7 0-2.5-1-2.5-2.5L11 15H5.5a2 2 0 0 1-2-2.3l1.2-7A2 2 0 0 1 6.7 4H17"/>');
  var ICON_SPEAK = icon('<path d="M4 9v6h4l5 4V5L8 9H4zM16.5 8.5a5 5 0 0 1 0 7M19 6a8.5 8.5 0 0 1 0 12"/>');

  // Answer text: escaped, one paragraph per line, **bold**, and [n] linked to source n.
  function formatText(msg) {
    var lines = String(msg.text || "").split(/\n+/);
    return lines.filter(function (l) { return l.trim(); }).map(function (line) {
      var s = esc(line).replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
      s = s.replace(/\[(\d{1,2})\]/g, function (m, n) {
        return '<a class="ref" href="#c-' + msg.id + "-" + n + '" data-ref="' + n + '" aria-label="参考来源' + n + '">[' + n + "]</a>";
      });
      return "<p>" + s + "</p>";
    }).join("");
  }

  // ---- rendering ----
  function renderWelcome() {
    return h("div", { class: "msg bot welcome" }, [
      h("div", { class: "bubble" }, [
        h("p", { text: "您好！我是政务智能助手，可以为您解答政策问题、查询办事指南。" }),
        h("p", { class: "muted", text: "您可以直接输入问题，或点击下面的常见问题：" }),
        h("p", { class: "muted kbd-hint", text: "键盘操作：Alt + ↑ / ↓ 在各条回答之间跳转，Esc 关闭窗口。" }),
        h("div", { class: "starters", role: "group", "aria-label": "常见问题" }, STARTERS.map(function (q) {
          return h("button", { type: "button", class: "chip", text: q, onclick: function () { ask(q); } });
        }))
      ])
    ]);
  }

  function renderCitations(msg) {
    if (!msg.citations || !msg.citations.length) return null;
    return h("section", { class: "sources", "aria-label": "参考来源" }, [
      h("h3", { text: "参考来源" }),
      h("ol", null, msg.citations.map(function (c) {
        var url = safeUrl(c.url);
        var meta = [c.doc_number, c.publish_date, c.department].filter(Boolean).join(" · ");
        var titleEl = url
          ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "src-title", text: c.title || "未命名文件" })
          : h("span", { class: "src-title", text: c.title || "未命名文件" });
        var status = c.status && c.status !== "现行有效" ? h("span", { class: "badge warn", text: c.status }) : null;
        return h("li", { id: "c-" + msg.id + "-" + c.n, class: "src", "data-testid": "widget-citation" }, [
          h("span", { class: "n", "aria-hidden": "true", text: String(c.n) }),
          h("div", { class: "src-body" }, [
            titleEl, status,
            meta ? h("div", { class: "meta", text: meta }) : null,
            c.snippet ? h("details", null, [h("summary", { text: "查看原文摘录" }), h("p", { text: c.snippet })]) : null
          ])
        ]);
      }))
    ]);
  }

  function renderCard(msg) {
    var card = msg.card;
    if (!card || !card.title) return null;
    msg.checked = msg.checked || {};
    var rows = [], lists = [];
    (card.fields || []).forEach(function (f) {
      if (f.items && f.items.length) lists.push(f);
      else if (f.value && f.key !== "online_url" && f.key !== "phone") rows.push(h("div", { class: "row" }, [
        h("dt", { text: f.label }), h("dd", { text: f.value })
      ]));
    });
    var progress = h("p", { class: "progress", "aria-live": "polite" });
    function updateProgress() {
      var total = 0, done = 0;
      lists.forEach(function (f) {
        f.items.forEach(function (_, i) { total++; if (msg.checked[f.key + ":" + i]) done++; });
      });
      progress.textContent = total ? "已备齐 " + done + " / " + total + " 项材料" : "";
    }
    var fieldsets = lists.map(function (f) {
      return h("fieldset", { class: "checklist" }, [h("legend", { text: f.label + "（可勾选已备齐的材料）" })].concat(
        f.items.map(function (item, i) {
          var id = "k-" + msg.id + "-" + f.key + "-" + i;
          var box = h("input", { type: "checkbox", id: id, onchange: function () {
            msg.checked[f.key + ":" + i] = box.checked; updateProgress(); save();
          } });
          box.checked = !!msg.checked[f.key + ":" + i];
          return h("div", { class: "check" }, [box, h("label", { for: id, text: item })]);
        })));
    });
    updateProgress();
    var el;
    var online = safeUrl(card.online_url);
    var actions = h("div", { class: "actions" }, [
      online ? h("a", { class: "btn primary", href: online, target: "_blank", rel: "noopener noreferrer", text: "在线办理" }) : null,
      card.phone ? h("a", { class: "btn", href: "tel:" + card.phone.replace(/[^\d+-]/g, ""), text: "咨询电话 " + card.phone }) : null,
      lists.length ? h("button", { type: "button", class: "btn", text: "打印材料清单", onclick: function () { printCard(el); } }) : null
    ]);
    el = h("article", { class: "card", "aria-label": "办事指南：" + card.title }, [
      h("div", { class: "card-head" }, [
        h("span", { class: "tag", text: "办事指南" }),
        h("h3", { text: card.title }),
        card.department ? h("p", { class: "meta", text: card.department + (card.region ? " · " + card.region : "") }) : null
      ]),
      rows.length ? h("dl", null, rows) : null
    ].concat(fieldsets, [lists.length ? progress : null, actions]));
    return el;
  }

  function printCard(el) {
    document.body.classList.add("printing");
    el.classList.add("print-target");
    var done = function () {
      document.body.classList.remove("printing");
      el.classList.remove("print-target");
      window.removeEventListener("afterprint", done);
    };
    window.addEventListener("afterprint", done);
    window.print();
    setTimeout(done, 1000);
  }

  function telLink(num, label, primary) {
    var digits = String(num || "").replace(/[^\d+-]/g, "");
    return digits ? h("a", { class: "btn" + (primary ? " primary" : ""), href: "tel:" + digits, text: label }) : null;
  }

  function renderHandoff(msg) {
    var ho = msg.handoff;
    if (!ho) return null;
    var hotline = ho.hotline || "12345";
    return h("div", { class: "handoff", role: "note", "aria-label": "人工服务" }, [
      h("h3", { text: "建议您联系人工服务" }),
      ho.message && ho.message.trim() !== String(msg.text).trim() ? h("p", { text: ho.message }) : null,
      h("div", { class: "actions" }, [
        telLink(hotline, "拨打 " + hotline + " 热线", true),
        ho.department_phone ? telLink(ho.department_phone, (ho.department || "主管部门") + " " + ho.department_phone, false) : null,
        ho.service_url && /^https?:\/\//.test(ho.service_url)
          ? h("a", { class: "btn", href: ho.service_url, target: "_blank", rel: "noopener noreferrer", text: "自助查询：" + (ho.service || "在线办理") })
          : null
      ]),
      ho.channels && ho.channels.length ? h("ul", { class: "channels" }, ho.channels.map(function (c) {
        return h("li", { text: c });
      })) : null
    ]);
  }

  function renderClarify(msg) {
    var cl = msg.clarify;
    if (!cl || !cl.options || !cl.options.length) return null;
    return h("div", { class: "clarify", role: "group", "aria-label": cl.question || "请选择" }, [
      cl.question && cl.question !== msg.text ? h("p", { text: cl.question }) : null,
      h("div", { class: "opts" }, cl.options.map(function (o, i) {
        return h("button", {
          type: "button", class: "chip" + (msg.chosen === i ? " chosen" : ""), text: o.label, "data-k": "opt-" + i,
          disabled: msg.chosen !== undefined && msg.chosen !== null,
          "aria-pressed": msg.chosen === i ? "true" : null,
          onclick: function () { msg.chosen = i; update(msg); ask(o.question || o.label); }
        });
      }))
    ]);
  }

  function renderFooter(msg) {
    if (msg.status !== "done" || !msg.text) return null;
    var kids = [];
    var speakBtn = h("button", {
      type: "button", class: "mini speak", "data-k": "speak", "aria-label": "朗读这条回答",
      "aria-pressed": speaking === msg.id ? "true" : "false", onclick: function (e) { speak(msg, e.currentTarget); }
    });
    speakBtn.innerHTML = ICON_SPEAK + "<span>朗读</span>";
    kids.push(speakBtn);
    if (msg.requestId) {
      kids.push(h("span", { class: "fb-label", text: msg.rating ? "感谢您的反馈！" : "有帮助吗？" }));
      ["up", "down"].forEach(function (r) {
        var b = h("button", {
          type: "button", class: "mini fb", "data-rating": r, "data-k": "fb-" + r,
          "aria-pressed": msg.rating === r ? "true" : "false", "aria-disabled": msg.rating ? "true" : null,
          "aria-label": r === "up" ? "有帮助" : "没有帮助", title: r === "up" ? "有帮助" : "没有帮助",
          onclick: function (e) { feedback(msg, r, e.currentTarget); }
        });
        b.innerHTML = r === "up" ? ICON_UP : ICON_DOWN;
        kids.push(b);
      });
      kids.push(h("button", {
        type: "button", class: "mini report-btn", "data-testid": "report", "data-k": "report",
        "aria-expanded": msg.reportOpen ? "true" : "false", "aria-controls": "rp-" + msg.id,
        text: "投诉/举报", onclick: function () { msg.reportOpen = !msg.reportOpen; update(msg); focusReport(msg); }
      }));
    }
    return h("div", { class: "tools-row" }, kids);
  }

  // ---- 投诉/举报 (Art. 15): a reason, an optional note, and the tracking number to look it up ----
  var REASONS = ["错误", "过时", "不当内容", "其他"];
  function renderReport(msg) {
    var rp = msg.report || {};
    if (rp.tracking) {
      return h("div", { class: "report done", id: "rp-" + msg.id, role: "status", "data-testid": "report-receipt" }, [
        h("p", null, ["已受理您的投诉/举报，查询编号：", h("strong", { "data-testid": "report-tracking", text: rp.tracking })]),
        h("p", { class: "muted", text: "请保存编号，可在上方“投诉查询”中查看办理进度" + (rp.deadline ? "（办理期限：" + rp.deadline.slice(0, 10) + "）" : "") + "。" })
      ]);
    }
    if (!msg.reportOpen) return null;
    var name = "rr-" + msg.id;
    var form = h("form", { class: "report", id: "rp-" + msg.id, "aria-label": "投诉/举报这条回答", onsubmit: function (e) {
      e.preventDefault(); submitReport(msg, form);
    } }, [
      h("fieldset", null, [
        h("legend", { text: "投诉/举报原因" }),
        h("div", { class: "reasons" }, REASONS.map(function (r, i) {
          var id = name + "-" + i;
          return h("span", { class: "reason" }, [
            h("input", { type: "radio", name: name, id: id, value: r, checked: (rp.reason || REASONS[0]) === r, "data-k": "reason-" + i }),
            h("label", { for: id, text: r })
          ]);
        }))
      ]),
      h("label", { for: "rn-" + msg.id, class: "note-label", text: "补充说明（选填）" }),
      h("textarea", { id: "rn-" + msg.id, class: "report-note", rows: "2", maxlength: "500", "data-testid": "report-note", "data-k": "report-note" }),
      rp.error ? h("p", { class: "error-text", role: "alert", text: rp.error }) : null,
      h("div", { class: "actions" }, [
        h("button", { type: "submit", class: "btn primary", "data-testid": "report-submit", "data-k": "report-submit", disabled: rp.sending, text: rp.sending ? "提交中…" : "提交" }),
        h("button", { type: "button", class: "btn", "data-k": "report-cancel", text: "取消", onclick: function () { msg.reportOpen = false; update(msg); focusHead(msg); } })
      ])
    ]);
    return form;
  }
  function focusReport(msg) {
    var first = document.querySelector("#rp-" + CSS.escape(msg.id) + " input, #rp-" + CSS.escape(msg.id));
    if (first) first.focus({ preventScroll: false });
  }
  function focusHead(msg) {
    var head = document.getElementById("h-" + msg.id);
    if (head) head.focus({ preventScroll: true });
  }
  async function submitReport(msg, form) {
    var picked = form.querySelector("input[type=radio]:checked");
    var note = form.querySelector("textarea").value.trim();
    msg.report = { reason: picked ? picked.value : REASONS[0], sending: true };
    update(msg);
    try {
      var res = await fetch(BASE + "/v1/reports", {
        method: "POST", headers: headers(), body: JSON.stringify({ request_id: msg.requestId, reason: msg.report.reason, note: note })
      });
      var j = null;
      try { j = await res.json(); } catch (e) { /* not JSON */ }
      if (res.status !== 201 || !j || !j.tracking_number) throw new HttpError(res.status, friendlyError(res.status, j, res.headers.get("Retry-After")));
      msg.report = { tracking: j.tracking_number, deadline: j.deadline || "" };
      msg.reportOpen = false;
      say("已受理，查询编号 " + j.tracking_number);
    } catch (e) {
      msg.report = { reason: msg.report.reason, error: e instanceof HttpError ? e.message : "提交失败，请检查网络后重试。" };
    }
    save(); update(msg);
    var done = document.querySelector("#rp-" + CSS.escape(msg.id) + " [data-testid=report-tracking]");
    if (!done) focusReport(msg);
  }

  // Looking a report up by its tracking number (GET /v1/reports/{n}).
  var STATUS_NOTE = { "待处理": "已受理，等待处理", "处理中": "正在处理", "已办结": "已办结" };
  async function lookupReport(e) {
    e.preventDefault();
    var n = $("zw-track").value.trim(), out = $("zw-lookup-out");
    out.textContent = "";
    if (!n) { out.textContent = "请输入查询编号。"; return; }
    try {
      var res = await fetch(BASE + "/v1/reports/" + encodeURIComponent(n), { headers: headers() });
      var j = null;
      try { j = await res.json(); } catch (err) { /* not JSON */ }
      if (res.status === 404 || res.status === 422) { out.textContent = "未找到该编号，请核对后重试。"; return; }
      if (!res.ok || !j) { out.textContent = friendlyError(res.status, j, res.headers.get("Retry-After")); return; }
      out.appendChild(h("span", { "data-testid": "report-status", text: "办理状态：" + j.status }));
      out.appendChild(document.createTextNode("（" + (STATUS_NOTE[j.status] || j.status) + "）；办理期限：" + String(j.deadline || "").slice(0, 10) + (j.overdue ? "，已超期" : "")));
      if (j.handler_note) out.appendChild(h("p", { text: "答复：" + j.handler_note }));
    } catch (err) {
      out.textContent = "暂时无法查询，请稍后重试。";
    }
  }

  function renderMsg(msg) {
    if (msg.role === "user") {
      return h("div", { class: "msg user", id: "m-" + msg.id }, [
        h("span", { class: "sr", text: "我说：" }), h("div", { class: "bubble", text: msg.text })
      ]);
    }
    var body = h("div", { class: "bubble" });
    if (msg.text) body.innerHTML = formatText(msg);
    if (msg.status === "streaming") {
      body.appendChild(h("div", { class: "typing", role: "status" }, [
        h("span", { class: "dots", "aria-hidden": "true" }, [h("i"), h("i"), h("i")]),
        msg.text ? null : h("span", { class: "muted", text: "正在查找相关政策…" })
      ]));
    }
    var err = null;
    if (msg.status === "error") {
      err = h("div", { class: "error", role: "alert" }, [
        h("p", { text: msg.error || "服务暂时不可用，请稍后重试。" }),
        msg.question ? h("button", { type: "button", class: "btn", "data-k": "retry", text: "重试", onclick: function () { retry(msg); } }) : null
      ]);
    }
    return h("div", {
      class: "msg bot", id: "m-" + msg.id, "data-testid": "widget-answer",
      "aria-busy": msg.status === "streaming" ? "true" : "false", "data-status": msg.status
    }, [
      renderHead(msg),
      body, renderClarify(msg), renderCard(msg), renderHandoff(msg), renderCitations(msg), err, renderFooter(msg),
      renderReport(msg)
    ]);
  }

  // Each answer opens with a small visible heading: the focus target after a redraw, the stop for
  // Alt+↑/↓ and screen-reader heading navigation, and the row where answer labels go.
  function renderHead(msg) {
    return h("div", { class: "msg-head" }, [
      h("h2", { class: "who", id: "h-" + msg.id, tabindex: "-1", text: "助手回答" }),
      renderLabel(msg)
    ]);
  }
  // The explicit AI-content label (《人工智能生成合成内容标识办法》): the server's wording, or the
  // default until the answer's meta event has arrived; human-reviewed answers say so instead.
  var DEFAULT_LABEL = "本回答由人工智能生成，仅供参考，请以官方发布为准";
  function renderLabel(msg) {
    if (msg.status === "error" && !msg.text) return null;
    var lb = msg.label || { ai_generated: true, text: DEFAULT_LABEL };
    return h("span", {
      class: "ai-label" + (lb.ai_generated === false ? " human" : ""), "data-testid": "ai-label",
      "data-ai-generated": lb.ai_generated === false ? "false" : "true", text: lb.text || DEFAULT_LABEL
    });
  }

  function renderAll() {
    log.textContent = "";
    if (!state.messages.length) log.appendChild(renderWelcome());
    state.messages.forEach(function (m) { log.appendChild(renderMsg(m)); });
    var last = state.messages[state.messages.length - 1];
    if (last) showStart(last); else log.scrollTop = 0;
  }

  // Redraws replace a message's element; focus inside it moves to the same control in the new one
  // (data-k), or to the answer's heading when that control is gone or disabled, never to <body>.
  function update(msg) {
    var old = document.getElementById("m-" + msg.id);
    var focused = old && old.contains(document.activeElement) ? document.activeElement : null;
    var el = renderMsg(msg);
    if (old) old.replaceWith(el); else log.appendChild(el);
    if (focused) refocus(el, focused.getAttribute("data-k"));
  }
  function refocus(el, key) {
    var t = key ? el.querySelector('[data-k="' + key + '"]') : null;
    if (!t || t.disabled) t = el.querySelector(".who");
    if (t) t.focus({ preventScroll: true });
  }
  function focusLost() {
    var a = document.activeElement;
    return !a || a === document.body || !a.isConnected;
  }

  var pending = null;
  function updateSoon(msg) {
    if (pending) return;
    pending = requestAnimationFrame(function () { pending = null; update(msg); showStart(msg); });
  }
  // Follow the answer as it grows, but never scroll its start out of view: a long answer is read
  // from its first line. The log scrolls, or the page itself when the window is very short.
  function showStart(msg) {
    var el = document.getElementById("m-" + msg.id);
    if (!el) return;
    var inLog = getComputedStyle(log).overflowY !== "visible";
    var sc = inLog ? log : document.scrollingElement;
    var top = el.getBoundingClientRect().top - (inLog ? log.getBoundingClientRect().top : 0) + sc.scrollTop - 8;
    if (msg.role === "bot") {
      var prev = el.previousElementSibling;  // the question too, when both fit
      if (prev && prev.classList.contains("user") && el.getBoundingClientRect().bottom - prev.getBoundingClientRect().top < sc.clientHeight - 16) {
        top -= el.getBoundingClientRect().top - prev.getBoundingClientRect().top;
      }
    }
    sc.scrollTop = Math.max(0, Math.min(sc.scrollHeight - sc.clientHeight, top));
  }

  // ---- talking to the API ----
  function headers(extra) {
    var hd = { "Content-Type": "application/json" };
    if (KEY) hd["X-API-Key"] = KEY;
    Object.keys(extra || {}).forEach(function (k) { hd[k] = extra[k]; });
    return hd;
  }

  function friendlyError(status, body, retryAfter) {
    var msg = body && body.error && body.error.message;
    if (status === 429) return "当前咨询人数较多，请" + (retryAfter ? retryAfter + " 秒后" : "稍后") + "再试。";
    if (status === 401 || status === 403) return "咨询服务暂未授权访问，请联系网站管理员。";
    if (status === 503) return "咨询服务正在启动，请稍后重试。";
    if (status >= 400 && status < 500 && msg) return "无法处理这个问题：" + msg;
    return "服务暂时出现问题（错误码 " + status + "），请稍后重试。如需帮助请拨打 12345。";
  }

  function HttpError(status, message) { this.status = status; this.message = message; }

  async function readSSE(res, on) {
    var reader = res.body.getReader(), dec = new TextDecoder(), buf = "";
    function dispatch(block) {
      var ev = "message", data = [];
      block.split("\n").forEach(function (line) {
        if (!line || line[0] === ":") return;
        var i = line.indexOf(":"), field = i < 0 ? line : line.slice(0, i);
        var val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") ev = val;
        else if (field === "data") data.push(val);
      });
      if (!data.length) return;
      var payload;
      try { payload = JSON.parse(data.join("\n")); } catch (e) { payload = { text: data.join("\n") }; }
      on(ev, payload);
    }
    for (;;) {
      var r = await reader.read();
      if (r.done) break;
      buf += dec.decode(r.value, { stream: true });
      // Keep a trailing \r: it may be the first half of a \r\n split across chunks.
      var tail = buf.slice(-1) === "\r" ? "\r" : "";
      if (tail) buf = buf.slice(0, -1);
      buf = buf.replace(/\r\n?/g, "\n");
      var i;
      while ((i = buf.indexOf("\n\n")) >= 0) { dispatch(buf.slice(0, i)); buf = buf.slice(i + 2); }
      buf += tail;
    }
    buf += dec.decode();
    if (buf.trim()) dispatch(buf.replace(/\r\n?/g, "\n"));
  }

  function applyEvent(msg, type, d) {
    if (type === "meta") {
      if (d.session_id) state.sessionId = d.session_id;
      if (d.request_id) msg.requestId = d.request_id;
      if (d.label) msg.label = d.label;
      if (d.moderation) msg.moderation = d.moderation;
    } else if (type === "delta") {
      msg.text += d.text || "";
    } else if (type === "citations") {
      msg.citations = d.citations || [];
    } else if (type === "card") {
      msg.card = d.card || d;
    } else if (type === "handoff") {
      msg.handoff = d.handoff || d;
    } else if (type === "clarify") {
      msg.clarify = d.clarify || d;
    } else if (type === "done") {
      msg.answeredBy = d.answered_by || "";
      if (d.label) msg.label = d.label;
      if (d.moderation) msg.moderation = d.moderation;
      msg.status = "done";
    } else if (type === "error") {
      msg.status = "error";
      msg.error = (d.message ? "回答过程中出现问题：" + d.message : "回答过程中出现问题") + "，请重试。";
    }
    updateSoon(msg);
  }

  function applyFull(msg, j) {
    if (j.session_id) state.sessionId = j.session_id;
    msg.requestId = j.request_id || "";
    msg.text = j.answer || "";
    msg.citations = j.citations || [];
    msg.card = j.card || null;
    msg.handoff = j.handoff || null;
    msg.clarify = j.clarify || null;
    msg.answeredBy = j.answered_by || "";
    msg.label = j.label || null;
    msg.moderation = j.moderation || null;
    msg.status = "done";
  }

  async function post(question, msg, signal) {
    var body = { question: question, channel: "web", stream: true };
    if (state.sessionId) body.session_id = state.sessionId;
    if (REGION) body.region = REGION;
    var res = await fetch(BASE + "/v1/chat", {
      method: "POST", headers: headers({ Accept: "text/event-stream" }), body: JSON.stringify(body), signal: signal
    });
    if (!res.ok) {
      var j = null;
      try { j = await res.json(); } catch (e) { /* not JSON */ }
      throw new HttpError(res.status, friendlyError(res.status, j, res.headers.get("Retry-After")));
    }
    if ((res.headers.get("content-type") || "").indexOf("text/event-stream") >= 0 && res.body) {
      await readSSE(res, function (t, d) { applyEvent(msg, t, d); });
    } else {
      applyFull(msg, await res.json());
    }
  }

  async function ask(question) {
    question = String(question || "").trim();
    if (!question || busy) return;
    busy = true;
    setBusy(true);
    var fromLog = focusLost() || log.contains(document.activeElement);
    if (!state.messages.length) log.textContent = "";
    var user = { id: ++seq + "-" + Date.now(), role: "user", text: question };
    var bot = { id: ++seq + "-" + Date.now(), role: "bot", text: "", status: "streaming", citations: [], question: question };
    state.messages.push(user, bot);
    update(user); update(bot); showStart(bot);
    if (fromLog || focusLost()) document.getElementById("h-" + bot.id).focus({ preventScroll: true });
    var ctl = controller = new AbortController();
    try {
      try {
        await post(question, bot, ctl.signal);
      } catch (e) {
        // The server may have forgotten our session (e.g. expired): start a fresh one once.
        if (e instanceof HttpError && e.status === 404 && state.sessionId) {
          state.sessionId = "";
          await post(question, bot, ctl.signal);
        } else throw e;
      }
      if (bot.status === "streaming") {
        bot.status = bot.text || bot.handoff || bot.clarify ? "done" : "error";
        if (bot.status === "error") bot.error = "连接中断，未收到完整回答，请重试。";
      }
    } catch (e) {
      if (e && e.name === "AbortError") return;
      bot.status = "error";
      bot.error = e instanceof HttpError ? e.message : "暂时无法连接到咨询服务，请检查网络后重试。如需帮助请拨打 12345 热线。";
    } finally {
      if (!ctl.signal.aborted) {
        controller = null;
        busy = false;
        setBusy(false);
        if (pending) { cancelAnimationFrame(pending); pending = null; }
        update(bot); showStart(bot); save();
        if (focusLost()) document.getElementById("h-" + bot.id).focus({ preventScroll: true });
      }
    }
  }

  function retry(msg) {
    var i = state.messages.indexOf(msg);
    if (i > 0 && state.messages[i - 1].role === "user") state.messages.splice(i - 1, 2);
    else if (i >= 0) state.messages.splice(i, 1);
    renderAll();
    log.focus({ preventScroll: true });  // ask() moves it on to the new answer's heading
    ask(msg.question);
  }

  function feedback(msg, rating, btn) {
    if (msg.rating) return;
    msg.rating = rating;
    save();
    var row = btn.parentNode;
    row.querySelector(".fb-label").textContent = "感谢您的反馈！";
    Array.prototype.forEach.call(row.querySelectorAll(".fb"), function (b) {
      b.setAttribute("aria-pressed", b === btn ? "true" : "false");
      b.setAttribute("aria-disabled", "true");
    });
    btn.focus();
    fetch(BASE + "/v1/feedback", {
      method: "POST", headers: headers(), body: JSON.stringify({ request_id: msg.requestId, rating: rating, session_id: state.sessionId || undefined })
    }).catch(function () { /* feedback is best effort */ });
  }

  // Read-aloud: the browser's local Chinese voice, else the server's offline engine (speak.js).
  // speak.js may have failed to load: the page must keep working, read-aloud then says it cannot.
  function speechFor(base) {
    if (window.ZwSpeak) return window.ZwSpeak(base, headers);
    return { stop: function () {}, speak: function (t, cb) { cb.fail("语音朗读暂不可用，请阅读文字内容。"); } };
  }
  var voice = speechFor(BASE), speaking = null;
  function say(text) {
    var st = $("zw-status");
    st.textContent = "";
    if (text) setTimeout(function () { st.textContent = text; }, 50);  // re-announced even when repeated
  }
  function speakingDone() {
    speaking = null;
    Array.prototype.forEach.call(log.querySelectorAll(".speak[aria-pressed=true]"), function (b) {
      b.setAttribute("aria-pressed", "false");
    });
  }
  function speak(msg, btn) {
    var again = speaking === msg.id;
    voice.stop(); speakingDone();
    if (again) { say("已停止朗读。"); return; }
    speaking = msg.id;
    btn.setAttribute("aria-pressed", "true");
    voice.speak(msg.text, {
      start: function () { say(""); },
      end: function () { speakingDone(); },
      fail: function (message) { speakingDone(); say(message); }
    });
  }

  function setBusy(on) {
    send.disabled = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
    send.textContent = on ? "回答中" : "发送";
  }

  function newConversation() {
    if (controller) { controller.abort(); controller = null; }
    busy = false; setBusy(false);
    if (state.sessionId) {
      fetch(BASE + "/v1/sessions/" + encodeURIComponent(state.sessionId), { method: "DELETE", headers: headers() })
        .catch(function () { /* best effort: the server expires sessions anyway */ });
    }
    state = { sessionId: "", messages: [] };
    voice.stop(); speakingDone(); say("");
    save(); renderAll();
    input.focus();
  }

  // ---- preferences: large font and high contrast (persisted) ----
  var prefs = load(PREFS) || {};
  function applyPrefs() {
    document.documentElement.classList.toggle("lg", !!prefs.large);
    document.documentElement.classList.toggle("hc", !!prefs.contrast);
    $("zw-large").setAttribute("aria-pressed", prefs.large ? "true" : "false");
    $("zw-contrast").setAttribute("aria-pressed", prefs.contrast ? "true" : "false");
    if (EMBEDDED) window.parent.postMessage({ type: "zw-wide", on: !!prefs.large }, "*");
  }
  $("zw-large").addEventListener("click", function () { prefs.large = !prefs.large; store(PREFS, prefs); applyPrefs(); });
  $("zw-contrast").addEventListener("click", function () { prefs.contrast = !prefs.contrast; store(PREFS, prefs); applyPrefs(); });
  $("zw-new").addEventListener("click", newConversation);
  $("zw-lookup").addEventListener("click", function (e) {
    e.preventDefault();
    var box = $("zw-lookup-box"), open = box.hidden;
    box.hidden = !open;
    $("zw-lookup").setAttribute("aria-expanded", open ? "true" : "false");
    if (open) $("zw-track").focus();
  });
  $("zw-lookup-form").addEventListener("submit", lookupReport);

  function closePanel() { if (EMBEDDED) window.parent.postMessage({ type: "zw-close" }, "*"); }
  if (EMBEDDED) $("zw-close").addEventListener("click", closePanel);
  else $("zw-close").hidden = true;
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") closePanel(); });
  window.addEventListener("message", function (e) {
    if (e.source === window.parent && e.data && e.data.type === "zw-open") input.focus();
  });

  // ---- keyboard: Alt+↑ / Alt+↓ move between answers (their headings); past the last, the input ----
  document.addEventListener("keydown", function (e) {
    if (!e.altKey || (e.key !== "ArrowUp" && e.key !== "ArrowDown")) return;
    var heads = Array.prototype.slice.call(log.querySelectorAll(".who"));
    if (!heads.length) return;
    e.preventDefault();
    var cur = document.activeElement && document.activeElement !== document.body ? document.activeElement : input;
    var before = heads.filter(function (x) { return x !== cur && (x.compareDocumentPosition(cur) & Node.DOCUMENT_POSITION_FOLLOWING); });
    var after = heads.filter(function (x) { return x !== cur && (x.compareDocumentPosition(cur) & Node.DOCUMENT_POSITION_PRECEDING); });
    var target = e.key === "ArrowUp" ? before[before.length - 1] || heads[0] : after[0] || input;
    target.focus({ preventScroll: true });
    if (target !== input) showStart({ id: target.id.slice(2), role: "heading" });
  });

  // ---- composer: Enter sends, Shift+Enter adds a line, IME composition is respected ----
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var q = input.value;
    if (!q.trim() || busy) return;
    input.value = "";
    autosize();
    ask(q);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 160) + "px";
  }
  input.addEventListener("input", autosize);
  log.addEventListener("click", function (e) {
    var ref = e.target.closest && e.target.closest("a.ref");
    if (!ref) return;
    e.preventDefault();
    var target = document.getElementById(ref.getAttribute("href").slice(1));
    if (target) {
      target.scrollIntoView({ block: "nearest", behavior: "smooth" });
      target.classList.add("flash");
      setTimeout(function () { target.classList.remove("flash"); }, 1600);
    }
  });

  // ---- start: restore the conversation; an answer cut off by a page load becomes retryable ----
  var saved = load(STORE);
  if (saved && Array.isArray(saved.messages)) {
    state = { sessionId: saved.sessionId || "", messages: saved.messages };
    state.messages.forEach(function (m) {
      if (m.status === "streaming") { m.status = "error"; m.error = "上次的回答未完成，请重试。"; }
    });
  }
  seq = state.messages.length;
  applyPrefs();
  renderAll();
  if (EMBEDDED) input.focus();
})();
