/* 索引 page: the kept index generations (rollback to one) and the ingest jobs with their progress.
   The job list refreshes itself every 2 s while a job is queued or running. */
(function () {
  "use strict";
  var h = ZW.h;

  ZW.page(function (main) {
    var gensBox = h("section", { class: "card", "aria-labelledby": "gens-title" });
    var jobsBox = h("section", { class: "card", "aria-labelledby": "jobs-title" });
    main.appendChild(gensBox);
    main.appendChild(jobsBox);
    var timer = null;
    loadGenerations();
    loadJobs();

    function loadGenerations() {
      ZW.api("/v1/admin/index/generations").then(function (res) {
        gensBox.textContent = "";
        gensBox.appendChild(h("h2", { id: "gens-title", text: "索引版本" }));
        gensBox.appendChild(h("p", { class: "muted", text: "保留最近的几个索引版本。回滚后，所有服务进程在约 1 秒内切换，无需重启，正在进行的问答不受影响。本进程当前使用：" + (res.serving || "（加载中）") }));
        gensBox.appendChild(ZW.table("索引版本（最新在前）", [
          { label: "版本", key: "name" },
          { label: "创建时间", key: "created_at" },
          { label: "文档数", key: "documents", num: true },
          { label: "片段数", key: "chunks", num: true },
          { label: "状态", render: function (g) { return g.current ? ZW.badge("当前使用", "ok") : ""; } },
          { label: "操作", render: function (g) {
            if (g.current || !ZW.can("editor")) return "";
            return h("button", { type: "button", class: "btn", "data-testid": "rollback", "data-generation": g.name, onclick: function () { rollback(g); } }, "回滚到此版本");
          } }
        ], res.items, "还没有索引。"));
      }).catch(ZW.status);
    }

    function rollback(g) {
      if (!window.confirm("把索引回滚到 " + g.name + "（" + g.created_at + "，" + g.documents + " 个文档）吗？")) return;
      ZW.api("/v1/admin/index/rollback", { method: "POST", json: { generation: g.name } }).then(function (res) {
        ZW.status("已回滚到 " + res.generation.name + "，本进程正在使用：" + res.serving + "。", "ok");
        loadGenerations();
      }).catch(ZW.status);
    }

    function loadJobs() {
      ZW.api("/v1/admin/jobs", { query: { limit: 20 } }).then(function (res) {
        jobsBox.textContent = "";
        jobsBox.appendChild(h("h2", { id: "jobs-title", text: "索引更新任务" }));
        jobsBox.appendChild(ZW.table("最近的任务", [
          { label: "任务", render: function (j) { return j.id.slice(0, 8); } },
          { label: "状态", render: function (j) { return ZW.badge(ZW.JOB_NAMES[j.status] || j.status, ZW.JOB_KINDS[j.status]); } },
          { label: "进度", render: function (j) { return h("progress", { max: "1", value: String(j.progress || 0), "aria-label": "任务 " + j.id.slice(0, 8) + " 进度" }); } },
          { label: "说明", key: "message" },
          { label: "操作人", key: "actor" },
          { label: "提交时间", render: function (j) { return ZW.fmtTime(j.created_at * 1000); } },
          { label: "完成时间", render: function (j) { return j.finished_at ? ZW.fmtTime(j.finished_at * 1000) : ""; } }
        ], res.items, "还没有任务。上传或修改文档后会在这里显示。"));
        var active = res.items.some(function (j) { return j.status === "queued" || j.status === "running"; });
        clearTimeout(timer);
        if (active) timer = setTimeout(function () { loadJobs(); loadGenerations(); }, 2000);
      }).catch(ZW.status);
    }
  });
})();
