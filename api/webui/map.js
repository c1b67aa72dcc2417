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

function showError(err) { $("error").textContent = err ? `出错了：${err.message}` : ""; }

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
    const li = el("li", `${b.category_zh} ${b.aqi_min}–${b.aqi_max ?? "以上"}`);
    li.style.setProperty("--swatch", b.colour);
    return li;
  }), (() => { const li = el("li", "无预报"); li.style.setProperty("--swatch", NO_DATA);
                return li; })());
  const day = $("day");
  day.max = String(Math.max(0, mapData.dates.length - 1));
  day.value = "0";
  colourDay();
}

/** Fill each county with its AQI colour on the slider's day. */
function colourDay() {
  const date = mapData.dates[Number($("day").value)] || "";
  $("day-label").textContent = date || "（无预报）";
  $("day").setAttribute("aria-valuetext", date);
  for (const f of mapData.counties.features) {
    const path = $("map").querySelector(`path[data-code="${f.properties.code}"]`);
    const d = f.properties.days.find((x) => x.date === date);
    const city = f.properties.city_name ? `${f.properties.city_name}` : "";
    const text = d ? `${city}${f.properties.name}：${date} AQI ${d.aqi}（${d.category_zh}）`
                   : `${city}${f.properties.name}：${date} 无预报`;
    path.setAttribute("fill", d ? d.colour : NO_DATA);
    path.setAttribute("aria-label", text);
    path.querySelector("title").textContent = text;
  }
}

async function loadReview(id) {
  const review = await api(`/decisions/${encodeURIComponent(id)}/review`);
  const draft = review.review_status !== "approved";
  $("review").textContent = draft ? "草稿（待审核）"
    : `已批准（${review.approved_by}，${new Date(review.approved_at).toLocaleString("zh-CN",
        { hour12: false })}）`;
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
    ? `预警：${alert.level_label}（${alert.region_name}），${alert.start || ""} 至 ${alert.end || ""}`
    : "本区县无预警。";
  shown = p;
  renderTasks(p);
  loadWhyNot(p.code).catch((err) => {
    $("county-whynot").replaceChildren(el("li", `无法查询：${err.message}`, { class: "muted" }));
  });
  const docs = documents.filter((d) => d.region_code === p.code || d.region_code === p.city_code);
  $("county-docs").replaceChildren(...(docs.length ? docs.map((d) => {
    const li = el("li", `${d.region_name}（${d.tasks} 项任务）：`);
    for (const [fmt, label] of [["html", "网页"], ["docx", "Word"]]) {
      const button = el("button", `打开${label}版`, { type: "button", class: "secondary",
                                                      "data-doc": `${d.region_code}-${fmt}` });
      button.addEventListener("click", () => openDocument(d.urls[fmt], fmt, d.region_name)
        .catch(showError));
      li.append(" ", button);
    }
    return li;
  }) : [el("li", "无任务清单。", { class: "muted" })]));
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
    ? `共 ${total} 项：` + Object.entries(byStatus).map(([s, n]) => `${STATUS_ZH[s] || s} ${n}`)
      .join("，")
    : "本区县无任务。";
}

/** Documents need the key, which a plain link cannot send: fetch, then open the bytes. */
async function openDocument(url, fmt, name) {
  const response = await fetch(url, { headers: { "X-API-Key": apiKey() } });
  if (!response.ok) throw new Error(`${response.status}：${await response.text()}`);
  const blob = URL.createObjectURL(await response.blob());
  if (fmt === "html") { window.open(blob, "_blank"); return; }
  const a = el("a", null, { href: blob, download: `${name}任务清单.${fmt}` });
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
    const window = a.start ? `，${a.start} 至 ${a.end || a.start}` : "";
    const where = counties.length ? `（${counties.length} 个区县：${counties.join("、")}）` : "";
    return el("li", `${city}：${a.level_label || a.level}${window}${where}`);
  });
}

async function loadAlerts(id) {
  alerts = await api(`/alerts?decision_id=${encodeURIComponent(id)}&limit=1000`);
  const lines = alertLines();
  $("alerts").replaceChildren(...(lines.length ? lines
    : [el("li", "本决策无预警。", { class: "muted" })]));
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
  await Promise.all([loadReview(id), loadAlerts(id)]);
}

async function start() {
  showError(null);
  $("content").hidden = true;
  $("who").textContent = "";
  if (!apiKey()) return;
  try {
    me = await api("/me");
    $("who").textContent = `${me.name}（${me.regions.length ? me.regions.join("、") : "全省"}）`;
    const page = await api("/decisions?limit=20");
    $("decision").replaceChildren(...page.items.map((d) => el("option",
      `${d.decision_date} · ${d.run_id}（${d.alerts} 项预警，${d.tasks} 项任务）`,
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
  } catch (err) { showError(err); } finally { button.disabled = false; }
}

/** Task progress comes back from the bureaus: read the decision again every 30 s (the API
    answers 304 while nothing changed) and refresh the open county. */
const POLL_MS = 30000;
setInterval(async () => {
  if (!decision || document.hidden) return;
  try {
    decision = await api(`/decisions/${encodeURIComponent(decision.id)}`);
    if (shown) renderTasks(shown);
  } catch (err) { showError(err); }
}, POLL_MS);

$("day").addEventListener("input", colourDay);
$("decision").addEventListener("change", () => loadDecision().catch(showError));
$("approve-form").addEventListener("submit", approve);
keyForm(start);
