/* The command-centre map: the province's counties drawn as SVG from
   GET /decisions/{id}/map, each filled with the HJ 633 colour of its forecast AQI on the day
   the slider picks; the decision's alerts with their windows (GET /alerts); a draft decision's
   approval (GET /decisions/{id}/review, POST /decisions/{id}/approve). */
"use strict";
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 800, HEIGHT = 700, PAD = 10;
const NO_DATA = "#d0d5db";
let mapData = null;
let decision = null;   // GET /decisions/{id}: per region its alert and tasks by status
let documents = [];    // GET /decisions/{id}/documents
let alerts = [];
let shown = null;      // the county whose panel is open
let me = null;         // GET /me: whose key this is
const WORDS = {
  title: { zh: "指挥中心 · 全省区县 AQI 预报", en: "Command centre · county AQI forecast" },
  home: { zh: "工作台首页", en: "Workbench home" },
  apiKey: { zh: "API 密钥", en: "API key" },
  useKey: { zh: "使用此密钥", en: "Use this key" },
  forgetKey: { zh: "清除密钥", en: "Forget the key" },
  keyHelp: { zh: "密钥只保存在本浏览器标签页中（关闭即清除）。", en: "The key is kept in this browser tab only (gone when it closes)." },
  decision: { zh: "决策", en: "Decision" },
  reviewState: { zh: "审核状态", en: "Review" },
  mapTitle: { zh: "各区县逐日 AQI 预报", en: "Daily AQI forecast by county" },
  hoverHelp: { zh: "将鼠标移到区县上（或用 Tab 键选中）查看 AQI。", en: "Point at a county (or Tab to it) to see its AQI." },
  approveTitle: { zh: "审核下发", en: "Review and issue" },
  approveHelp: { zh: "本决策为草稿，任务尚未下发。批准后各区县即可接收任务。", en: "This decision is a draft; its tasks are not issued. Once approved, the counties can receive them." },
  approveNote: { zh: "审核意见", en: "Review note" },
  approve: { zh: "批准下发", en: "Approve and issue" },
  county: { zh: "区县", en: "County" },
  countyEmpty: { zh: "点击地图上的区县（或用 Tab 键选中后按回车）查看预报、任务进度与任务清单。", en: "Click a county on the map (or Tab to it and press Enter) for its forecast, task progress and task lists." },
  date: { zh: "日期", en: "Date" },
  category: { zh: "类别", en: "Category" },
  taskProgress: { zh: "任务进度", en: "Task progress" },
  whyNot: { zh: "预警研判：为何未达以下级别", en: "Alert levels not reached, and why" },
  taskDocs: { zh: "任务清单文件", en: "Task lists" },
  progressTitle: { zh: "各区县任务进度", en: "Task progress by county" },
  colCounty: { zh: "区县", en: "County" },
  colWaiting: { zh: "待审核/暂缓", en: "Awaiting review / held" },
  colIssued: { zh: "已下发", en: "Issued" },
  colReceived: { zh: "已接收", en: "Received" },
  colInProgress: { zh: "办理中", en: "In progress" },
  colDone: { zh: "已办结", en: "Done" },
  alerts: { zh: "预警", en: "Alerts" },
  forecastDay: { zh: "预报日期：", en: "Forecast day: " },
  language: { zh: "界面语言", en: "Language" },
  decisionAndDay: { zh: "决策与日期", en: "Decision and day" },
  legendLabel: { zh: "AQI 类别（HJ 633）", en: "AQI categories (HJ 633)" },
  brand: { zh: "生态环境大脑", en: "ecobrain" },
  errorPrefix: { zh: "出错了：", en: "Error: " },
  andAbove: { zh: "以上", en: "and above" },
  noForecast: { zh: "无预报", en: "no forecast" },
  noForecastDay: { zh: "（无预报）", en: "(no forecast)" },
  hoverAqi: { zh: "{place}：{date} AQI {aqi}（{cat}）", en: "{place}: {date} AQI {aqi} ({cat})" },
  hoverNone: { zh: "{place}：{date} 无预报", en: "{place}: {date} no forecast" },
  draft: { zh: "草稿（待审核）", en: "draft (awaiting review)" },
  approved: { zh: "已批准（{by}，{at}）", en: "approved ({by}, {at})" },
  alertLine: { zh: "预警：{level}（{region}），{start} 至 {end}", en: "Alert: {level} ({region}), {start} to {end}" },
  noAlertCounty: { zh: "本区县无预警。", en: "No alert for this county." },
  docLine: { zh: "{region}（{n} 项任务）：", en: "{region} ({n} tasks): " },
  openHtml: { zh: "打开网页版", en: "Open as web page" },
  openDocx: { zh: "打开Word版", en: "Open as Word" },
  noDocs: { zh: "无任务清单。", en: "No task list." },
  tasksTotal: { zh: "共 {n} 项：", en: "{n} tasks: " },
  noTasksCounty: { zh: "本区县无任务。", en: "No task for this county." },
  progressNote: { zh: "{regions} 个辖区，共 {all} 项任务，已办结 {done} 项；更新于 {at}", en: "{regions} regions, {all} tasks, {done} done; updated {at}" },
  docName: { zh: "{name}任务清单", en: "{name} task list" },
  window: { zh: "，{start} 至 {end}", en: ", {start} to {end}" },
  where: { zh: "（{n} 个区县：{names}）", en: " ({n} counties: {names})" },
  noAlerts: { zh: "本决策无预警。", en: "No alert in this decision." },
  province: { zh: "全省", en: "whole province" },
  decisionOption: { zh: "{date} · {run}（{alerts} 项预警，{tasks} 项任务）", en: "{date} · {run} ({alerts} alerts, {tasks} tasks)" },
};
let lang = "zh";
let t = (k) => k;
const fill = (key, vars) => fillWords(t, key, vars);
const locale = () => (lang === "en" ? "en-GB" : "zh-CN");
const statusName = (s) => ((lang === "en" ? STATUS_EN : STATUS_ZH)[s] || s);

