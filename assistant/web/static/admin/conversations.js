/* 会话 page: stored exchanges with filters, the hits and scores behind each answer, the reviewer's verdict,
   CSV / JSONL / evaluation-set exports, and the one-click "改为人工答案" for editors. */
(function () {
  "use strict";
  var h = ZW.h, field = ZR.field;
  var LIMIT = 25;

  ZW.page(function (main) {
    var state = { offset: 0, limit: LIMIT, total: 0 };
    var listBox = h("div", { id: "ex-list" });
    var detail = h("section", { id: "ex-detail", class: "card detail", tabindex: "-1", "aria-labelledby": "ex-detail-title", hidden: true });

    var filters = h("form", { class: "card", id: "ex-filters", role: "search", "aria-label": "筛选会话" }, [
      h("div", { class: "form-grid" }, [
        field("since", "开始日期", "date"),
        field("until", "结束日期", "date"),
        field("channel", "渠道", "select", { options: [["", "全部"], ["web", "网页"], ["kiosk", "自助终端"], ["api", "接口"]] }),
        field("answered_by", "答复方式", "select", { options: ZR.ANSWERED_BY }),
        field("handoff", "转人工原因", "select", { options: ZR.HANDOFF }),
        field("rating", "评价", "select", { options: [["", "全部"], ["down", "差评"], ["up", "好评"], ["none", "未评价"]] }),
        field("confidence_below", "把握度低于", "number", { min: 0, max: 1, step: 0.05, hint: "0 到 1 之间，例如 0.5" }),
        field("department", "部门", "text"),
        field("text", "关键词", "search"),
        field("verdict", "审核状态", "select", { options: [["", "全部"], ["unreviewed", "未审核"], ["reviewed", "已审核"],
          ["correct", "正确"], ["wrong", "错误"], ["needs_curated", "需人工答案"]] })
      ]),
      h("div", { class: "actions" }, [
        h("button", { type: "submit", class: "btn primary" }, "查询"),
        h("button", { type: "button", class: "btn", id: "ex-export-csv", onclick: function () { ZR.download("/v1/admin/exchanges/export", q({ format: "csv" }), "exchanges.csv"); } }, "导出 CSV"),
        h("button", { type: "button", class: "btn", id: "ex-export-jsonl", onclick: function () { ZR.download("/v1/admin/exchanges/export", q({ format: "jsonl" }), "exchanges.jsonl"); } }, "导出 JSONL"),
        h("button", { type: "button", class: "btn", id: "ex-export-eval", onclick: function () { ZR.download("/v1/admin/exchanges/eval-dataset", q({}), "reviewed-eval.jsonl"); } }, "导出评测集")
      ])
    ]);
    filters.addEventListener("submit", function (ev) { ev.preventDefault(); state.offset = 0; load(); });

    function q(extra) { var v = ZR.values(filters); Object.keys(extra).forEach(function (k) { v[k] = extra[k]; }); return v; }

    function load() {
      var query = q({ limit: state.limit, offset: state.offset });
      return ZW.api("/v1/admin/exchanges", { query: query }).then(function (d) {
        state.total = d.total; render(d.items);
      }).catch(function (e) { ZW.status(e); });
    }

    function render(items) {
      listBox.textContent = "";
      listBox.appendChild(ZW.table("会话记录（共 " + state.total + " 条）", [
        { label: "时间", render: function (r) { return ZW.fmtTime(r.created_at * 1000); } },
        { label: "渠道", key: "channel" },
        { label: "问题", render: function (r) { return r.question.length > 50 ? r.question.slice(0, 49) + "…" : r.question; } },
        { label: "答复方式", render: function (r) { return ZR.label(ZR.ANSWERED_BY, r.answered_by); } },
        { label: "转人工", render: function (r) { return r.handoff ? ZR.label(ZR.HANDOFF, r.handoff) : ""; } },
        { label: "把握度", num: true, render: function (r) { return r.confidence === null ? "" : r.confidence.toFixed(2); } },
        { label: "评价", render: function (r) { return r.rating === "down" ? ZW.badge("差评", "bad") : r.rating === "up" ? ZW.badge("好评", "ok") : ""; } },
        { label: "审核", render: function (r) { return r.review ? ZW.badge(ZR.VERDICT[r.review.verdict], r.review.verdict === "correct" ? "ok" : "warn") : "未审核"; } },
        { label: "操作", render: function (r) {
          return h("button", { type: "button", class: "btn", "aria-label": "查看会话：" + r.question.slice(0, 20), onclick: function () { open(r.request_id); } }, "查看");
        } }
      ], items, "没有符合条件的会话。"));
      listBox.appendChild(ZW.pager(state, function (offset) { state.offset = offset; load(); }));
    }

    function open(rid) {
      ZW.api("/v1/admin/exchanges/" + encodeURIComponent(rid)).then(showDetail).catch(function (e) { ZW.status(e); });
    }

    function showDetail(r) {
      detail.textContent = "";
      detail.hidden = false;
      var dl = h("dl", { class: "meta" }, [
        h("dt", { text: "时间" }), h("dd", { text: ZW.fmtTime(r.created_at * 1000) + "（" + (r.channel || "未知渠道") + "）" }),
        h("dt", { text: "答复方式" }), h("dd", { text: ZR.label(ZR.ANSWERED_BY, r.answered_by) + (r.handoff ? "，转人工：" + ZR.label(ZR.HANDOFF, r.handoff) : "") }),
        h("dt", { text: "把握度" }), h("dd", { text: r.confidence === null ? "—" : r.confidence.toFixed(3) }),
        h("dt", { text: "部门" }), h("dd", { text: r.department || "—" }),
        h("dt", { text: "群众评价" }), h("dd", { text: (r.rating === "down" ? "差评" : r.rating === "up" ? "好评" : "未评价") + (r.feedback_comment ? "：" + r.feedback_comment : "") })
      ]);
      detail.appendChild(h("h2", { id: "ex-detail-title", text: "会话详情" }));
      detail.appendChild(dl);
      detail.appendChild(h("h3", { text: "问题" }));
      detail.appendChild(h("p", { class: "answer-text", text: r.question }));
      detail.appendChild(h("h3", { text: "答复" }));
      detail.appendChild(h("p", { class: "answer-text", text: r.answer }));
      detail.appendChild(ZW.table("引用来源", [
        { label: "序号", key: "n" }, { label: "文档编号", key: "doc_id" }, { label: "标题", key: "title" }
      ], r.citations, "没有引用。"));
      detail.appendChild(ZW.table("检索结果与得分", [
        { label: "文档编号", key: "doc_id" }, { label: "标题", key: "title" },
        { label: "综合得分", key: "score", num: true }, { label: "向量得分", key: "dense", num: true }, { label: "关键词得分", key: "keyword", num: true }
      ], r.hits, "没有检索结果。"));
      if (r.reviews && r.reviews.length) {
        detail.appendChild(ZW.table("审核记录", [
          { label: "时间", key: "at" }, { label: "审核人", key: "reviewer" },
          { label: "结论", render: function (x) { return ZR.VERDICT[x.verdict] || x.verdict; } }, { label: "备注", key: "note" }
        ], r.reviews));
      }
      if (ZW.can("reviewer")) detail.appendChild(reviewForm(r));
      if (ZW.can("editor")) {
        detail.appendChild(h("div", { class: "actions" }, h("a", { class: "btn", id: "ex-to-curated", href: "/admin/curated?from=" + encodeURIComponent(r.request_id) }, "改为人工答案")));
      }
      detail.focus();
    }

    function reviewForm(r) {
      var current = r.review ? r.review.verdict : "";
      var radios = [["correct", "正确"], ["wrong", "错误"], ["needs_curated", "需人工答案"]].map(function (v, i) {
        var id = "verdict-" + v[0];
        return h("label", { for: id }, [h("input", { type: "radio", id: id, name: "verdict", value: v[0], required: i === 0, checked: v[0] === current }), " " + v[1]]);
      });
      var form = h("form", { id: "review-form", "aria-labelledby": "review-title" }, [
        h("h3", { id: "review-title", text: "审核结论" }),
        h("fieldset", { class: "verdicts" }, [h("legend", { text: "这条答复" })].concat(radios)),
        h("div", { class: "form-grid" }, field("note", "备注", "textarea", { wide: true, rows: 2, maxlength: 2000 })),
        h("div", { class: "actions" }, h("button", { type: "submit", class: "btn primary" }, "提交审核"))
      ]);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var v = ZR.values(form);
        if (!v.verdict) { ZW.status("请选择审核结论。", "err"); return; }
        ZW.api("/v1/admin/exchanges/" + encodeURIComponent(r.request_id) + "/review", { json: { verdict: v.verdict, note: v.note || "" } })
          .then(function (res) { ZW.status("已标记为“" + ZR.VERDICT[res.verdict] + "”。", "ok"); load(); open(r.request_id); })
          .catch(function (e) { ZW.status(e); });
      });
      return form;
    }

    main.appendChild(filters);
    main.appendChild(listBox);
    main.appendChild(detail);
    load();
  });
})();
