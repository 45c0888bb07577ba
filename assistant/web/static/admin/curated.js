/* 问答 page: curated answers (人工审核答复). Editors write, reviewers read. ?from=<request id> pre-fills
   the form from a reviewed exchange (the one-click fix from the 会话 page). */
(function () {
  "use strict";
  var h = ZW.h, field = ZR.field;
  var STATUS = [["published", "已发布"], ["draft", "草稿"], ["retired", "已停用"]];
  var STATUS_KIND = { published: "ok", draft: "info", retired: "warn" };

  ZW.page(function (main) {
    var editing = null; // id being edited, or null for a new entry
    var fromExchange = ""; // request id of the exchange the form was pre-filled from
    var editor = ZW.can("editor");
    var listBox = h("div", { id: "curated-list" });
    var form = null, formTitle = null;

    function lines(text) { return text.split(/\n+/).map(function (s) { return s.trim(); }).filter(Boolean); }
    function ids(text) { return text.split(/[\s,，;；]+/).map(function (s) { return s.trim(); }).filter(Boolean); }

    function fill(entry) {
      form.elements.questions.value = (entry.questions || []).join("\n");
      form.elements.answer.value = entry.answer || "";
      form.elements.sources.value = (entry.sources || []).join(", ");
      form.elements.department.value = entry.department || "";
      form.elements.valid_from.value = entry.valid_from || "";
      form.elements.valid_to.value = entry.valid_to || "";
      form.elements.status.value = entry.status || "published";
    }

    function startEdit(entry) {
      editing = entry ? entry.id : null;
      fromExchange = (entry && entry.from_exchange) || "";
      formTitle.textContent = entry && entry.id ? "编辑人工答案 #" + entry.id : "新建人工答案";
      fill(entry || {});
      form.elements.questions.focus();
    }

    function buildForm() {
      formTitle = h("h2", { id: "curated-form-title", text: "新建人工答案" });
      form = h("form", { class: "card", id: "curated-form", "aria-labelledby": "curated-form-title" }, [
        formTitle,
        h("div", { class: "form-grid" }, [
          field("questions", "问题（每行一个问法）", "textarea", { required: true, wide: true, rows: 3,
            hint: "写出群众常见的几种问法，匹配更准确。" }),
          field("answer", "答复内容", "textarea", { required: true, wide: true, rows: 6, maxlength: 4000 }),
          field("sources", "依据文档编号", "text", { wide: true, hint: "多个编号用逗号或空格分隔，答复将引用这些文档。" }),
          field("department", "责任部门", "text", { maxlength: 200 }),
          field("valid_from", "生效日期", "date"),
          field("valid_to", "失效日期", "date"),
          field("status", "状态", "select", { options: STATUS, value: "published" })
        ]),
        h("div", { class: "actions" }, [
          h("button", { type: "submit", class: "btn primary", id: "curated-save" }, "保存"),
          h("button", { type: "button", class: "btn", onclick: function () { startEdit(null); } }, "清空")
        ])
      ]);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var v = ZR.values(form);
        var body = { questions: lines(form.elements.questions.value), answer: v.answer, sources: ids(v.sources),
          department: v.department, valid_from: v.valid_from, valid_to: v.valid_to, status: v.status };
        if (!editing && fromExchange) body.from_exchange = fromExchange;
        if (!body.questions.length || !body.answer) { ZW.status("请填写问题和答复内容。", "err"); return; }
        var call = editing ? ZW.api("/v1/admin/curated/" + editing, { method: "PATCH", json: body })
                           : ZW.api("/v1/admin/curated", { json: body });
        call.then(function (res) {
          var msg = editing ? "已保存人工答案 #" + editing + "。" : "已创建人工答案 #" + res.id + "。";
          if (res.unknown_sources && res.unknown_sources.length) msg += "注意：索引中暂无文档 " + res.unknown_sources.join("、") + "。";
          ZW.status(msg, "ok");
          startEdit(null); load();
        }).catch(function (e) { ZW.status(e); });
      });
      return form;
    }

    function act(entry, method, body, done) {
      ZW.api("/v1/admin/curated/" + entry.id, { method: method, json: body }).then(function () {
        ZW.status(done, "ok"); load();
      }).catch(function (e) { ZW.status(e); });
    }

    function render(items, total) {
      listBox.textContent = "";
      var cols = [
        { label: "编号", render: function (r) { return "#" + r.id; } },
        { label: "问题", render: function (r) { return r.questions.join(" / "); } },
        { label: "答复", render: function (r) { return r.answer.length > 60 ? r.answer.slice(0, 59) + "…" : r.answer; } },
        { label: "依据", render: function (r) { return r.sources.join("、"); } },
        { label: "状态", render: function (r) { return ZW.badge(ZR.label(STATUS, r.status), STATUS_KIND[r.status]); } },
        { label: "有效期", render: function (r) { return (r.valid_from || "不限") + " 至 " + (r.valid_to || "不限"); } },
        { label: "更新", render: function (r) { return ZW.fmtTime(r.updated_at * 1000); } }
      ];
      if (editor) cols.push({ label: "操作", render: function (r) {
        var q = r.questions[0];
        return h("div", { class: "actions" }, [
          h("button", { type: "button", class: "btn", "aria-label": "编辑 " + q, onclick: function () { startEdit(r); } }, "编辑"),
          r.status === "published"
            ? h("button", { type: "button", class: "btn", "aria-label": "停用 " + q, onclick: function () { act(r, "PATCH", { status: "retired" }, "已停用 #" + r.id + "。"); } }, "停用")
            : h("button", { type: "button", class: "btn", "aria-label": "发布 " + q, onclick: function () { act(r, "PATCH", { status: "published" }, "已发布 #" + r.id + "。"); } }, "发布"),
          h("button", { type: "button", class: "btn danger", "aria-label": "删除 " + q, onclick: function () {
            if (window.confirm("确定删除人工答案 #" + r.id + "？")) act(r, "DELETE", undefined, "已删除 #" + r.id + "。");
          } }, "删除")
        ]);
      } });
      listBox.appendChild(ZW.table("人工答案（共 " + total + " 条）", cols, items, "还没有人工答案。"));
    }

    var search = h("form", { class: "card", id: "curated-search", role: "search", "aria-label": "筛选人工答案" }, [
      h("div", { class: "form-grid" }, [
        field("text", "关键词", "search"),
        field("status", "状态", "select", { options: [["", "全部"]].concat(STATUS) })
      ]),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "btn" }, "筛选"))
    ]);
    search.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });

    function load() {
      return ZW.api("/v1/admin/curated", { query: ZR.values(search) }).then(function (d) { render(d.items, d.total); })
        .catch(function (e) { ZW.status(e); });
    }

    if (editor) main.appendChild(buildForm());
    else main.appendChild(h("p", { class: "muted", text: "审核员可查看人工答案；编辑或管理员可修改。" }));
    main.appendChild(h("h2", { text: "已有人工答案" }));
    main.appendChild(search);
    main.appendChild(listBox);
    load();

    var from = new URLSearchParams(location.search).get("from");
    if (from && editor) {
      ZW.api("/v1/admin/curated/prefill/" + encodeURIComponent(from)).then(function (d) {
        startEdit({ questions: d.questions, answer: d.answer, sources: d.sources, department: d.department, status: "published", from_exchange: d.from_exchange });
        formTitle.textContent = "根据会话新建人工答案";
        ZW.status("已根据会话预填" + (d.verdict ? "（审核结论：" + (ZR.VERDICT[d.verdict] || d.verdict) + (d.note ? "，" + d.note : "") + "）" : "") + "，请修改后保存。", "info");
      }).catch(function (e) { ZW.status(e); });
    }
  });
})();