function showError(err) { $("error").textContent = err ? `${t("errorPrefix")}${err.message}` : ""; }

/** Equirectangular, shrunk east-west by cos(latitude): right for a province's extent. */
function projection(features) {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c) => {
    if (typeof c[0] === "number") {
      x0 = Math.min(x0, c[0]); x1 = Math.max(x1, c[0]);
      y0 = Math.min(y0, c[1]); y1 = Math.max(y1, c[1]);
    } else c.forEach(visit);
  };
  features.forEach((f) => visit(f.geometry.coordinates));
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
  const scale = Math.min((WIDTH - 2 * PAD) / ((x1 - x0) * k), (HEIGHT - 2 * PAD) / (y1 - y0));
  return ([lon, lat]) => [PAD + (lon - x0) * k * scale, PAD + (y1 - lat) * scale];
}

function pathData(geometry, project) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  return polygons.map((rings) => rings.map((ring) => "M" + ring.map((c) => {
    const [x, y] = project(c);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  }).join("L") + "Z").join("")).join("");
}

function drawMap() {
  const features = mapData.counties.features;
  const project = projection(features);
  const svg = $("map");
  svg.replaceChildren(...features.map((f) => {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", pathData(f.geometry, project));
    path.setAttribute("data-code", f.properties.code);
    path.setAttribute("tabindex", "0");
    path.appendChild(document.createElementNS(SVG, "title"));
    const show = () => { $("hover").textContent = path.getAttribute("aria-label"); };
    path.addEventListener("mouseenter", show);
    path.addEventListener("focus", show);
    path.addEventListener("click", () => showCounty(f));
    path.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); showCounty(f); }
    });
    return path;
  }));
  $("legend").replaceChildren(...mapData.bands.map((b) => {
    const li = el("li", `${b.category_zh} ${b.aqi_min}–${b.aqi_max ?? t("andAbove")}`);
    li.style.setProperty("--swatch", b.colour);
    return li;
  }), (() => { const li = el("li", t("noForecast")); li.style.setProperty("--swatch", NO_DATA);
                return li; })());
  const day = $("day");
  day.max = String(Math.max(0, mapData.dates.length - 1));
  day.value = "0";
  colourDay();
}

