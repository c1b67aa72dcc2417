/* The bureaus' task board: the tasks of the key's regions in one decision, filtered by status;
   a task's requirements, deadline, legal grounds and history; reporting the next step.
   Only existing API routes: /me, /decisions, /decisions/{id}/tasks, /tasks/{id},
   /tasks/{id}/history, PATCH /tasks/{id}/status. */
"use strict";
const NEXT = { issued: "received", received: "in_progress", in_progress: "done" };
const NEXT_VERB = { received: "确认接收", in_progress: "开始办理", done: "报告办结" };
const SHOWN_AS = { in_force: "现行有效", history: "原依据（已失效，供参考）",
                   missing: "无现行有效依据，需法务审查" };
const PAGE = 500;  // the API's largest page; a county has far fewer tasks per decision
const $ = (id) => document.getElementById(id);
let me = null;
let tasks = [];
let current = null;

function showError(err) { $("error").textContent = err ? `出错了：${err.message}` : ""; }

function today() { return new Date().toISOString().slice(0, 10); }

function deadlineText(task) {
  if (!task.deadline) return "未规定";
  const late = task.status !== "done" && task.deadline < today();
  return late ? `${task.deadline}（已逾期）` : task.deadline;
}

async function start() {
  showError(null);
  $("filters").hidden = true;
  $("board").hidden = true;
  $("who").textContent = "";
  if (!apiKey()) return;
  try {
    me = await api("/me");
    const scope = me.regions.length ? `辖区 ${me.regions.join("、")}` : "全省";
    $("who").textContent = `${me.name}（${scope}）`;
    const page = await api("/decisions?limit=20");
    const select = $("decision");
    select.replaceChildren(...page.items.map((d) => el("option",
      `${d.decision_date} · ${d.run_id}（${d.tasks} 项任务）`, { value: d.id })));
    const wanted = new URLSearchParams(location.search).get("decision");
    if (wanted && page.items.some((d) => d.id === wanted)) select.value = wanted;
    $("filters").hidden = false;
    $("board").hidden = false;
    if (!page.items.length) { $("count").textContent = "尚无决策。"; return; }
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
    ? `共 ${total} 项，显示前 ${tasks.length} 项` : `共 ${tasks.length} 项`;
  renderList();
}

function renderList() {
  const items = tasks.map((t) => {
    const button = el("button", null, { type: "button", "data-task": t.id });
    if (current && current.id === t.id) button.setAttribute("aria-current", "true");
    button.append(el("span", STATUS_ZH[t.status] || t.status, { class: `badge s-${t.status}` }),
                  el("strong", t.subject.name || t.subject.id), el("br"),
                  el("span", `${t.region_name || t.region_code} · 时限 ${deadlineText(t)}`
                    + ` · 优先级 ${t.priority}`, { class: "muted" }));
    button.addEventListener("click", () => openTask(t.id));
    return el("li").appendChild(button).parentNode;
  });
  $("tasks").replaceChildren(...items);
  if (!items.length) $("tasks").append(el("li", "没有符合条件的任务。", { class: "muted" }));
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
  badge.textContent = STATUS_ZH[task.status] || task.status;
  badge.className = `badge s-${task.status}`;
  $("d-subject").textContent = task.subject.name || task.subject.id;
  $("d-region").textContent = `${task.region_name || ""}（${task.region_code}）`;
  $("d-deadline").textContent = deadlineText(task);
  $("d-deadline").className = deadlineText(task).includes("逾期") ? "overdue" : "";
  $("d-priority").textContent = String(task.priority);
  $("d-id").textContent = task.id;
  $("d-actions").replaceChildren(...task.actions.map((a) => el("li", a)));
  const legal = task.legal_texts.map((g) => {
    const block = el("div");
    block.append(el("strong", g.citation || g.citation_id || "（未注明）"),
                 el("span", ` ${SHOWN_AS[g.shown_as] || ""}`, { class: "muted" }),
                 el("blockquote", g.text || "（条文内容缺失）"));
    return block;
  });
  $("d-legal").replaceChildren(...(legal.length ? legal : [el("p", "无", { class: "muted" })]));
  const next = NEXT[task.status];
  $("step-fields").hidden = !next;
  $("step-none").hidden = !!next;
  $("step-none").textContent = task.status === "done" ? "任务已办结。"
    : "该任务尚未下发（待审核或暂缓下发），暂不能反馈。";
  if (next) {
    $("step").textContent = `${NEXT_VERB[next]}（→ ${STATUS_ZH[next]}）`;
    $("step").dataset.next = next;
  }
  $("d-history").replaceChildren(...history.map((h) => el("li",
    `${new Date(h.at).toLocaleString("zh-CN", { hour12: false })} ${h.by}：${STATUS_ZH[h.from] || h.from} → `
    + `${STATUS_ZH[h.to] || h.to}${h.note ? `；${h.note}` : ""}`)));
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
keyForm(() => { current = null; $("detail-empty").hidden = false; $("detail-body").hidden = true;
                return start(); });
