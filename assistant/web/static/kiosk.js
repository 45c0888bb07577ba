/* 政务助手 kiosk page: large category buttons send common questions (no typing needed), the answer
   shows its service card and QR codes and can be read aloud, and an idle timeout (?idle=seconds,
   default 90; announced before it fires) clears the session and the screen for the next citizen.
   Every view change moves focus to the new view's heading. */
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  // Provisioning: open /kiosk?key=DEVICE_KEY once on the device; the key is kept in localStorage
  // and dropped from the address bar. The server never puts a kiosk key into the page.
  var KEY = params.get("key") || "";
  try {
    if (KEY) { localStorage.setItem("zw-kiosk-key", KEY); params.delete("key"); history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : "")); }
    else KEY = localStorage.getItem("zw-kiosk-key") || "";
  } catch (e) { /* storage blocked: the key lasts for this page only */ }
  var REGION = params.get("region") || "";
  var IDLE_S = Math.max(1, Number(params.get("idle")) || 90);
  var CATEGORIES = [
    ["居住证", "办理与签注", "居住证怎么办理？"],
    ["公租房", "申请条件与流程", "公租房申请条件是什么？"],
    ["社保卡", "申领、补换", "社保卡丢了怎么补办？"],
    ["医保", "参保与报销", "医保报销需要什么材料？"],
    ["失业保险", "失业保险金申领", "失业保险金怎么领？"],
    ["入户", "户口迁入", "办理入户需要什么条件？"],
    ["生育津贴", "申领与标准", "生育津贴怎么申领？"],
    ["养老服务", "补贴与机构", "老年人可以享受哪些养老服务补贴？"]
  ];

  var $ = function (id) { return document.getElementById(id); };
  var home = $("k-home"), result = $("k-result"), answer = $("k-answer");
  var sessionId = "", busy = false, idleTimer = null, idleTick = null, lastActive = Date.now();

  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v);
    });
    (kids || []).forEach(function (c) {
      if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return el;
  }
  // A device without a (valid) key asks the operator once; the key stays in this browser.
  function provision() {
    var k = window.prompt("本机尚未配置设备密钥，请工作人员输入：");
    if (!k || k === KEY) return false;
    KEY = k.trim();
    try { localStorage.setItem("zw-kiosk-key", KEY); } catch (e) { /* this page only */ }
    return true;
  }

  function headers() {
    var hd = { "Content-Type": "application/json" };
    if (KEY) hd["X-API-Key"] = KEY;
    return hd;
  }

  CATEGORIES.forEach(function (c, i) {
    $("k-grid").appendChild(h("button", {
      type: "button", class: "k-cat " + (i % 2 ? "blue" : "red"), "data-testid": "kiosk-category",
      "data-question": c[2], onclick: function () { ask(c[2]); }
    }, [h("span", { class: "k-cat-ic", "aria-hidden": "true", text: c[0].charAt(0) }),
      h("span", { class: "k-cat-name", text: c[0] }), h("span", { class: "k-cat-sub", text: c[1] })]));
  });

  // A view change moves focus to the new view's heading, so keyboard and screen-reader users start there.
  function show(view) {
    home.hidden = view !== "home";
    result.hidden = view !== "result";
    window.scrollTo(0, 0);
    $(view === "home" ? "k-home-title" : "k-question").focus({ preventScroll: true });
  }
  function say(text) {
    var el = $("k-say");
    el.textContent = "";
    if (text) setTimeout(function () { el.textContent = text; }, 50);
  }

  // Read-aloud: the browser's local Chinese voice, else the server's offline engine (speak.js).
  // speak.js may have failed to load: the page must keep working, read-aloud then says it cannot.
  function speechFor(base) {
    if (window.ZwSpeak) return window.ZwSpeak(base, headers);
    return { stop: function () {}, speak: function (t, cb) { cb.fail("语音朗读暂不可用，请阅读文字内容。"); } };
  }
  var voice = speechFor(""), speakBtn = null;
  function status(text) { $("k-status").textContent = text || ""; }
  function stopSpeaking() {
    voice.stop();
    if (speakBtn) { speakBtn.setAttribute("aria-pressed", "false"); speakBtn = null; }
  }
  function speakButton(textEl) {
    var btn = h("button", { type: "button", class: "k-btn k-speak", "aria-pressed": "false", text: "朗读解答", onclick: function () {
      var again = speakBtn === btn;
      stopSpeaking(); status("");
      if (again) return;
      speakBtn = btn;
      btn.setAttribute("aria-pressed", "true");
      voice.speak(textEl.textContent, {
        start: function () { status("正在朗读，再按一次停止。"); },
        end: function () { if (speakBtn === btn) stopSpeaking(); status(""); },
        fail: function (message) { if (speakBtn === btn) stopSpeaking(); status(message); }
      });
    } });
    return btn;
  }

  function stripRefs(s) { return String(s || "").replace(/\[\d{1,2}\]/g, ""); }

  function paragraphs(text) {
    return stripRefs(text).split(/\n+/).filter(function (l) { return l.trim(); })
      .map(function (l) { return h("p", { text: l }); });
  }

  function qrBlock(j) {
    var links = (j.qr || []).filter(function (q) { return q && q.svg && q.url; });
    if (!links.length) {
      var url = (j.card && j.card.online_url) || "";
      if (!/^https?:/i.test(url)) return null;
      return h("aside", { class: "k-qr" }, [h("h3", { text: "在线办理" }), h("p", { class: "k-url", text: url })]);
    }
    return h("aside", { class: "k-qr", "aria-label": "手机扫码" }, links.slice(0, 2).map(function (q) {
      var img = h("img", { alt: "二维码：" + q.url, width: "220", height: "220" });
      loadQr(img, q.svg);
      return h("figure", null, [
        img, h("figcaption", null, [h("strong", { text: "手机扫码 · " + (q.label || "在线办理") }), h("span", { class: "k-url", text: q.url })])
      ]);
    }));
  }

  // ``svg`` is inline markup or this server's /v1/qr URL; fetched with the key so it works when keys are on.
  // Shown as an <img>, an SVG cannot run script even if it were tampered with.
  function loadQr(img, svg) {
    if (/^\s*</.test(svg)) { img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg); return; }
    if (!/^\/[^/]/.test(svg)) return;
    fetch(svg, { headers: headers() }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.blob();
    }).then(function (b) { img.src = URL.createObjectURL(b); })
      .catch(function () { img.hidden = true; });
  }

  function cardBlock(card) {
    if (!card || !card.title) return null;
    var kids = [h("span", { class: "k-tag", text: "办事指南" }), h("h3", { text: card.title })];
    if (card.department) kids.push(h("p", { class: "k-dept", text: card.department }));
    (card.fields || []).forEach(function (f) {
      if (f.items && f.items.length) {
        kids.push(h("h4", { text: f.label }), h("ol", { class: "k-items" }, f.items.map(function (it) { return h("li", { text: it }); })));
      } else if (f.value && f.key !== "online_url" && f.key !== "phone") {
        kids.push(h("h4", { text: f.label }), h("p", { class: "k-val", text: f.value }));
      }
    });
    if (card.phone) kids.push(h("p", { class: "k-phone", text: "咨询电话：" + card.phone }));
    return h("article", { class: "k-card" }, kids);
  }

  function handoffBlock(ho, answerText) {
    if (!ho) return null;
    var dup = String(ho.message || "").trim() === stripRefs(answerText).trim();
    return h("div", { class: "k-handoff", role: "note" }, [
      h("h3", { text: "建议您咨询人工服务" }), ho.message && !dup ? h("p", { text: ho.message }) : null,
      h("p", { class: "k-big" }, ["请拨打 ", h("a", { href: "tel:" + (ho.hotline || "12345"), text: ho.hotline || "12345" }), " 政务服务便民热线"]),
      ho.department_phone ? h("p", { text: (ho.department || "主管部门") + "：" + ho.department_phone }) : null,
      ho.service ? h("p", { class: "k-service", text: "自助查询：" + ho.service + (ho.service_url ? "（扫描下方二维码）" : "") }) : null,
      h("p", { text: "或前往服务大厅综合咨询窗口。" })
    ]);
  }

  function clarifyBlock(cl) {
    if (!cl || !cl.options || !cl.options.length) return null;
    return h("div", { class: "k-clarify" }, [h("h3", { text: cl.question || "请选择您要咨询的具体事项" }),
      h("div", { class: "k-opts" }, cl.options.map(function (o) {
        return h("button", { type: "button", class: "k-btn", text: o.label, onclick: function () { ask(o.question || o.label); } });
      }))]);
  }

  function sourcesBlock(cits) {
    if (!cits || !cits.length) return null;
    return h("div", { class: "k-sources" }, [h("h3", { text: "政策依据" }), h("ul", null, cits.map(function (c) {
      return h("li", { class: "k-src", text: [c.title, c.doc_number, c.publish_date].filter(Boolean).join("  ") });
    }))]);
  }

  // The explicit AI-content label; human-reviewed (curated) answers say so instead.
  var DEFAULT_LABEL = "本回答由人工智能生成，仅供参考，请以官方发布为准";
  function labelBlock(j) {
    var lb = j.label || { ai_generated: true, text: DEFAULT_LABEL };
    return h("p", {
      class: "k-ai-label" + (lb.ai_generated === false ? " human" : ""), "data-testid": "ai-label",
      "data-ai-generated": lb.ai_generated === false ? "false" : "true", text: lb.text || DEFAULT_LABEL
    });
  }

  // 投诉/举报: pick a reason (big buttons), optionally add a note, get a tracking number.
  var REASONS = ["错误", "过时", "不当内容", "其他"];
  function reportForm(j, box) {
    var chosen = REASONS[0];
    box.textContent = "";
    var head = h("h3", { tabindex: "-1", text: "投诉/举报这条解答" });
    var out = h("p", { class: "k-report-msg", role: "status" });
    var opts = h("div", { class: "k-opts", role: "radiogroup", "aria-label": "投诉/举报原因" }, REASONS.map(function (r) {
      return h("button", { type: "button", class: "k-btn k-reason", role: "radio", "aria-checked": r === chosen ? "true" : "false", text: r,
        onclick: function (e) {
          chosen = r;
          Array.prototype.forEach.call(opts.children, function (b) { b.setAttribute("aria-checked", b === e.currentTarget ? "true" : "false"); });
        } });
    }));
    var note = h("textarea", { id: "k-report-note", class: "k-note", rows: "2", maxlength: "300", "data-testid": "report-note" });
    var submit = h("button", { type: "button", class: "k-btn k-primary", "data-testid": "report-submit", text: "提交", onclick: async function () {
      submit.disabled = true; out.textContent = "正在提交…";
      try {
        var res = await fetch("/v1/reports", { method: "POST", headers: headers(), body: JSON.stringify({ request_id: j.request_id, reason: chosen, note: note.value.trim() }) });
        var r = res.status === 201 ? await res.json() : null;
        if (!r || !r.tracking_number) throw new Error("status " + res.status);
        box.textContent = "";
        box.appendChild(h("div", { class: "k-report-done", role: "status", "data-testid": "report-receipt" }, [
          h("h3", { tabindex: "-1", text: "已受理您的投诉/举报" }),
          h("p", null, ["查询编号：", h("strong", { class: "k-big", "data-testid": "report-tracking", text: r.tracking_number })]),
          h("p", { text: "请拍照或记下编号，办理期限：" + String(r.deadline || "").slice(0, 10) + "。可在首页“投诉查询”中查看进度。" })
        ]));
        box.querySelector("h3").focus();
        say("已受理，查询编号 " + r.tracking_number);
      } catch (e) {
        submit.disabled = false;
        out.textContent = "提交失败，请稍后重试或拨打 12345。";
      }
    } });
    [head, opts, h("label", { for: "k-report-note", text: "补充说明（选填）" }), note, out,
      h("div", { class: "k-actions" }, [submit, h("button", { type: "button", class: "k-btn", text: "取消", onclick: function () { box.textContent = ""; } })])
    ].forEach(function (el) { box.appendChild(el); });
    head.focus();
  }

  function render(j) {
    answer.textContent = "";
    var full = j.full_answer && j.full_answer !== j.answer ? j.full_answer : "";
    var text = h("div", { class: "k-text" }, paragraphs(j.answer || ""));
    var reportBox = h("div", { class: "k-report" });
    var buttons = h("div", { class: "k-actions" }, [speakButton(text),
      j.request_id ? h("button", { type: "button", class: "k-btn", "data-testid": "report", text: "投诉/举报",
        onclick: function () { reportForm(j, reportBox); } }) : null]);
    var main = h("div", { class: "k-col" }, [labelBlock(j), text, buttons, reportBox]);
    if (full) {
      buttons.appendChild(h("button", { type: "button", class: "k-btn", text: "查看完整解答", onclick: function (e) {
        var head = h("h3", { class: "k-full-title", tabindex: "-1", text: "完整解答" });
        text.textContent = ""; text.appendChild(head);
        paragraphs(full).forEach(function (p) { text.appendChild(p); });
        e.currentTarget.remove();
        head.focus();  // the button is gone: focus goes to the start of what it opened
      } }));
    }
    [clarifyBlock(j.clarify), handoffBlock(j.handoff, j.answer), cardBlock(j.card), sourcesBlock(j.citations)]
      .forEach(function (b) { if (b) main.appendChild(b); });
    var layout = h("div", { class: "k-layout" }, [main, qrBlock(j)]);
    answer.appendChild(layout);
    say("已为您查到解答。" + stripRefs(j.answer || "").slice(0, 300));
  }

  function fail(message, question) {
    answer.textContent = "";
    say("");
    answer.appendChild(h("div", { class: "k-error", role: "alert" }, [
      h("p", { text: message }),
      h("button", { type: "button", class: "k-btn k-primary", text: "重试", onclick: function () { ask(question); } })
    ]));
  }

  async function ask(question) {
    if (busy) return;
    busy = true;
    stopSpeaking(); status("");
    $("k-question").textContent = question;
    answer.textContent = "";
    answer.setAttribute("aria-busy", "true");
    answer.appendChild(h("div", { class: "k-loading", role: "status" }, [h("span", { class: "k-spin", "aria-hidden": "true" }), "正在为您查询，请稍候…"]));
    show("result");
    try {
      var body = { question: question, channel: "kiosk", stream: false };
      if (sessionId) body.session_id = sessionId;
      if (REGION) body.region = REGION;
      var res = await fetch("/v1/chat", { method: "POST", headers: headers(), body: JSON.stringify(body) });
      if (res.status === 404 && sessionId) { sessionId = ""; busy = false; return ask(question); }
      if (res.status === 401 && provision()) { busy = false; return ask(question); }
      if (!res.ok) throw new Error(res.status === 429 ? "当前使用人数较多，请稍后再试。" : "服务暂时不可用（错误码 " + res.status + "），请稍后重试或拨打 12345。");
      var j = await res.json();
      sessionId = j.session_id || sessionId;
      render(j);
    } catch (e) {
      fail(e && e.message && e.name === "Error" ? e.message : "暂时无法连接咨询服务，请稍后重试或拨打 12345。", question);
    } finally {
      busy = false;
      answer.setAttribute("aria-busy", "false");
      touch();
    }
  }

  // Privacy: after IDLE_S seconds without a touch, forget the conversation (server side too).
  function reset() {
    if (sessionId) {
      fetch("/v1/sessions/" + encodeURIComponent(sessionId), { method: "DELETE", headers: headers() }).catch(function () {});
    }
    sessionId = "";
    stopSpeaking(); status(""); say("");
    answer.textContent = "";
    $("k-question").textContent = "";
    $("k-q").value = "";
    $("k-track").value = "";
    $("k-lookup-out").textContent = "";
    show("home");
    document.body.setAttribute("data-idle-reset", String(Date.now()));
  }
  var warned = false;
  function touch() {
    lastActive = Date.now();
    warned = false;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () {
      if (!result.hidden || $("k-q").value || sessionId) reset();
    }, IDLE_S * 1000);
  }
  function tick() {
    var left = Math.ceil(IDLE_S - (Date.now() - lastActive) / 1000);
    $("k-idle").textContent = !result.hidden && left > 0 ? left + " 秒无操作将自动返回首页" : "";
    // The visible countdown is not live (it would speak every second); one warning is announced instead.
    if (!result.hidden && !warned && left > 0 && left <= Math.min(15, Math.ceil(IDLE_S / 2))) {
      warned = true;
      say(left + " 秒后将自动返回首页并清除本次记录，触摸屏幕或按任意键可继续使用。");
    }
    var d = new Date();
    $("k-clock").textContent = d.getFullYear() + "年" + (d.getMonth() + 1) + "月" + d.getDate() + "日 " +
      String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }
  tick();
  idleTick = setInterval(tick, 500);
  ["pointerdown", "keydown", "touchstart", "wheel"].forEach(function (t) {
    document.addEventListener(t, touch, { passive: true });
  });

  $("k-back").addEventListener("click", reset);
  $("k-lookup").addEventListener("submit", async function (e) {
    e.preventDefault();
    var n = $("k-track").value.trim(), out = $("k-lookup-out");
    out.textContent = "";
    if (!n) { out.textContent = "请输入查询编号。"; return; }
    try {
      var res = await fetch("/v1/reports/" + encodeURIComponent(n), { headers: headers() });
      if (res.status === 404 || res.status === 422) { out.textContent = "未找到该编号，请核对后重试。"; return; }
      if (!res.ok) { out.textContent = "暂时无法查询，请稍后重试。"; return; }
      var j = await res.json();
      out.appendChild(h("span", { "data-testid": "report-status", text: "办理状态：" + j.status }));
      out.appendChild(document.createTextNode("；办理期限：" + String(j.deadline || "").slice(0, 10) + (j.overdue ? "（已超期）" : "")));
    } catch (err) { out.textContent = "暂时无法查询，请稍后重试。"; }
  });
  $("k-search").addEventListener("submit", function (e) {
    e.preventDefault();
    var q = $("k-q").value.trim();
    if (q) ask(q);
  });
  window.zwKiosk = { reset: reset, idleSeconds: IDLE_S, tick: idleTick };
  touch();
})();
