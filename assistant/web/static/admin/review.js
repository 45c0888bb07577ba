/* Helpers the 问答 / 会话 / 洞察 / 审计 pages share (on top of common.js): field builders, form values,
   downloads with the key header, server SVG charts inserted as nodes (DOMParser, never innerHTML). */
(function () {
  "use strict";
  var h = ZW.h, seq = 0;

  /* A labelled field. kind: input type, "select" (options: [[value, label]]) or "textarea". */
  function field(name, label, kind, opts) {
    opts = opts || {};
    var id = "f-" + name + "-" + (++seq), ctl;
    if (kind === "select") {
      ctl = h("select", { id: id, name: name }, (opts.options || []).map(function (o) {
        return h("option", { value: o[0], selected: o[0] === (opts.value || "") }, o[1]);
      }));
    } else if (kind === "textarea") {
      ctl = h("textarea", { id: id, name: name, rows: opts.rows || 4, required: opts.required, maxlength: opts.maxlength });
      if (opts.value) ctl.value = opts.value;
    } else {
      ctl = h("input", { id: id, name: name, type: kind || "text", value: opts.value, min: opts.min, max: opts.max,
        step: opts.step, required: opts.required, placeholder: opts.placeholder, maxlength: opts.maxlength,
        "aria-describedby": opts.hint ? id + "-hint" : null });
    }
    return h("div", { class: "field" + (opts.wide ? " wide" : "") }, [
      h("label", { for: id, text: label }), ctl,
      opts.hint ? h("span", { class: "hint", id: id + "-hint", text: opts.hint }) : null
    ]);
  }

  function values(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      out[el.name] = el.value.trim();
    });
    return out;
  }

  function download(path, query, fallbackName) {
    ZW.status("正在导出…", "info");
    return ZW.api(path, { query: query, raw: true }).then(function (res) {
      var cd = res.headers.get("Content-Disposition") || "";
      var m = /filename="([^"]+)"/.exec(cd);
      return res.blob().then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = h("a", { href: url, download: m ? m[1] : fallbackName, class: "sr" }, "下载");
        document.body.appendChild(a); a.click(); a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 5000);
        ZW.status("已导出：" + (m ? m[1] : fallbackName), "ok");
      });
    }).catch(function (e) { ZW.status(e); });
  }

  function svg(text) {
    var doc = new DOMParser().parseFromString(text, "image/svg+xml");
    var root = doc.documentElement;
    if (!root || root.nodeName !== "svg") return h("p", { class: "muted", text: "图表无法显示。" });
    return document.importNode(root, true);
  }

  function pct(x) { return x === null || x === undefined ? "" : (x * 100).toFixed(1) + "%"; }

  var ANSWERED_BY = [["", "全部"], ["extractive", "摘录答复"], ["llm", "大模型答复"], ["curated", "人工审核答复"],
    ["handoff", "转人工"], ["clarify", "澄清追问"], ["scope", "超出范围"], ["greeting", "问候"], ["screened", "内容拦截"]];
  var HANDOFF = [["", "全部"], ["low_confidence", "把握不足"], ["no_knowledge", "知识库无答案"], ["individual_case", "个案办理"],
    ["complaint", "投诉举报"], ["human_requested", "要求人工"], ["other_region", "其他地区"]];
  var VERDICT = { correct: "正确", wrong: "错误", needs_curated: "需人工答案" };
  function label(list, v) { if (!v) return ""; for (var i = 0; i < list.length; i++) if (list[i][0] === v) return list[i][1]; return v; }

  window.ZR = { field: field, values: values, download: download, svg: svg, pct: pct,
    ANSWERED_BY: ANSWERED_BY, HANDOFF: HANDOFF, VERDICT: VERDICT, label: label };
})();
