/* The experts' rule editor: rule versions by their standing on a date; a version's YAML in
   CodeMirror 6 (the vendored bundle, window.EcoCM) checked as you type against the server's
   checker (POST /rules/validate: schema, expressions, concepts, cited articles) and completed
   from GET /rules/vocabulary (file keys, fact types and fields, concepts); the text's own tests
   run with the Chinese text each conclusion shows; save as a draft, its impact report on the
   last decisions, activation with that report's id. A decision table's version is also shown
   as an editable grid (POST /rules/tables/grid: the server reads the table and writes the
   edited grid back into the text, so the YAML stays the one source). Only API routes, the key
   in X-API-Key. */
"use strict";
const $ = (id) => document.getElementById(id);
const STANDING = [
  ["in_force", "在所选日期生效"],
  ["draft", "草稿（未启用）"],
  ["not_in_force", "已启用、所选日期不生效（已失效、尚未生效或被取代）"],
  ["retired", "已停用"],
];
const CHANGE_ZH = { added: "新增", removed: "取消", changed: "变化" };
const KIND_ZH = { alert: "预警", measure: "措施", task: "任务", advice: "建议" };
let view = null;
let vocabulary = null;
let selected = null;   // {rule_id, version, status} of the version shown / saved
let impactId = null;   // the latest impact report of `selected`
let lastValidation = null;
let grid = null;       // the decision table shown in the grid (POST /rules/tables/grid)
const HIT_ZH = { unique: "唯一（至多一行命中）", first: "首行命中（自上而下第一条成立的行）",
                 priority: "优先级（命中行中优先级最高者）", collect: "全部收集（每条命中行）" };
const KIND_COLUMN_ZH = { meta: "行信息", input: "条件", output: "结论" };

function showError(err) { $("error").textContent = err ? `出错了：${err.message}` : ""; }
function say(text) { $("status").textContent = text; }
function today() { return new Date().toISOString().slice(0, 10); }

/** The rule list by standing on the chosen date (the API says which version decisions use). */
async function loadList() {
  const day = $("on").value || today();
  const rules = await api(`/rules?on=${encodeURIComponent(day)}`);
  const rows = rules.flatMap((rule) => rule.versions.map((v) => ({
    rule, v, standing: v.standing, why: v.standing === "not_in_force" ? v.standing_note : "" })));
  const groups = $("groups");
  groups.replaceChildren();
  for (const [key, title] of STANDING) {
    const mine = rows.filter((r) => r.standing === key);
    const section = el("section", undefined, { "data-standing": key });
    section.append(el("h3", `${title}（${mine.length}）`));
    const list = el("ul", undefined, { class: "tasks" });
    for (const r of mine) {
      const b = el("button", undefined, { type: "button", "data-key": r.v.key });
      b.append(el("strong", r.v.key), el("br"),
               el("span", `${r.v.title}（${r.v.effective_from || "—"} 至 ${r.v.effective_to || "—"}`
                          + `${r.why ? "，" + r.why : ""}）`));
      b.addEventListener("click", () => openVersion(r.rule.rule_id, r.v.version));
      const li = el("li");
      li.append(b);
      list.append(li);
    }
    section.append(list);
    groups.append(section);
  }
}

async function openVersion(ruleId, version) {
  showError(null);
  try {
    const v = await api(`/rules/${encodeURIComponent(ruleId)}/versions/${version}`);
    setSelected({ rule_id: v.rule_id, version: v.version, status: v.status });
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: v.yaml } });
    $("editing").textContent = `${v.key}「${v.title}」· ${v.status}`
      + "。修改后请改版本号并“保存为草稿”（版本一经保存不可更改）。";
    for (const b of document.querySelectorAll("#groups button[data-key]")) {
      b.setAttribute("aria-current", String(b.dataset.key === v.key));
    }
    await loadGrid(v.yaml, v.table);
  } catch (err) { showError(err); }
}

// -- the decision-table grid ---------------------------------------------------------------------

/** The table of a row's version as a grid, or no grid for a single rule. */
async function loadGrid(text, tableKey) {
  if (!tableKey) { grid = null; $("grid-panel").hidden = true; return; }
  const at = tableKey.lastIndexOf("@");
  const g = await api("/rules/tables/grid", { method: "POST", body: {
    yaml: text, table: tableKey.slice(0, at), version: Number(tableKey.slice(at + 1)) } });
  renderGrid(g, g.version + 1);
}