/** Fill each county with its AQI colour on the slider's day. */
function colourDay() {
  const date = mapData.dates[Number($("day").value)] || "";
  $("day-label").textContent = date || t("noForecastDay");
  $("day").setAttribute("aria-valuetext", date);
  for (const f of mapData.counties.features) {
    const path = $("map").querySelector(`path[data-code="${f.properties.code}"]`);
    const d = f.properties.days.find((x) => x.date === date);
    const city = f.properties.city_name ? `${f.properties.city_name}` : "";
    const place = `${city}${f.properties.name}`;
    const text = d ? fill("hoverAqi", { place, date, aqi: d.aqi, cat: d.category_zh })
                   : fill("hoverNone", { place, date });
    path.setAttribute("fill", d ? d.colour : NO_DATA);
    path.setAttribute("aria-label", text);
    path.querySelector("title").textContent = text;
  }
}

async function loadReview(id) {
  const review = await api(`/decisions/${encodeURIComponent(id)}/review`);
  const draft = review.review_status !== "approved";
  $("review").textContent = draft ? t("draft")
    : fill("approved", { by: review.approved_by,
                         at: new Date(review.approved_at).toLocaleString(locale(),
                                                                          { hour12: false }) });
  // approving a province-wide decision needs a commander key without a region scope (the API
  // answers 403 otherwise): a bureau's key sees the state, not the button
  const mayApprove = me.roles.includes("admin")
    || (me.roles.includes("commander") && !me.regions.length);
  $("approve-panel").hidden = !(draft && mayApprove);
}

/** A county's forecast, alert, task progress and documents (its own and its city's). */
function showCounty(feature) {
  const p = feature.properties;
  $("county-title").textContent = `${p.city_name || ""}${p.name}（${p.code}）`;
  $("county-empty").hidden = true;
  $("county-body").hidden = false;
  $("county-days").replaceChildren(...p.days.map((d) => {
    const tr = el("tr");
    tr.append(el("td", d.date), el("td", String(d.aqi)), el("td", d.category_zh || ""));
    return tr;
  }));
  const alert = alerts.find((a) => a.region_code === p.code)
    || alerts.find((a) => a.region_code === p.city_code);
  $("county-alert").textContent = alert
    ? fill("alertLine", { level: alert.level_label, region: alert.region_name,
                          start: alert.start || "", end: alert.end || "" })
    : t("noAlertCounty");
  shown = p;
  renderTasks(p);
  loadWhyNot(p.code).catch((err) => {
    $("county-whynot").replaceChildren(el("li", `无法查询：${err.message}`, { class: "muted" }));
  });
  const docs = documents.filter((d) => d.region_code === p.code || d.region_code === p.city_code);
  $("county-docs").replaceChildren(...(docs.length ? docs.map((d) => {
    const li = el("li", fill("docLine", { region: d.region_name, n: d.tasks }));
    for (const [fmt, label] of [["html", "openHtml"], ["docx", "openDocx"]]) {
      const button = el("button", t(label), { type: "button", class: "secondary",
                                                      "data-doc": `${d.region_code}-${fmt}` });
      button.addEventListener("click", () => openDocument(d.urls[fmt], fmt, d.region_name)
        .catch(showError));
      li.append(" ", button);
    }
    return li;
  }) : [el("li", t("noDocs"), { class: "muted" })]));
  $("county").focus();
}

/** The alert gradings in force that did not fire for the county, with the first failed test
    and the value it saw (GET /decisions/{id}/why-not). */
