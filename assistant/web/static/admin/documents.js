/* 文档 page: filled in by the documents API work. */
(function () {
  "use strict";
  ZW.page(function (main) { main.appendChild(ZW.h("p", { class: "muted", text: "文档管理正在加载。" })); });
})();