function renderGrid(g, nextVersion) {
  grid = g;
  $("grid-panel").hidden = false;
  $("grid-meta").textContent = `${g.table}@${g.version}「${g.title}」· 命中策略：`
    + `${HIT_ZH[g.hit_policy] || g.hit_policy}（${g.hit_policy}）· 事实类型：${g.fact}`;
  $("grid-meta").dataset.hitPolicy = g.hit_policy;
  $("grid-version").value = String(nextVersion);
  const table = $("grid");
  table.replaceChildren();
  const head = el("tr");
  head.append(el("th", "行", { scope: "col" }));
  for (const c of g.columns) {
    const th = el("th", undefined, { scope: "col", "data-kind": c.kind, "data-col": c.name });
    th.append(el("span", `${KIND_COLUMN_ZH[c.kind]}：${c.label}`));
    if (c.label !== c.name) th.append(el("br"), el("small", c.name));
    head.append(th);
  }
  head.append(el("th", "操作", { scope: "col" }));
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  g.rows.forEach((cells, i) => {
    const n = i + 1;
    const tr = el("tr", undefined, { "data-row": String(n) });
    tr.append(el("th", String(n), { scope: "row" }));
    g.columns.forEach((c, j) => {
      const td = el("td");
      const who = cells[0] ? `（${cells[0].split(".").pop()}）` : "";
      td.append(el("input", undefined, {
        type: "text", value: cells[j] ?? "", "data-col": c.name, "data-kind": c.kind,
        "aria-label": `第${n}行${who} ${c.label}`, title: cells[j] ?? "" }));
      tr.append(td);
    });
    const del = el("button", "删除", { type: "button", class: "secondary",
                                       "aria-label": `删除第${n}行` });
    del.addEventListener("click", () => { syncGrid(); grid.rows.splice(i, 1);
                                          renderGrid(grid, $("grid-version").value); });
    const td = el("td");
    td.append(del);
    tr.append(td);
    tbody.append(tr);
  });
  table.append(thead, tbody);
}

/** The grid's cells as typed (inputs' values) back into `grid.rows`. */
function syncGrid() {
  grid.rows = [...$("grid").querySelectorAll("tbody tr")].map(
    (tr) => [...tr.querySelectorAll("input[data-col]")].map((i) => i.value));
}

function addRow() {
  syncGrid();
  grid.rows.push(grid.columns.map(() => ""));
  renderGrid(grid, $("grid-version").value);
  $("grid").querySelector("tbody tr:last-child input")?.focus();
}

/** The edited grid written into the YAML by the server; then checked and tested. */
async function applyGrid() {
  showError(null);
  syncGrid();
  const version = Number($("grid-version").value);
  try {
    const g = await api("/rules/tables/grid", { method: "POST", body: {
      yaml: view.state.doc.toString(), table: grid.table, version: grid.version,
      columns: grid.columns.map((c) => c.name), rows: grid.rows,
      new_version: Number.isInteger(version) && version > 0 ? version : null } });
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: g.yaml } });
    renderGrid(g, g.version);
    say(`表格已写回 YAML（${g.table}@${g.version}）。`);
    await check();
  } catch (err) { showError(err); }
}

const ACTION_ZH = { "rule.create": "保存新版本", "rule.activate": "启用", "rule.deactivate": "停用" };

/** Who changed the rule's versions, and when (GET /rules/{id}/audit). */
async function loadAudit(ruleId) {
  const events = await api(`/rules/${encodeURIComponent(ruleId)}/audit`);
  $("audit").replaceChildren(...(events.length ? events.map((a) => el("li",
    `${a.at} ${a.by}：${ACTION_ZH[a.action] || a.action} ${a.target}`
    + (a.detail.impact_report ? `（影响评估 ${a.detail.impact_report}）` : "")
    + (a.detail.superseded_by ? `（由 ${a.detail.superseded_by} 取代）` : ""),
    { "data-action": a.action, "data-target": a.target }))
    : [el("li", "此规则（随规则库导入）尚无变更记录。", { class: "muted" })]));
}

function setSelected(sel) {
  selected = sel;
  impactId = null;
  if (sel) loadAudit(sel.rule_id).catch(showError);
  $("impact").disabled = !sel || sel.status === "active";
  $("activate").disabled = true;
  $("impact-report").replaceChildren(el("p", "保存草稿后，点击“影响评估”，在最近的决策上重新运行。",
                                        { class: "muted" }));
}

// -- checking ------------------------------------------------------------------------------------

async function validate(text) {
  const v = await api("/rules/validate", { method: "POST", body: { yaml: text } });
  lastValidation = v;
  renderProblems(v);
  return v;
}