async function loadWhyNot(code) {
  const list = $("county-whynot");
  list.replaceChildren(el("li", "查询中…", { class: "muted" }));
  const q = new URLSearchParams({ subject: code, kind: "region" });
  const answer = await api(`/decisions/${encodeURIComponent($("decision").value)}/why-not?${q}`);
  if (shown === null || shown.code !== code) return;  // another county was opened meanwhile
  const missed = answer.verdicts.filter((v) => v.rule_id.startsWith("alert.") && v.in_force
                                        && (v.outcome === "failed" || v.outcome === "no_fact"));
  list.replaceChildren(...(missed.length ? missed.map((v) => {
    const f = v.failure;
    const why = f.failed ? failedText(f.failed) : f.reason;
    return el("li", `${v.title}：${why}`, { "data-rule": v.key });
  }) : [el("li", "所有在用的预警分级均已触发或不适用。", { class: "muted" })]));
}

function failedText(t) {
  if (t.alternatives && t.alternatives.length) return t.alternatives.map(failedText).join("；且 ");
  const saw = t.saw === null || t.saw === undefined ? "缺失" : String(t.saw);
  return `${t.test} 不成立（实际 ${t.field} = ${saw}）`;
}

function renderTasks(p) {
  const region = (decision.regions || []).find((r) => r.region_code === p.code);
  const byStatus = region ? region.tasks_by_status : {};
  const total = Object.values(byStatus).reduce((n, x) => n + x, 0);
  $("county-tasks").textContent = total
    ? fill("tasksTotal", { n: total }) + Object.entries(byStatus)
      .map(([s, n]) => `${statusName(s)} ${n}`).join(lang === "en" ? ", " : "，")
    : t("noTasksCounty");
}

/** Live task progress of every county with tasks: received / in progress / done, the
    counties furthest behind first (the most tasks not yet received). */
function renderProgress() {
  const names = new Map(mapData.counties.features.map((f) =>
    [f.properties.code, `${f.properties.city_name || ""}${f.properties.name}`]));
  const rows = (decision.regions || []).filter((r) => r.tasks > 0).map((r) => {
    const s = r.tasks_by_status || {};
    return { code: r.region_code, name: names.get(r.region_code) || r.region_name,
             counts: [(s.draft || 0) + (s.held || 0), s.issued || 0, s.received || 0,
                      s.in_progress || 0, s.done || 0] };
  }).sort((a, b) => b.counts[1] - a.counts[1] || b.counts[0] - a.counts[0]
    || a.code.localeCompare(b.code));
  $("progress").tBodies[0].replaceChildren(...rows.map((r) => {
    const tr = el("tr", null, { "data-region": r.code });
    const th = el("th", r.name, { scope: "row" });
    tr.append(th, ...r.counts.map((n) => el("td", String(n))));
    return tr;
  }));
  const done = rows.reduce((n, r) => n + r.counts[4], 0);
  const all = rows.reduce((n, r) => n + r.counts.reduce((a, b) => a + b, 0), 0);
  $("progress-note").textContent = fill("progressNote", {
    regions: rows.length, all, done,
    at: new Date().toLocaleTimeString(locale(), { hour12: false }) });
}

/** Documents need the key, which a plain link cannot send: fetch, then open the bytes. */
async function openDocument(url, fmt, name) {
  const response = await fetch(url, { headers: { "X-API-Key": apiKey() } });
  if (!response.ok) throw new Error(`${response.status}：${await response.text()}`);
  const blob = URL.createObjectURL(await response.blob());
  if (fmt === "html") { window.open(blob, "_blank"); return; }
  const a = el("a", null, { href: blob, download: `${fill("docName", { name })}.${fmt}` });
  document.body.append(a);
  a.click();
  a.remove();
}

