/* 安全词库 page: the screening lexicons. Everyone with a staff key sees the lists and may try a text;
   admins edit the operator file of one list (the shipped entries are shown read-only). */
(function () {
  "use strict";
  var h = ZW.h, field = ZR.field;

  ZW.page(function (main) {
    var admin = ZW.can();
    var current = null; // name of the list being edited
    var listBox = h("div", { id: "screening-lists" });
    var editBox = h("section", { class: "card", id: "screening-edit", "aria-labelledby": "screening-edit-title", hidden: true });
    var testResult = h("div", { id: "screening-test-result", role: "region", "aria-live": "polite", "aria-label": "检测结果" });

    function renderLists(d) {
      listBox.textContent = "";
      listBox.appendChild(h("p", { class: "muted", text: "运营词库目录：" + (d.operator_dir || "未设置（无法编辑）") +
        "。保存后本进程立即生效，其他进程在 " + d.reload_interval_s + " 秒内生效。" }));
      listBox.appendChild(ZW.table("词库", [
        { label: "词库", render: function (i) { return i.allow_list ? i.name + "（白名单）" : i.name; } },
        { label: "类别", key: "category" },
        { label: "内置条目", key: "shipped_entries", num: true },
        { label: "运营条目", key: "operator_entries", num: true },
        { label: "运营文件", render: function (i) { return i.operator_exists ? i.operator_path : "（尚无）"; } },
        { label: "操作", render: function (i) {
          return h("button", { type: "button", class: "btn", "data-list": i.name, onclick: function () { open(i.name); } },
            admin ? "查看/编辑" : "查看");
        } }
      ], d.items, "没有词库。"));
    }

    function loadLists() {
      return ZW.api("/v1/admin/screening/lexicons").then(renderLists).catch(function (e) { ZW.status(e); });
    }

    function open(name) {
      ZW.api("/v1/admin/screening/lexicons/" + encodeURIComponent(name)).then(function (d) {
        current = name;
        editBox.textContent = "";
        editBox.hidden = false;
        var area = h("textarea", { id: "screening-text", name: "text", rows: 14, spellcheck: "false", readonly: !admin,
          "aria-describedby": "screening-syntax" });
        area.value = d.text;
        var form = h("form", { id: "screening-form" }, [
          h("label", { for: "screening-text", text: "运营文件（" + (d.info.operator_path || "未设置") + "）" }),
          area,
          h("p", { class: "hint", id: "screening-syntax", text: d.info.allow_list
            ? "每行一个允许词（官方用语，如“反诈宣传”）；与之重叠的命中不再算命中。# 之后为注释。"
            : "每行一条：词语；a|b 为同一条的变体；a & b 为在 16 字内同时出现；行尾 ~ 含谐音拼音，in/out 仅限提问/回答；-词语 删除内置条目；@category 类别 改类别；# 之后为注释。" }),
          admin ? h("div", { class: "actions" }, [
            h("button", { type: "submit", class: "btn primary", id: "screening-save" }, "保存"),
            h("button", { type: "button", class: "btn", onclick: function () { editBox.hidden = true; current = null; } }, "关闭")
          ]) : h("p", { class: "muted", text: "只有管理员可以修改词库。" })
        ]);
        form.addEventListener("submit", function (ev) {
          ev.preventDefault();
          ZW.api("/v1/admin/screening/lexicons/" + encodeURIComponent(current), { method: "PUT", json: { text: area.value } })
            .then(function (r) {
              ZW.status(r.changed ? "已保存词库 " + current + "，已生效（共加载 " + r.entries_loaded + " 条）。" : "内容未改变。", "ok");
              loadLists();
            }).catch(function (e) { ZW.status(e); });
        });
        var shipped = h("details", {}, [
          h("summary", { text: "内置条目（只读，共 " + d.info.shipped_entries + " 条）" }),
          h("pre", { class: "audit-json", id: "screening-shipped", text: d.shipped.join("\n") })
        ]);
        editBox.appendChild(h("h2", { id: "screening-edit-title", text: "词库：" + name + "（" + d.info.category + "）" }));
        editBox.appendChild(form);
        editBox.appendChild(shipped);
        area.focus();
      }).catch(function (e) { ZW.status(e); });
    }

    function renderTest(d) {
      testResult.textContent = "";
      if (!d.flagged) { testResult.appendChild(h("p", { class: "ok", text: "未命中任何词库。" })); return; }
      var rows = d.input.map(function (x) { return Object.assign({ dir: "群众提问" }, x); })
        .concat(d.output.map(function (x) { return Object.assign({ dir: "助手回答" }, x); }));
      testResult.appendChild(ZW.table("命中", [
        { label: "方向", key: "dir" }, { label: "类别", key: "category" },
        { label: "词条", key: "term" }, { label: "原文片段", key: "matched" }
      ], rows, "未命中。"));
    }

    var testForm = h("form", { class: "card", id: "screening-test", "aria-labelledby": "screening-test-title" }, [
      h("h2", { id: "screening-test-title", text: "试一试" }),
      h("div", { class: "form-grid" }, [
        field("text", "测试文本", "textarea", { required: true, wide: true, rows: 3, maxlength: 2000,
          hint: "输入一句话，查看当前词库会命中什么（保存后即可测试新词）。" })
      ]),
      h("div", { class: "actions" }, [h("button", { type: "submit", class: "btn primary", id: "screening-try" }, "检测")]),
      testResult
    ]);
    testForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = testForm.elements.text.value;
      if (!text.trim()) { ZW.status("请输入测试文本。", "err"); return; }
      ZW.api("/v1/admin/screening/test", { json: { text: text } }).then(renderTest).catch(function (e) { ZW.status(e); });
    });

    main.appendChild(listBox);
    main.appendChild(editBox);
    main.appendChild(testForm);
    loadLists();
  });
})();
