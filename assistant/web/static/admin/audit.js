/* 审计 page: the append-only audit log (who, what, when, before/after), filters, paging, CSV / JSONL export. */
(function () {
  "use strict";
  var h = ZW.h, field = ZR.field;
  var LIMIT = 50;

  ZW.page(function (main) {
    var offset = 0;
    var listBox = h("div", { id: "audit-list" });
    var form = h("form", { class: "card", id: "audit-filters", role: "search", "aria-label": "筛选审计日志" }, [
      h("div", { class: "form-grid" }, [
        field("actor", "操作人", "text", { hint: "例如 editor:1a2b3c4d" }),
        field("action", "操作", "text", { hint: "例如 curated.create" }),
        field("target", "对象", "text"),
        field("since", "开始日期", "date"),
        field("until", "结束日期", "date")
      ]),
      h("div", { class: "actions" }, [
        h("button", { type: "submit", class: "btn primary" }, "查询"),
        h("button", { type: "button", class: "btn", id: "audit-export-csv", onclick: function () { ZR.download("/v1/admin/audit/export", q("csv"), "audit.csv"); } }, "导出 CSV"),
        h("button", { type: "button", class: "btn", id: "audit-export-jsonl", onclick: function () { ZR.download("/v1/admin/audit/export", q("jsonl"), "audit.jsonl"); } }, "导出 JSONL")
      ])
    ]);
    form.addEventListener("submit", function (ev) { ev.preventDefault(); offset = 0; load(); });
    function q(format) { var v = ZR.values(form); v.format = format; return v; }

    function json(value) {
      if (value === null || value === undefined) return "";
      return h("details", {}, [h("summary", { text: "查看" }), h("pre", { class: "audit-json", text: JSON.stringify(value, null, 2) })]);
    }

    function render(d) {
      listBox.textContent = "";
      listBox.appendChild(ZW.table("审计日志", [
        { label: "时间", render: function (e) { return ZW.fmtTime(e.at_ts * 1000); } },
        { label: "操作人", key: "actor" }, { label: "角色", render: function (e) { return ZW.ROLE_NAMES[e.role] || e.role; } },
        { label: "操作", key: "action" }, { label: "对象", key: "target" },
        { label: "修改前", render: function (e) { return json(e.before); } },
        { label: "修改后", render: function (e) { return json(e.after); } }
      ], d.items, "没有符合条件的记录。"));
      var page = Math.floor(offset / LIMIT) + 1;
      listBox.appendChild(h("nav", { class: "pager", "aria-label": "分页" }, [
        h("button", { type: "button", class: "btn", disabled: offset <= 0, onclick: function () { offset = Math.max(0, offset - LIMIT); load(); } }, "上一页"),
        h("span", { text: "第 " + page + " 页" }),
        h("button", { type: "button", class: "btn", disabled: !d.has_more, onclick: function () { offset += LIMIT; load(); } }, "下一页")
      ]));
    }

    function load() {
      var query = ZR.values(form); query.limit = LIMIT; query.offset = offset;
      return ZW.api("/v1/admin/audit", { query: query }).then(render).catch(function (e) { ZW.status(e); });
    }

    if (!ZW.can()) { main.appendChild(h("p", { class: "muted", text: "只有管理员可以查看审计日志。" })); return; }
    main.appendChild(form);
    main.appendChild(listBox);
    load();
  });
})();
