/* The bureaus' task board: the tasks of the key's regions in one decision, filtered by status;
   a task's requirements, deadline, legal grounds and history; reporting the next step.
   Only existing API routes: /me, /decisions, /decisions/{id}/tasks, /tasks/{id},
   /tasks/{id}/history, PATCH /tasks/{id}/status. */
"use strict";
const NEXT = { issued: "received", received: "in_progress", in_progress: "done" };
const WORDS = {
  brand: { zh: "生态环境大脑", en: "ecobrain" },
  title: { zh: "任务看板", en: "Task board" },
  language: { zh: "界面语言", en: "Language" },
  home: { zh: "工作台首页", en: "Workbench home" },
  apiKey: { zh: "API 密钥", en: "API key" },
  useKey: { zh: "使用此密钥", en: "Use this key" },
  forgetKey: { zh: "清除密钥", en: "Forget the key" },
  keyHelp: { zh: "密钥只保存在本浏览器标签页中（关闭即清除）。",
             en: "The key is kept in this browser tab only (gone when it closes)." },
  filters: { zh: "筛选", en: "Filters" },
  decision: { zh: "决策", en: "Decision" },
  status: { zh: "状态", en: "Status" },
  all: { zh: "全部", en: "all" },
  optIssued: { zh: "已下发（待接收）", en: "issued (to receive)" },
  optReceived: { zh: "已接收", en: "received" },
  optInProgress: { zh: "办理中", en: "in progress" },
  optDone: { zh: "已办结", en: "done" },
  optHeld: { zh: "暂缓下发", en: "held back" },
  optDraft: { zh: "待审核", en: "awaiting review" },
  listTitle: { zh: "本辖区任务", en: "Tasks of your regions" },
  detailTitle: { zh: "任务详情", en: "Task" },
  detailEmpty: { zh: "在左侧选择一项任务。", en: "Choose a task from the list." },
  region: { zh: "辖区", en: "Region" },
  deadline: { zh: "完成时限", en: "Deadline" },
  priority: { zh: "优先级", en: "Priority" },
  taskId: { zh: "任务编号", en: "Task id" },
  actions: { zh: "工作要求", en: "What to do" },
  legal: { zh: "法律依据", en: "Legal grounds" },
  report: { zh: "办理反馈", en: "Report" },
  note: { zh: "情况说明", en: "Note" },
  history: { zh: "办理记录", en: "History" },
  verb_received: { zh: "确认接收", en: "Confirm receipt" },
  verb_in_progress: { zh: "开始办理", en: "Start work" },
  verb_done: { zh: "报告办结", en: "Report done" },
  shown_in_force: { zh: "现行有效", en: "in force" },
  shown_history: { zh: "原依据（已失效，供参考）", en: "former ground (no longer in force)" },
  shown_missing: { zh: "无现行有效依据，需法务审查", en: "no ground in force: legal review" },
  errorPrefix: { zh: "出错了：", en: "Error: " },
  notSet: { zh: "未规定", en: "none" },
  overdue: { zh: "{d}（已逾期）", en: "{d} (overdue)" },
  scope: { zh: "辖区 {r}", en: "regions {r}" },
  province: { zh: "全省", en: "whole province" },
  decisionOption: { zh: "{date} · {run}（{n} 项任务）", en: "{date} · {run} ({n} tasks)" },
  noDecision: { zh: "尚无决策。", en: "No decision yet." },
  countSome: { zh: "共 {total} 项，显示前 {n} 项", en: "{total} tasks, first {n} shown" },
  countAll: { zh: "共 {n} 项", en: "{n} tasks" },
  line: { zh: "{region} · 时限 {deadline} · 优先级 {p}",
          en: "{region} · deadline {deadline} · priority {p}" },
  noTasks: { zh: "没有符合条件的任务。", en: "No task matches." },
  unnamed: { zh: "（未注明）", en: "(not named)" },
  noText: { zh: "（条文内容缺失）", en: "(text missing)" },
  none: { zh: "无", en: "none" },
  isDone: { zh: "任务已办结。", en: "The task is done." },
  notIssued: { zh: "该任务尚未下发（待审核或暂缓下发），暂不能反馈。",
               en: "The task is not issued yet (awaiting review or held back)." },
};
let lang = "zh";
let t = (k) => k;
const fill = (key, vars) => fillWords(t, key, vars);
const statusName = (s) => ((lang === "en" ? STATUS_EN : STATUS_ZH)[s] || s);
const PAGE = 500;  // the API's largest page; a county has far fewer tasks per decision
const $ = (id) => document.getElementById(id);
let me = null;
let tasks = [];
let current = null;

function showError(err) { $("error").textContent = err ? `${t("errorPrefix")}${err.message}` : ""; }

function today() { return new Date().toISOString().slice(0, 10); }

function deadlineText(task) {
  if (!task.deadline) return t("notSet");
  const late = task.status !== "done" && task.deadline < today();
  return late ? fill("overdue", { d: task.deadline }) : task.deadline;
}

async function start() {
  showError(null);
  $("filters").hidden = true;
  $("board").hidden = true;
  $("who").textContent = "";
  if (!apiKey()) return;
  try {
    me = await api("/me");
    const scope = me.regions.length ? fill("scope", { r: me.regions.join("、") }) : t("province");
    $("who").textContent = `${me.name}（${scope}）`;
    const page = await api("/decisions?limit=20");
    const select = $("decision");
    select.replaceChildren(...page.items.map((d) => el("option",
      fill("decisionOption", { date: d.decision_date, run: d.run_id, n: d.tasks }),
      { value: d.id })));
    const wanted = new URLSearchParams(location.search).get("decision");
    if (wanted && page.items.some((d) => d.id === wanted)) select.value = wanted;
    $("filters").hidden = false;
    $("board").hidden = false;
    if (!page.items.length) { $("count").textContent = t("noDecision"); return; }
    await loadTasks();
    // a link to one task (?task=…): opened if the key may read it, else the API's refusal
    const linked = new URLSearchParams(location.search).get("task");
    if (linked) await openTask(linked);
  } catch (err) { showError(err); }
}

