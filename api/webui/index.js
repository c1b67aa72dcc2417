/* The workbench's index: its words in the user's language (see i18n.js). */
"use strict";
const WORDS = {
  brand: { zh: "生态环境大脑", en: "ecobrain" },
  title: { zh: "工作台", en: "Workbench" },
  heading: { zh: "生态环境大脑 · 大气决策工作台", en: "ecobrain · air-quality decision workbench" },
  language: { zh: "界面语言", en: "Language" },
  pages: { zh: "页面", en: "Pages" },
  map: { zh: "指挥中心地图", en: "Command-centre map" },
  mapFor: { zh: "（指挥长：全省区县逐日 AQI 预报、预警、决策审核下发、各区县任务进度）",
            en: " (commanders: daily AQI forecast by county, alerts, review and issue, task "
                + "progress by county)" },
  graph: { zh: "图谱探查", en: "Graph explorer" },
  graphFor: { zh: "（调查人员：搜索、展开、最短路径、任务证据链、地图模式、保存场景）",
              en: " (investigators: search, expand, shortest paths, a task's evidence chain, "
                  + "map mode, saved scenes)" },
  tasks: { zh: "任务看板", en: "Task board" },
  tasksFor: { zh: "（区县、设区市生态环境局：查看本辖区任务，逐步反馈办理情况）",
              en: " (city and county bureaus: their tasks, reporting progress step by step)" },
  rules: { zh: "规则编辑", en: "Rule editor" },
  rulesFor: { zh: "（领域专家：按日期查看规则版本状态，编辑、校验、运行测试，查看影响评估后启用）",
              en: " (domain experts: rule versions by standing on a date, edit, check, run tests, "
                  + "view the change impact, then activate)" },
  docs: { zh: "接口文档（Swagger UI）", en: "API documentation (Swagger UI)" },
  redoc: { zh: "接口文档（ReDoc）", en: "API documentation (ReDoc)" },
  keys: { zh: "页面与接口由本服务提供，不依赖外网。数据请求使用您的 API 密钥（由管理员用 ecobrain "
              + "api-keys create 创建），角色与辖区范围与接口一致。",
          en: "Pages and API are served here, with no internet. Data calls use your API key "
              + "(an administrator creates it with ecobrain api-keys create): the same roles "
              + "and regions as the API." },
};
const select = document.getElementById("lang");
function setLang(lang) {
  applyLang(WORDS, lang);
  select.value = lang;
}
setLang(userLang());
select.addEventListener("change", () => { setUserLang(select.value); setLang(select.value); });