/** Alerts by city: one line per city, level and window, naming its counties. */
function alertLines() {
  const cityOf = new Map(mapData.counties.features.map((f) =>
    [f.properties.code, [f.properties.city_code, f.properties.city_name]]));
  const groups = new Map();
  for (const a of alerts) {
    const [cityCode, cityName] = cityOf.get(a.region_code) || [a.region_code, a.region_name];
    const key = [cityCode, a.level, a.start, a.end].join("|");
    if (!groups.has(key)) groups.set(key, { city: cityName || cityCode, a, counties: [] });
    if (cityOf.has(a.region_code)) groups.get(key).counties.push(a.region_name || a.region_code);
  }
  return [...groups.values()].sort((x, y) => (y.a.severity_rank || 0) - (x.a.severity_rank || 0)
    || x.city.localeCompare(y.city, "zh-CN")).map(({ city, a, counties }) => {
    const window = a.start ? fill("window", { start: a.start, end: a.end || a.start }) : "";
    const where = counties.length
      ? fill("where", { n: counties.length, names: counties.join(lang === "en" ? ", " : "、") })
      : "";
    return el("li", `${city}${lang === "en" ? ": " : "："}${a.level_label || a.level}`
      + `${window}${where}`);
  });
}

async function loadAlerts(id) {
  alerts = await api(`/alerts?decision_id=${encodeURIComponent(id)}&limit=1000`);
  const lines = alertLines();
  $("alerts").replaceChildren(...(lines.length ? lines
    : [el("li", t("noAlerts"), { class: "muted" })]));
}

async function loadDecision() {
  const id = $("decision").value;
  if (!id) return;
  const q = encodeURIComponent(id);
  [mapData, decision, documents] = await Promise.all([
    api(`/decisions/${q}/map`), api(`/decisions/${q}`), api(`/decisions/${q}/documents`)]);
  $("county-empty").hidden = false;
  $("county-body").hidden = true;
  shown = null;
  drawMap();
  renderProgress();
  await Promise.all([loadReview(id), loadAlerts(id)]);
}

async function start() {
  showError(null);
  $("content").hidden = true;
  $("who").textContent = "";
  if (!apiKey()) return;
  try {
    me = await api("/me");
    $("who").textContent = `${me.name}（${me.regions.length ? me.regions.join("、")
      : t("province")}）`;
    const page = await api("/decisions?limit=20");
    $("decision").replaceChildren(...page.items.map((d) => el("option",
      fill("decisionOption", { date: d.decision_date, run: d.run_id, alerts: d.alerts,
                               tasks: d.tasks }),
      { value: d.id })));
    $("content").hidden = false;
    await loadDecision();
  } catch (err) { showError(err); }
}

async function approve(event) {
  event.preventDefault();
  const button = $("approve");
  button.disabled = true;
  showError(null);
  try {
    await api(`/decisions/${encodeURIComponent($("decision").value)}/approve`,
              { method: "POST", body: { note: $("approve-note").value.trim() } });
    await loadReview($("decision").value);
    decision = await api(`/decisions/${encodeURIComponent($("decision").value)}`);
    renderProgress();
  } catch (err) { showError(err); } finally { button.disabled = false; }
}

/** Task progress comes back from the bureaus: read the decision again every 30 s (the API
    answers 304 while nothing changed) and refresh the open county. */
const POLL_MS = 30000;
setInterval(async () => {
  if (!decision || document.hidden) return;
  try {
    decision = await api(`/decisions/${encodeURIComponent(decision.id)}`);
    renderProgress();
    if (shown) renderTasks(shown);
  } catch (err) { showError(err); }
}, POLL_MS);

$("day").addEventListener("input", colourDay);
$("decision").addEventListener("change", () => loadDecision().catch(showError));
$("approve-form").addEventListener("submit", approve);
function setLang(next) {
  lang = next;
  t = applyLang(WORDS, lang);
  $("lang").value = lang;
  if (lang === "en" && $("approve-note").value === "经会商同意下发") {
    $("approve-note").value = "Approved after consultation";
  }
}

setLang(userLang());
$("lang").addEventListener("change", () => {
  setUserLang($("lang").value);
  setLang($("lang").value);
  if (apiKey()) start();
});
keyForm(start);