async function loadTasks() {
  const decision = $("decision").value;
  const status = $("status").value;
  const regions = me.regions.length ? me.regions : [null];
  const pages = await Promise.all(regions.map((region) => {
    const q = new URLSearchParams({ limit: PAGE });
    if (region) q.set("region", region);
    if (status) q.set("status", status);
    return api(`/decisions/${encodeURIComponent(decision)}/tasks?${q}`);
  }));
  const byId = new Map();
  for (const p of pages) for (const t of p.items) byId.set(t.id, t);
  tasks = [...byId.values()].sort((a, b) => b.priority - a.priority
    || (a.deadline || "").localeCompare(b.deadline || "") || a.id.localeCompare(b.id));
  const total = pages.reduce((n, p) => n + p.total, 0);
  $("count").textContent = total > tasks.length
    ? fill("countSome", { total, n: tasks.length }) : fill("countAll", { n: tasks.length });
  renderList();
}

function renderList() {
  const items = tasks.map((t) => {
    const button = el("button", null, { type: "button", "data-task": t.id });
    if (current && current.id === t.id) button.setAttribute("aria-current", "true");
    button.append(el("span", statusName(t.status), { class: `badge s-${t.status}` }),
                  el("strong", t.subject.name || t.subject.id), el("br"),
                  el("span", fill("line", { region: t.region_name || t.region_code,
                                            deadline: deadlineText(t), p: t.priority }),
                     { class: "muted" }));
    button.addEventListener("click", () => openTask(t.id));
    return el("li").appendChild(button).parentNode;
  });
  $("tasks").replaceChildren(...items);
  if (!items.length) $("tasks").append(el("li", t("noTasks"), { class: "muted" }));
}

async function openTask(id) {
  showError(null);
  current = null;
  $("detail-empty").hidden = false;
  $("detail-body").hidden = true;
  try {
    const [task, history] = await Promise.all([
      api(`/tasks/${encodeURIComponent(id)}?explain=false`),
      api(`/tasks/${encodeURIComponent(id)}/history`)]);
    current = task;
    renderDetail(task, history);
    renderList();
    $("detail").focus();
  } catch (err) { showError(err); }
}

function renderDetail(task, history) {
  $("detail-empty").hidden = true;
  $("detail-body").hidden = false;
  const badge = $("d-status");
  badge.textContent = statusName(task.status);
  badge.className = `badge s-${task.status}`;
  $("d-subject").textContent = task.subject.name || task.subject.id;
  $("d-region").textContent = `${task.region_name || ""}（${task.region_code}）`;
  $("d-deadline").textContent = deadlineText(task);
  $("d-deadline").className = task.deadline && task.status !== "done"
    && task.deadline < today() ? "overdue" : "";
  $("d-priority").textContent = String(task.priority);
  $("d-id").textContent = task.id;
  $("d-actions").replaceChildren(...task.actions.map((a) => el("li", a)));
  const legal = task.legal_texts.map((g) => {
    const block = el("div");
    block.append(el("strong", g.citation || g.citation_id || t("unnamed")),
                 el("span", g.shown_as ? ` ${t(`shown_${g.shown_as}`)}` : "",
                    { class: "muted" }),
                 el("blockquote", g.text || t("noText")));
    return block;
  });
  $("d-legal").replaceChildren(...(legal.length ? legal
    : [el("p", t("none"), { class: "muted" })]));
  const next = NEXT[task.status];
  $("step-fields").hidden = !next;
  $("step-none").hidden = !!next;
  $("step-none").textContent = task.status === "done" ? t("isDone") : t("notIssued");
  if (next) {
    $("step").textContent = lang === "en" ? `${t(`verb_${next}`)} (→ ${statusName(next)})`
      : `${t(`verb_${next}`)}（→ ${statusName(next)}）`;
    $("step").dataset.next = next;
  }
  $("d-history").replaceChildren(...history.map((h) => el("li",
    `${new Date(h.at).toLocaleString(lang === "en" ? "en-GB" : "zh-CN", { hour12: false })} `
    + `${h.by}${lang === "en" ? ": " : "："}${statusName(h.from)} → ${statusName(h.to)}`
    + `${h.note ? (lang === "en" ? `; ${h.note}` : `；${h.note}`) : ""}`)));
}

async function reportStep(event) {
  event.preventDefault();
  if (!current) return;
  const button = $("step");
  button.disabled = true;
  showError(null);
  try {
    await api(`/tasks/${encodeURIComponent(current.id)}/status`, {
      method: "PATCH", body: { status: button.dataset.next, note: $("note").value.trim() } });
    $("note").value = "";
    const id = current.id;
    await loadTasks();
    await openTask(id);
  } catch (err) { showError(err); } finally { button.disabled = false; }
}

$("decision").addEventListener("change", () => loadTasks().catch(showError));
$("status").addEventListener("change", () => loadTasks().catch(showError));
$("step-form").addEventListener("submit", reportStep);
function setLang(next) {
  lang = next;
  t = applyLang(WORDS, lang);
  $("lang").value = lang;
}

setLang(userLang());
$("lang").addEventListener("change", () => {
  setUserLang($("lang").value);
  setLang($("lang").value);
  if (apiKey()) start();
});
keyForm(() => { current = null; $("detail-empty").hidden = false; $("detail-body").hidden = true;
                return start(); });
