/* 文档 page: alerts, upload, list/filter/search, and one document's metadata, chunks, edits,
   deletion, version history and restore (in a dialog). Editors and admins change; reviewers read. */
(function () {
  "use strict";
  var h = ZW.h;
  var STATUSES = ["现行有效", "已修订", "已废止"];
  var TYPES = [["", "全部"], ["guide", "办事指南"], ["policy", "政策文件"], ["law", "法律法规"], ["faq", "常见问答"], ["page", "网页/其他"]];
  var TYPE_NAMES = {}; TYPES.forEach(function (t) { if (t[0]) TYPE_NAMES[t[0]] = t[1]; });
  var ACCEPT = ".md,.markdown,.txt,.html,.htm,.pdf,.docx,.json,.jsonl,.yaml,.yml,.xlsx,.ofd,.png,.jpg,.jpeg,.tif,.tiff,.doc,.wps,.xls,.et";
  var ACTIONS = { upload: "上传", replace: "替换文件", update: "修改信息", "delete": "删除", restore: "恢复" };
  var FIELD_NAMES = { title: "标题", type: "类型", status: "状态", effective_date: "生效日期", expiry_date: "失效日期", region: "地区", department: "部门", doc_number: "文号", aliases: "别名", deleted: "已删除", file: "文件" };

  function field(id, label, input, hint) {
    input.id = id;
    return h("div", { class: "field" }, [h("label", { for: id, text: label }), input, hint ? h("span", { class: "hint", text: hint }) : null]);
  }
  function select(name, options, value) {
    return h("select", { name: name }, options.map(function (o) {
      var v = Array.isArray(o) ? o[0] : o, t = Array.isArray(o) ? o[1] : o;
      return h("option", { value: v, selected: v === value, text: t });
    }));
  }
  function text(name, value, type) { return h("input", { name: name, type: type || "text", value: value || "" }); }
  function statusBadge(s) { return ZW.badge(s || "现行有效", s === "已废止" ? "bad" : s === "已修订" ? "warn" : "ok"); }

  ZW.page(function (main) {
    var state = { offset: 0, limit: 20, total: 0, filters: {} };
    var alertsBox = h("section", { class: "card", "aria-labelledby": "alerts-title" });
    var listBox = h("div", { id: "doc-list" });
    var dialog = h("dialog", { id: "doc-dialog", "aria-labelledby": "doc-dialog-title" });
    main.appendChild(alertsBox);
    if (ZW.can("editor")) main.appendChild(uploadForm());
    main.appendChild(filterForm());
    main.appendChild(listBox);
    document.body.appendChild(dialog);
    loadAlerts();
    loadList();

    function loadAlerts() {
      ZW.api("/v1/admin/documents/alerts").then(function (a) {
        alertsBox.textContent = "";
        alertsBox.appendChild(h("h2", { id: "alerts-title", text: "提醒" }));
        var groups = [
          ["即将到期（" + a.warn_days + " 天内）", a.expiring, true],
          ["已过期但仍标为“现行有效”", a.expired_in_force, true],
          [a.uncited_days + " 天内未被引用", a.uncited, false]
        ];
        var grid = h("div", { class: "alerts" });
        groups.forEach(function (g, i) {
          var items = g[1] || [];
          var body;
          if (i === 2 && !a.uncited_available) body = h("p", { class: "muted", text: "暂无问答记录，无法统计引用。" });
          else if (!items.length) body = h("p", { class: "muted", text: "无" });
          else body = h("ul", {}, items.slice(0, 10).map(function (it) {
            return h("li", {}, [h("button", { type: "button", class: "btn link", onclick: function () { openDoc(it.id); } }, it.title || it.id), g[2] && it.expiry_date ? " · " + it.expiry_date : ""]);
          }).concat(items.length > 10 ? [h("li", { class: "muted", text: "另有 " + (items.length - 10) + " 个" })] : []));
          grid.appendChild(h("section", { class: "card", "data-testid": "alert-" + i }, [h("h3", { text: g[0] + "：" + items.length }), body]));
        });
        alertsBox.appendChild(grid);
      }).catch(function (err) { alertsBox.textContent = ""; alertsBox.appendChild(h("p", { class: "muted", text: "提醒暂时无法加载：" + ZW.describeError(err) })); });
    }

    function uploadForm() {
      var file = h("input", { type: "file", name: "file", required: true, accept: ACCEPT });
      var form = h("form", { class: "card", id: "doc-upload", "data-testid": "doc-upload", "aria-labelledby": "upload-title" }, [
        h("h2", { id: "upload-title", text: "上传文档" }),
        h("div", { class: "form-grid" }, [
          field("up-file", "文件", file, "支持 Word、PDF、网页、文本、Markdown、表格、办事指南 JSON/YAML 等"),
          field("up-title", "标题（可选）", text("title")),
          field("up-type", "类型", select("type", [["", "自动识别"]].concat(TYPES.slice(1)), "")),
          field("up-status", "状态", select("status", STATUSES, "现行有效")),
          field("up-region", "地区（可选）", text("region")),
          field("up-department", "部门（可选）", text("department")),
          field("up-doc-number", "文号（可选）", text("doc_number")),
          field("up-effective", "生效日期（可选）", text("effective_date", "", "date")),
          field("up-expiry", "失效日期（可选）", text("expiry_date", "", "date")),
          field("up-aliases", "别名（可选）", text("aliases"), "多个用顿号或逗号分开")
        ]),
        h("div", { class: "actions" }, h("button", { type: "submit", class: "btn primary" }, "上传并更新索引"))
      ]);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        if (!file.files.length) { ZW.status("请选择要上传的文件。", "err"); file.focus(); return; }
        var data = new FormData(form);
        ["title", "type", "region", "department", "doc_number", "effective_date", "expiry_date", "aliases"].forEach(function (k) { if (!data.get(k)) data.delete(k); });
        var button = form.querySelector("button[type=submit]");
        button.disabled = true;
        ZW.api("/v1/admin/documents", { method: "POST", form: data }).then(function (res) {
          form.reset();
          ZW.watchJob(res.job_id, "上传 " + res.document_id, function () { loadList(); loadAlerts(); });
        }).catch(ZW.status).then(function () { button.disabled = false; });
      });
      return form;
    }

    function filterForm() {
      var form = h("form", { class: "card", role: "search", "aria-labelledby": "filter-title" }, [
        h("h2", { id: "filter-title", text: "查找文档" }),
        h("div", { class: "form-grid" }, [
          field("f-q", "关键词", h("input", { name: "q", type: "search" }), "按内容查找，包括已废止的文档"),
          field("f-title", "标题包含", text("title")),
          field("f-type", "类型", select("type", TYPES, "")),
          field("f-status", "状态", select("status", [["", "全部"]].concat(STATUSES), "")),
          field("f-validity", "是否有效", select("validity", [["", "全部"], ["in_force", "当前有效"], ["not_in_force", "已失效"]], "")),
          field("f-region", "地区", text("region")),
          field("f-department", "部门", text("department")),
          field("f-doc-number", "文号", text("doc_number"))
        ]),
        h("div", { class: "actions" }, [
          h("button", { type: "submit", class: "btn primary" }, "查询"),
          h("button", { type: "reset", class: "btn" }, "清空")
        ])
      ]);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var f = {};
        new FormData(form).forEach(function (v, k) { if (v) f[k] = v; });
        state.filters = f; state.offset = 0; loadList();
      });
      form.addEventListener("reset", function () { setTimeout(function () { state.filters = {}; state.offset = 0; loadList(); }, 0); });
      return form;
    }

    function loadList() {
      var q = Object.assign({ offset: state.offset, limit: state.limit }, state.filters);
      ZW.api("/v1/admin/documents", { query: q }).then(function (res) {
        state.total = res.total;
        listBox.textContent = "";
        listBox.appendChild(ZW.table("文档列表（共 " + res.total + " 个）", [
          { label: "标题", render: function (d) { return h("button", { type: "button", class: "btn link", "data-testid": "doc-open", onclick: function () { openDoc(d.id); } }, d.title || d.id); } },
          { label: "类型", render: function (d) { return TYPE_NAMES[d.type] || d.type; } },
          { label: "文号", key: "doc_number" },
          { label: "部门", key: "department" },
          { label: "地区", key: "region" },
          { label: "状态", render: function (d) { return statusBadge(d.status); } },
          { label: "当前有效", render: function (d) { return d.in_force ? ZW.badge("有效", "ok") : ZW.badge("失效", "bad"); } },
          { label: "来源", render: function (d) { return d.uploaded ? "上传" : (d.overridden ? "已修改" : "内置"); } },
          { label: "片段", key: "chunks", num: true }
        ], res.items, "没有符合条件的文档。"));
        listBox.appendChild(ZW.pager(state, function (offset) { state.offset = offset; loadList(); }));
      }).catch(ZW.status);
    }

    function openDoc(id) {
      Promise.all([
        ZW.api("/v1/admin/documents/" + encodeURIComponent(id)).catch(function (err) { if (err.status === 404) return null; throw err; }),
        ZW.api("/v1/admin/documents/" + encodeURIComponent(id) + "/versions")
      ]).then(function (r) { showDoc(id, r[0], r[1].items); }).catch(ZW.status);
    }

    function closeDialog() { if (dialog.open) dialog.close(); }

    function showDoc(id, detail, versions) {
      dialog.textContent = "";
      var d = detail ? detail.document : null;
      var titleText = d ? d.title || d.id : id + "（已不在索引中）";
      dialog.appendChild(h("div", { class: "dialog-head" }, [
        h("h2", { id: "doc-dialog-title", text: titleText }),
        h("button", { type: "button", class: "btn", onclick: closeDialog }, "关闭")
      ]));
      if (d) {
        var rows = [["编号", d.id], ["类型", TYPE_NAMES[d.type] || d.type], ["文号", d.doc_number], ["发布机关", d.issuer], ["部门", d.department], ["地区", d.region],
          ["发布日期", d.publish_date], ["生效日期", d.effective_date], ["失效日期", d.expiry_date], ["状态", d.status], ["别名", (d.aliases || []).join("、")], ["来源文件", d.source]];
        dialog.appendChild(h("dl", { class: "meta" }, rows.reduce(function (acc, r) { return acc.concat([h("dt", { text: r[0] }), h("dd", { text: r[1] || "—" })]); }, [])));
      }
      if (ZW.can("editor")) dialog.appendChild(editForm(id, d));
      dialog.appendChild(historyTable(id, versions));
      if (detail) {
        dialog.appendChild(h("h3", { text: "内容片段（" + detail.chunks.length + "）" }));
        detail.chunks.slice(0, 30).forEach(function (c) {
          dialog.appendChild(h("div", { class: "chunk" }, [h("strong", { text: c.section || "" }), c.section ? "\n" : "", c.text]));
        });
      }
      if (!dialog.open) dialog.showModal();
      dialog.querySelector("h2").setAttribute("tabindex", "-1");
      dialog.querySelector("h2").focus();
    }

    function editForm(id, d) {
      d = d || {};
      var form = h("form", { class: "card", "data-testid": "doc-edit", "aria-labelledby": "edit-title" }, [
        h("h3", { id: "edit-title", text: "修改信息" }),
        h("div", { class: "form-grid" }, [
          field("e-type", "类型", select("type", TYPES.slice(1), d.type || "page")),
          field("e-status", "状态", select("status", STATUSES, d.status || "现行有效")),
          field("e-effective", "生效日期", text("effective_date", d.effective_date, "date")),
          field("e-expiry", "失效日期", text("expiry_date", d.expiry_date, "date")),
          field("e-region", "地区", text("region", d.region)),
          field("e-department", "部门", text("department", d.department)),
          field("e-aliases", "别名", text("aliases", (d.aliases || []).join("、")), "多个用顿号或逗号分开"),
          field("e-file", "替换文件", h("input", { type: "file", accept: ACCEPT }), "选择文件后立即替换并更新索引")
        ]),
        h("div", { class: "actions" }, [
          h("button", { type: "submit", class: "btn primary" }, "保存并更新索引"),
          h("button", { type: "button", class: "btn danger", "data-testid": "doc-delete" }, "删除文档")
        ])
      ]);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var data = new FormData(form), body = {};
        ["type", "status", "effective_date", "expiry_date", "region", "department"].forEach(function (k) { if ((data.get(k) || "") !== (d[k] || "")) body[k] = data.get(k); });
        var aliases = String(data.get("aliases") || "").split(/[、，,；;\n]+/).map(function (s) { return s.trim(); }).filter(Boolean);
        if (aliases.join("、") !== (d.aliases || []).join("、")) body.aliases = aliases;
        if (!Object.keys(body).length) { ZW.status("没有修改。", "info"); return; }
        ZW.api("/v1/admin/documents/" + encodeURIComponent(id), { method: "PATCH", json: body }).then(function (res) {
          closeDialog();
          if (res.job_id) ZW.watchJob(res.job_id, "修改 " + id, function () { loadList(); loadAlerts(); });
          else ZW.status("已保存（索引无需更新）。", "ok");
        }).catch(ZW.status);
      });
      form.querySelector("#e-file").addEventListener("change", function (ev) {
        var f = ev.target.files[0];
        if (!f) return;
        var data = new FormData(); data.append("file", f);
        ZW.api("/v1/admin/documents/" + encodeURIComponent(id) + "/file", { method: "PUT", form: data }).then(function (res) {
          closeDialog(); ZW.watchJob(res.job_id, "替换 " + id, function () { loadList(); });
        }).catch(ZW.status);
      });
      form.querySelector("[data-testid=doc-delete]").addEventListener("click", function () {
        if (!window.confirm("确定删除“" + (d.title || id) + "”吗？删除后可以在版本记录中恢复。")) return;
        ZW.api("/v1/admin/documents/" + encodeURIComponent(id), { method: "DELETE" }).then(function (res) {
          closeDialog(); ZW.watchJob(res.job_id, "删除 " + id, function () { loadList(); loadAlerts(); });
        }).catch(ZW.status);
      });
      return form;
    }

    function describeChanges(changes) {
      return Object.keys(changes || {}).map(function (k) {
        var c = changes[k];
        function v(x) { return x === null || x === undefined || x === "" ? "（空）" : Array.isArray(x) ? x.join("、") : String(x); }
        return (FIELD_NAMES[k] || k) + "：" + v(c[0]) + " → " + v(c[1]);
      }).join("；");
    }

    function historyTable(id, versions) {
      var box = h("section", { "aria-labelledby": "hist-title" }, h("h3", { id: "hist-title", text: "版本记录" }));
      box.appendChild(ZW.table("版本记录", [
        { label: "版本", key: "version", num: true },
        { label: "操作", render: function (v) { return ACTIONS[v.action] || v.action; } },
        { label: "操作人", key: "actor" },
        { label: "时间", render: function (v) { return ZW.fmtTime(v.at * 1000); } },
        { label: "变化", render: function (v) { return describeChanges(v.changes) + (v.restored_version ? "（恢复到版本 " + v.restored_version + "）" : ""); } },
        { label: "", render: function (v) {
          if (!ZW.can("editor")) return "";
          return h("button", { type: "button", class: "btn", "data-testid": "doc-restore", onclick: function () {
            if (!window.confirm("恢复到版本 " + v.version + "？")) return;
            ZW.api("/v1/admin/documents/" + encodeURIComponent(id) + "/restore", { method: "POST", json: { version: v.version } }).then(function (res) {
              closeDialog(); ZW.watchJob(res.job_id, "恢复 " + id, function () { loadList(); loadAlerts(); });
            }).catch(ZW.status);
          } }, "恢复到此版本");
        } }
      ], versions, "这个文档还没有在管理台修改过。"));
      return box;
    }
  });
})();
