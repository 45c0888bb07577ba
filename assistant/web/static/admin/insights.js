/* 洞察 page: topics of unanswered and low-confidence questions, most-asked topics, hand-offs, thumbs-down
   rates and the answer-path mix. Each chart is a server-rendered SVG with a text table beside it. */
(function () {
  "use strict";
  var h = ZW.h, field = ZR.field;

  ZW.page(function (main) {
    var out = h("div", { id: "insights-out" });
    var form = h("form", { class: "card", id: "insights-form", "aria-label": "统计范围" }, [
      h("div", { class: "form-grid" }, [
        field("since", "开始日期", "date"),
        field("until", "结束日期", "date"),
        field("below", "低把握度阈值", "number", { min: 0, max: 1, step: 0.05, value: "0.5" })
      ]),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn primary" }, "统计"))
    ]);
    form.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });

    function chart(d, name, heading, table) {
      return h("section", { class: "card chart-box", "aria-labelledby": "h-" + name }, [
        h("h2", { id: "h-" + name, text: heading }),
        ZR.svg(d.charts[name]),
        table ? h("details", {}, [h("summary", { text: "查看数据表" }), table]) : null
      ]);
    }

    function topics(caption, list) {
      return ZW.table(caption, [
        { label: "主题（代表问题）", key: "label" },
        { label: "次数", key: "count", num: true },
        { label: "趋势", render: function (t) { return t.trend > 0 ? "上升 +" + t.trend : t.trend < 0 ? "下降 " + t.trend : "持平"; } },
        { label: "问法示例", render: function (t) { return t.examples.join(" / "); } }
      ], list, "没有数据。");
    }

    function render(d) {
      out.textContent = "";
      var answered = d.answer_paths.filter(function (p) { return p.answered_by === "handoff"; })[0];
      out.appendChild(h("ul", { class: "kpis", "aria-label": "概览" }, [
        h("li", {}, [h("strong", { text: String(d.total) }), "提问总数"]),
        h("li", {}, [h("strong", { text: String(d.unanswered_total) }), "未解答 / 低把握"]),
        h("li", {}, [h("strong", { text: answered ? ZR.pct(answered.share) : "0.0%" }), "转人工比例"])
      ]));
      out.appendChild(chart(d, "per_day", "每日提问量", null));
      out.appendChild(chart(d, "unanswered_topics", "未解答 / 低把握问题（按主题）", topics("未解答 / 低把握问题主题", d.unanswered_topics)));
      out.appendChild(chart(d, "top_topics", "热门问题主题", topics("热门问题主题", d.top_topics)));
      out.appendChild(chart(d, "answer_paths", "答复方式占比", ZW.table("答复方式", [
        { label: "方式", key: "name" }, { label: "次数", key: "count", num: true }, { label: "占比", num: true, render: function (p) { return ZR.pct(p.share); } }
      ], d.answer_paths)));
      out.appendChild(chart(d, "handoff_reasons", "转人工原因", ZW.table("转人工（按原因和部门）", [
        { label: "原因", render: function (x) { return ZR.label(ZR.HANDOFF, x.reason); } }, { label: "部门", key: "department" }, { label: "次数", key: "count", num: true }
      ], d.handoff_by_department)));
      var rate = [{ label: "名称", key: "name" }, { label: "评价数", key: "rated", num: true }, { label: "差评数", key: "down", num: true },
        { label: "差评率", num: true, render: function (x) { return ZR.pct(x.rate); } }];
      out.appendChild(chart(d, "thumbs_down_by_department", "各部门差评率", ZW.table("各部门差评率", rate, d.thumbs_down_by_department)));
      out.appendChild(h("section", { class: "card", "aria-labelledby": "h-doc" }, [
        h("h2", { id: "h-doc", text: "各文档差评率" }), ZW.table("各文档差评率（按首条引用）", rate, d.thumbs_down_by_document, "还没有评价。")
      ]));
    }

    function load() {
      ZW.status("正在统计…", "info");
      return ZW.api("/v1/admin/insights", { query: ZR.values(form) }).then(function (d) { render(d); ZW.status("统计完成。", "ok"); })
        .catch(function (e) { ZW.status(e); });
    }

    main.appendChild(form);
    main.appendChild(out);
    load();
  });
})();