function renderProblems(v) {
  const list = $("problems");
  list.replaceChildren();
  const all = [...v.errors, ...v.warnings];
  if (!all.length) list.append(el("li", `无问题（${v.rules.join("、") || "—"}）`, { class: "ok" }));
  for (const p of all) {
    const where = [p.line ? `第 ${p.line} 行` : "", p.field ? `[${p.field}]` : ""].join(" ").trim();
    list.append(el("li", `${p.severity === "error" ? "错误" : "警告"} ${where}：${p.message}`,
                   { class: p.severity === "error" ? "error" : "warn" }));
  }
}

function renderTests(v) {
  const list = $("tests");
  list.replaceChildren();
  if (v.errors.length) { list.append(el("li", "有错误，未运行测试。", { class: "muted" })); return; }
  if (!v.tests.length) { list.append(el("li", "此文本没有测试用例（tests:）。", { class: "muted" })); return; }
  for (const t of v.tests) {
    const li = el("li", undefined, { class: t.passed ? "ok" : "error", "data-test": t.name });
    li.append(el("strong", `${t.passed ? "通过" : "未通过"}：${t.name}（${t.on}）`));
    const inner = el("ul");
    for (const f of t.failures) inner.append(el("li", f, { class: "error" }));
    for (const text of t.texts || []) inner.append(el("li", text, { class: "generated" }));
    li.append(inner);
    list.append(li);
  }
}

/** CodeMirror lint source: the server's checker; problems at their lines. */
async function lintSource(editor) {
  const text = editor.state.doc.toString();
  if (!text.trim() || !apiKey()) return [];
  // a text that no longer holds the grid's table (another rule typed in): no stale grid
  if (grid && !text.includes(grid.table)) $("grid-panel").hidden = true;
  let v;
  try { v = await validate(text); } catch (err) { showError(err); return []; }
  const doc = editor.state.doc;
  return [...v.errors, ...v.warnings].map((p) => {
    const line = doc.line(Math.min(Math.max(p.line || 1, 1), doc.lines));
    return { from: line.from, to: Math.max(line.to, line.from), message: p.message,
             severity: p.severity === "error" ? "error" : "warning" };
  });
}

/** Completion: file keys from the schema, fact types, their fields, concept ids. */
function completions() {
  if (!vocabulary) return [];
  const seen = new Map();
  const add = (label, type, detail) => { if (!seen.has(label)) seen.set(label, { label, type, detail }); };
  const walk = (schema) => {
    if (!schema || typeof schema !== "object") return;
    for (const [k, sub] of Object.entries(schema.properties || {})) { add(k, "keyword", "键"); walk(sub); }
    for (const key of ["items", "additionalProperties"]) walk(schema[key]);
    for (const key of ["anyOf", "oneOf", "allOf"]) for (const s of schema[key] || []) walk(s);
    for (const s of Object.values(schema.$defs || {})) walk(s);
  };
  walk(vocabulary.schema);
  for (const [type, fields] of Object.entries(vocabulary.fact_types)) {
    add(type, "type", "事实类型");
    for (const [f, meaning] of Object.entries(fields)) add(f, "property", `${type}：${meaning}`);
  }
  for (const [c, kinds] of Object.entries(vocabulary.concepts)) add(c, "constant", kinds.join("/"));
  return [...seen.values()];
}

function completeSource(context) {
  const word = context.matchBefore(/[A-Za-z_][\w.-]*/);
  if (!word || (word.from === word.to && !context.explicit)) return null;
  return { from: word.from, options: completions(), validFor: /^[\w.-]*$/ };
}

function makeEditor() {
  const C = window.EcoCM;
  view = new C.EditorView({
    parent: $("editor"),
    state: C.EditorState.create({
      doc: "",
      extensions: [
        C.lineNumbers(), C.history(), C.highlightActiveLine(), C.indentOnInput(),
        C.bracketMatching(), C.yaml(), C.syntaxHighlighting(C.defaultHighlightStyle),
        C.lintGutter(), C.linter(lintSource, { delay: 700 }),
        C.autocompletion({ override: [completeSource] }),
        C.keymap.of([...C.completionKeymap, ...C.defaultKeymap, ...C.historyKeymap]),
        C.EditorView.lineWrapping,
        C.EditorView.contentAttributes.of({ "aria-label": "规则 YAML 编辑区" }),
      ],
    }),
  });
}

// -- actions -------------------------------------------------------------------------------------

async function check() {
  showError(null);
  say("正在校验并运行测试…");
  try {
    const v = await validate(view.state.doc.toString());
    renderTests(v);
    const passed = v.tests.filter((t) => t.passed).length;
    say(v.ok ? `校验通过；测试 ${passed}/${v.tests.length} 通过。` : `有 ${v.errors.length} 个错误。`);
  } catch (err) { showError(err); say(""); }
}

