/* 索引 page: filled in by the documents API work. */
(function () {
  "use strict";
  ZW.page(function (main) { main.appendChild(ZW.h("p", { class: "muted", text: "索引管理正在加载。" })); });
})();
