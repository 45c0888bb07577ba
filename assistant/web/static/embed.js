/* 政务助手 widget loader: one <script src=".../widget/embed.js" data-api-key data-region async> adds a
   launcher button and a chat panel (an iframe to panel.html) isolated from the host page's CSS. */
(function () {
  "use strict";
  if (window.__zwAssistantLoaded) return;
  window.__zwAssistantLoaded = true;

  var script = document.currentScript ||
    document.querySelector('script[src*="/widget/embed.js"]');
  if (!script) return;
  var src = new URL(script.src, location.href);
  var base = src.href.replace(/\/widget\/embed\.js.*$/, "");
  var key = script.getAttribute("data-api-key") || "";
  var region = script.getAttribute("data-region") || "";
  var title = script.getAttribute("data-title") || "政务智能助手";

  // Inline !important declarations win over any host stylesheet rule, hostile ones included.
  function force(el, css) {
    css.split(";").forEach(function (decl) {
      var i = decl.indexOf(":");
      if (i > 0) el.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim(), "important");
    });
  }

  var host = document.createElement("div");
  host.id = "zw-assistant";
  force(host, "all:initial;display:block;position:fixed;right:0;bottom:0;width:0;height:0;" +
    "z-index:2147483646;visibility:visible;opacity:1;transform:none;font-size:16px");
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

  var style = document.createElement("style");
  style.textContent =
    ":host{all:initial}" +
    ".l{all:initial;box-sizing:border-box;position:fixed;right:20px;bottom:20px;display:flex;align-items:center;" +
    "gap:8px;height:56px;padding:0 20px 0 16px;border-radius:28px;background:#b31b1b;color:#fff;cursor:pointer;" +
    "font:600 17px/1 system-ui,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.28);border:2px solid #fff}" +
    ".l:hover{background:#8f1414}.l:focus-visible{outline:3px solid #1a56b0;outline-offset:3px}" +
    ".l svg{width:24px;height:24px;flex:none}" +
    ".l[aria-expanded=true]{display:none}" +
    ".p{all:initial;position:fixed;right:20px;bottom:20px;width:400px;height:640px;max-width:calc(100vw - 24px);" +
    "max-height:calc(100vh - 40px);border:0;border-radius:12px;background:#fff;" +
    "box-shadow:0 8px 32px rgba(0,0,0,.32);display:none}" +
    ".p.o{display:block}.p.w{width:540px;height:760px}" +
    // Full screen on phones and in short windows (a 720 px screen at 200 % zoom is 360 CSS px tall).
    "@media (max-width:480px),(max-height:560px){.p,.p.w{right:0;bottom:0;width:100vw;height:100vh;max-width:100vw;" +
    "max-height:100vh;border-radius:0}.l{right:12px;bottom:12px}}" +
    "@media print{.l,.p{display:none}}";
  root.appendChild(style);

  var btn = document.createElement("button");
  btn.type = "button";
  btn.className = "l";
  btn.setAttribute("data-testid", "widget-launcher");
  btn.setAttribute("aria-haspopup", "dialog");
  btn.setAttribute("aria-expanded", "false");
  // The accessible name starts with the visible text (WCAG 2.5.3 label in name).
  btn.setAttribute("aria-label", "在线咨询：打开" + title);
  btn.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" ' +
    'stroke-linecap="round" stroke-linejoin="round"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1.1-4.6A8 8 0 1 1 21 12z"/>' +
    '<path d="M8.5 10.5h7M8.5 13.5h4.5"/></svg><span></span>';
  btn.lastChild.textContent = "在线咨询";
  root.appendChild(btn);

  var frame = null;
  function panelUrl() {
    var q = new URLSearchParams({ key: key, region: region, embed: "1", origin: location.origin });
    return base + "/widget/panel.html?" + q.toString();
  }
  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.className = "p";
      frame.title = title;
      frame.setAttribute("allow", "clipboard-write");
      frame.src = panelUrl();
      root.appendChild(frame);
    }
    frame.classList.add("o");
    btn.setAttribute("aria-expanded", "true");
    frame.focus();
    post({ type: "zw-open" });
  }
  function close() {
    if (frame) frame.classList.remove("o");
    btn.setAttribute("aria-expanded", "false");
    btn.focus();
  }
  function post(msg) {
    if (frame && frame.contentWindow) frame.contentWindow.postMessage(msg, base);
  }
  btn.addEventListener("click", open);
  window.addEventListener("message", function (e) {
    if (!frame || e.source !== frame.contentWindow) return;
    var d = e.data || {};
    if (d.type === "zw-close") close();
    else if (d.type === "zw-wide") frame.classList.toggle("w", !!d.on);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && frame && frame.classList.contains("o")) close();
  });

    // Mounted on <html>, not <body>: a host rule hiding <body> must not hide the widget.
  document.documentElement.appendChild(host);
  window.ZhengwuAssistant = { open: open, close: close };
})();