async function save() {
  showError(null);
  try {
    const text = view.state.doc.toString();
    // a decision table's new version saves its rows' versions together (POST /rules/tables)
    const isTable = /^tables:/m.test(text) || /^hit_policy:/m.test(text);
    const saved = await api(isTable ? "/rules/tables" : "/rules",
                            { method: "POST", body: { yaml: text } });
    const v = Array.isArray(saved) ? saved[0] : saved;
    setSelected({ rule_id: v.rule_id, version: v.version, status: v.status });
    $("editing").textContent = `${v.key}「${v.title}」· ${v.status}（已保存为草稿）`;
    say(`已保存 ${v.key}（草稿）。请查看影响评估后再启用。`);
    await loadList();
  } catch (err) {
    showError(err);
    if (err.status === 422) await validate(view.state.doc.toString()).catch(() => null);
  }
}

async function impact() {
  showError(null);
  say("正在最近的决策上重新运行…");
  try {
    const r = await api(`/rules/${encodeURIComponent(selected.rule_id)}/versions/${selected.version}`
                        + "/impact?last=5", { method: "POST" });
    impactId = r.id;
    renderImpact(r);
    $("activate").disabled = false;
    say(`影响评估 ${r.id}（${r.decisions.length} 个决策，${r.seconds} 秒）。`);
  } catch (err) { showError(err); say(""); }
}

function renderImpact(r) {
  const box = $("impact-report");
  box.replaceChildren();
  box.append(el("p", `报告 ${r.id}：${r.rule_key}，${r.at}，最近 ${r.decisions.length} 个决策`,
                { id: "impact-id", "data-report": r.id }));
  if (r.retires.length) box.append(el("p", `启用时将停用：${r.retires.join("、")}`, { class: "warn" }));
  const table = el("table", undefined, { id: "impact-counts" });
  const head = el("tr");
  for (const h of ["", "新增", "取消", "变化"]) head.append(el("th", h));
  table.append(head);
  for (const [kind, zh] of Object.entries(KIND_ZH)) {
    const c = r.counts[kind];
    const tr = el("tr", undefined, { "data-kind": kind });
    tr.append(el("th", zh), el("td", String(c.added)), el("td", String(c.removed)),
              el("td", String(c.changed)));
    table.append(tr);
  }
  box.append(table);
  const byRegion = new Map();
  for (const ch of r.changes) {
    const name = ch.region_name || ch.region_code;
    if (!byRegion.has(name)) byRegion.set(name, []);
    byRegion.get(name).push(ch);
  }
  const list = el("ul", undefined, { id: "impact-changes" });
  for (const [name, changes] of [...byRegion.entries()].sort()) {
    const li = el("li", undefined);
    li.append(el("strong", `${name}（${changes.length}）`));
    const inner = el("ul");
    for (const ch of changes.slice(0, 30)) {
      inner.append(el("li", `${CHANGE_ZH[ch.change]}${KIND_ZH[ch.kind]}：${ch.label}`
                            + (ch.fields ? `（${ch.fields.join("、")}）` : ""), { "data-change": ch.change }));
    }
    if (changes.length > 30) inner.append(el("li", `… 另 ${changes.length - 30} 项`, { class: "muted" }));
    li.append(inner);
    list.append(li);
  }
  box.append(list);
  for (const n of r.notes) box.append(el("p", n, { class: "muted" }));
}

async function activate() {
  showError(null);
  try {
    const v = await api(`/rules/${encodeURIComponent(selected.rule_id)}/versions/${selected.version}`
                        + "/activate", { method: "POST", body: { impact_report: impactId } });
    setSelected({ rule_id: v.rule_id, version: v.version, status: v.status });
    $("editing").textContent = `${v.key}「${v.title}」· ${v.status}`;
    say(`已启用 ${v.key}（依据影响评估 ${impactId || "—"}）。`);
    await loadList();
  } catch (err) { showError(err); }
}

async function start() {
  showError(null);
  $("board").hidden = true;
  $("who").textContent = "";
  if (!apiKey()) return;
  try {
    const me = await api("/me");
    $("who").textContent = `${me.name}（${me.roles.join("、")}）`;
    vocabulary = await api("/rules/vocabulary");
    if (!$("on").value) $("on").value = today();
    await loadList();
    $("board").hidden = false;
  } catch (err) { showError(err); }
}

window.addEventListener("DOMContentLoaded", () => {
  makeEditor();
  $("on").addEventListener("change", () => loadList().catch(showError));
  $("check").addEventListener("click", check);
  $("save").addEventListener("click", save);
  $("impact").addEventListener("click", impact);
  $("activate").addEventListener("click", activate);
  $("grid-add").addEventListener("click", addRow);
  $("grid-apply").addEventListener("click", applyGrid);
  keyForm(start);
});
