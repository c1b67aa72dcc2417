/* The graph explorer for investigators: search with suggestions, a Cytoscape.js canvas of
   captioned nodes styled by kind, expansion with a kind filter, the shortest path between two
   picks, a node's properties in plain words, a task's evidence chain in one click, a map mode
   (graph-geo.js), deep links and saved scenes; its words and kinds are in graph-words.js. API: /graph/search, /graph/nodes/{id}/neighbourhood, /graph/paths, /graph/subgraph,
   /graph/nodes/{id}/plain, /graph/placed, /graph/counties, /tasks/{id}/evidence-chain,
   /scenes. */
"use strict";
const $ = (id) => document.getElementById(id);

let lang = "zh";
let t = (k) => k;
let cy = null;
let selected = null;
let pathEnds = { from: null, to: null };
let chainTask = null;
let mode = "graph";
let suggestTimer = null;

const fill = (key, vars) => fillWords(t, key, vars);
const serverKindNames = {};  // kind → its name as the API gave it (in the page's language)
const kindName = (kind) => (KIND_NAMES[kind] ? KIND_NAMES[kind][lang === "en" ? 1 : 0]
  : serverKindNames[kind] || kind);
function showError(err) {
  $("error").textContent = err ? `${t("errorPrefix")}${err.message}` : "";
}

function makeCanvas() {
  cy = cytoscape({
    container: $("cy"),
    minZoom: 0.05, maxZoom: 4, wheelSensitivity: 0.3,
    // while the view pans or zooms, Cytoscape moves a cached picture of the graph instead of
    // drawing every node again: what keeps 2,000 nodes smooth in software rendering
    textureOnViewport: true, hideEdgesOnViewport: false, motionBlur: false, pixelRatio: 1,
    style: [
      { selector: "node", style: {
        "background-color": (n) => COLOURS[n.data("kind")] || "#95a5a6",
        label: "data(label)", "font-size": 11, color: "#1b1f24", "text-valign": "bottom",
        "text-margin-y": 3, "text-wrap": "ellipsis", "text-max-width": 140,
        "min-zoomed-font-size": 8, width: 18, height: 18,
        "text-background-color": "#fff", "text-background-opacity": 0.7,
        "text-background-padding": 1 } },
      { selector: "node[kind = 'Task']", style: { shape: "diamond", width: 22, height: 22 } },
      { selector: "node[kind = 'Article']", style: { shape: "round-rectangle" } },
      { selector: "node[kind = 'Rule']", style: { shape: "hexagon" } },
      { selector: "node[kind = 'GridCell']", style: { shape: "square" } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#f0a500" } },
      { selector: "node.path", style: { "border-width": 4, "border-color": "#000" } },
      { selector: "edge", style: {
        width: 1.2, "line-color": "#9aa5b1", "target-arrow-color": "#9aa5b1",
        "target-arrow-shape": "triangle", "curve-style": "haystack", "arrow-scale": 0.7 } },
      { selector: "edge.path", style: { width: 4, "line-color": "#000",
                                        "target-arrow-color": "#000", "z-index": 10 } },
    ],
  });
  cy.on("tap", "node", (e) => select(e.target.id()));
  cy.on("dbltap", "node", (e) => expand(e.target.id()).catch(showError));
  cy.on("dragfree free", "node", () => writeLink());
}

function status(extra = "") {
  $("status").textContent = fill("status", { n: cy.nodes().length, r: cy.edges().length })
    + extra;
}

/** Add nodes (subgraph answer) near `around` (a node id or a point), and their edges. */
function addToScene(graph, around, positions) {
  const centre = positions ? null
    : (around && cy.getElementById(around).nonempty() ? cy.getElementById(around).position()
      : { x: 0, y: 0 });
  for (const n of graph.nodes) serverKindNames[n.kind] = n.kind_name;
  const fresh = graph.nodes.filter((n) => cy.getElementById(n.id).empty());
  const radius = 80 + 6 * fresh.length;
  cy.batch(() => {
    fresh.forEach((n, i) => {
      const angle = (2 * Math.PI * i) / Math.max(1, fresh.length);
      const position = positions && positions[n.id]
        ? { x: positions[n.id][0], y: positions[n.id][1] }
        : centre && { x: centre.x + radius * Math.cos(angle),
                      y: centre.y + radius * Math.sin(angle) };
      cy.add({ group: "nodes", data: { id: n.id, label: n.caption, kind: n.kind,
                                       kindName: n.kind_name, placed: n.placed },
               position: position || { x: 0, y: 0 } });
    });
    for (const r of graph.relationships) {
      const id = `${r.source}|${r.type}|${r.target}`;
      if (cy.getElementById(id).empty() && cy.getElementById(r.source).nonempty()
          && cy.getElementById(r.target).nonempty()) {
        cy.add({ group: "edges", data: { id, source: r.source, target: r.target, type: r.type } });
      }
    }
  });
  if (graph.missing && graph.missing.length) {
    showError(new Error(fill("missing", { n: graph.missing.length,
                                          ids: graph.missing.slice(0, 5).join("、") })));
  }
  return fresh.length;
}

async function subgraph(ids) {
  return api("/graph/subgraph", { method: "POST", body: { ids, lang } });
}

/** Bring ids into the scene (captions and every relationship among all nodes shown). */
async function bring(ids, around, positions) {
  const all = [...new Set([...cy.nodes().map((n) => n.id()), ...ids])];
  const graph = await subgraph(all);
  const added = addToScene(graph, around, positions);
  renderKinds();
  renderNodeList();
  status();
  writeLink();
  if (mode === "map") await drawGeo();
  return added;
}

function layout(name) {
  const big = cy.nodes().length > BIG;
  cy.layout({ name: big ? "grid" : (name || "cose"), animate: false, fit: true, padding: 30,
              nodeRepulsion: () => 8000, idealEdgeLength: () => 90, randomize: false })
    .run();
}

async function expand(id) {
  const kind = $("expand-kind").value;
  const q = new URLSearchParams({ limit: 200 });
  if (kind) q.set("label", kind);
  const hood = await api(`/graph/nodes/${encodeURIComponent(id)}/neighbourhood?${q}`);
  await bring(hood.nodes.map((n) => n.id), id);
  if (hood.truncated) status(fill("truncated", { n: hood.limit }));
  cy.fit(cy.getElementById(id).closedNeighborhood(), 40);
}

async function select(id) {
  selected = id;
  cy.nodes(":selected").unselect();
  const node = cy.getElementById(id);
  node.select();
  const p = await api(`/graph/nodes/${encodeURIComponent(id)}/plain?lang=${lang}`);
  $("props-empty").hidden = true;
  $("props-body").hidden = false;
  $("p-kind").textContent = p.kind_name;
  // the kind's colour marks the badge's border; its text stays ink (contrast)
  $("p-kind").style.borderColor = COLOURS[p.kind] || "#4a5360";
  $("p-kind").style.borderLeftWidth = "6px";
  $("p-caption").textContent = p.caption;
  $("p-text").hidden = !p.text;
  $("p-text").textContent = p.text || "";
  $("p-rows").replaceChildren(...p.rows.flatMap((r) => [el("dt", r.name), el("dd", r.value)]));
  $("p-legend").replaceChildren(...p.legend.flatMap((l) => [el("dt", l.code),
                                                             el("dd", l.meaning)]));
  $("p-legend-title").hidden = !p.legend.length;
  $("chain").hidden = p.kind !== "Task";
  writeLink();
  return p;
}

/** One click: the task's evidence chain, laid out in reading order, articles with their text. */
async function evidenceChain(taskId) {
  const chain = await api(`/tasks/${encodeURIComponent(taskId)}/evidence-chain`);
  chainTask = taskId;
  await bring(chain.nodes.map((n) => n.id), taskId);
  // one column per step present, in reading order (steps the chain lacks take no room)
  const columns = new Map();
  for (const n of chain.nodes) {
    const node = cy.getElementById(n.id);
    const step = CHAIN.indexOf(node.data("kind"));
    const col = step < 0 ? CHAIN.length : step;
    if (!columns.has(col)) columns.set(col, []);
    columns.get(col).push(node);
  }
  const origin = cy.getElementById(taskId).position();
  cy.batch(() => {
    [...columns.keys()].sort((a, b) => a - b).forEach((col, x) => {
      const nodes = columns.get(col);
      nodes.forEach((node, i) => node.position({
        x: origin.x + 170 * x, y: origin.y + 50 * (i - (nodes.length - 1) / 2) }));
    });
  });
  cy.fit(cy.collection(chain.nodes.map((n) => cy.getElementById(n.id))), 30);
  await renderChain(chain);
  writeLink();
  $("chain-panel").scrollIntoView({ block: "nearest" });
}

async function renderChain(chain) {
  const byKind = new Map();
  for (const n of chain.nodes) {
    const kind = cy.getElementById(n.id).data("kind") || n.labels[0];
    if (!byKind.has(kind)) byKind.set(kind, []);
    byKind.get(kind).push(n.id);
  }
  const order = [...byKind.keys()].sort((a, b) => (CHAIN.indexOf(a) + 99) % 99
    - (CHAIN.indexOf(b) + 99) % 99);
  const articles = await Promise.all((byKind.get("Article") || []).map((id) =>
    api(`/graph/nodes/${encodeURIComponent(id)}/plain?lang=${lang}`)));
  const items = order.map((kind) => {
    const ids = byKind.get(kind);
    const li = el("li");
    li.append(el("strong", fill("chainStep", { kind: kindName(kind), n: ids.length })));
    if (kind === "Article") {
      for (const a of articles) {
        const block = el("div", null, { class: "article", "data-article": a.id });
        block.append(el("p", a.caption), el("blockquote", a.text || "—"));
        li.append(block);
      }
    } else {
      const list = el("ul");
      for (const id of ids.slice(0, 12)) {
        const button = el("button", cy.getElementById(id).data("label") || id,
                          { type: "button", class: "link", "data-node": id });
        button.addEventListener("click", () => select(id).catch(showError));
        list.append(el("li").appendChild(button).parentNode);
      }
      if (ids.length > 12) list.append(el("li", `… +${ids.length - 12}`, { class: "muted" }));
      li.append(list);
    }
    return li;
  });
  $("chain-steps").replaceChildren(...items);
  $("chain-panel").hidden = false;
}

async function findPath() {
  const { from, to } = pathEnds;
  const depth = 8;
  const found = await api(`/graph/paths?${new URLSearchParams({ from, to, max_depth: depth })}`);
  cy.elements(".path").removeClass("path");
  if (!found.length) { $("path-result").textContent = fill("noPath", { d: depth }); return; }
  const path = found[0];
  await bring(path.nodes.map((n) => n.id), from);
  const names = path.nodes.map((n) => cy.getElementById(n.id).data("label") || n.id);
  $("path-result").textContent = fill("pathFound", { n: path.length })
    + names.map((name, i) => (i ? ` —${path.relationships[i - 1]}— ` : "") + name).join("");
  path.nodes.forEach((n, i) => {
    const node = cy.getElementById(n.id);
    node.addClass("path");
    if (i) {
      const prev = path.nodes[i - 1].id;
      node.edgesWith(cy.getElementById(prev)).addClass("path");
    }
  });
  cy.fit(cy.nodes(".path"), 40);
  writeLink();
}

function pickEnd(which) {
  pathEnds[which] = selected;
  $(`path-${which}`).textContent = cy.getElementById(selected).data("label") || selected;
  $("find-path").disabled = !(pathEnds.from && pathEnds.to);
  writeLink();
}

function renderKinds() {
  const present = new Set(cy.nodes().map((n) => n.data("kind")));
  $("kinds").replaceChildren(...[...present].sort().map((kind) => {
    const li = el("li", `${kindName(kind)}（${cy.nodes(`[kind = '${kind}']`).length}）`);
    li.style.setProperty("--swatch", COLOURS[kind] || "#95a5a6");
    return li;
  }));
}

function renderNodeList() {
  const nodes = cy.nodes().slice(0, 300);
  $("node-list").replaceChildren(...nodes.map((n) => {
    const button = el("button", `${kindName(n.data("kind"))}：${n.data("label")}`,
                      { type: "button", class: "link", "data-node": n.id() });
    button.addEventListener("click", () => select(n.id()).catch(showError));
    button.addEventListener("keydown", (e) => {
      if (e.key === "+" || e.key === "e") { e.preventDefault(); expand(n.id()).catch(showError); }
    });
    return el("li").appendChild(button).parentNode;
  }));
}

async function setMode(next) {
  mode = next;
  $("cy").hidden = mode !== "graph";
  $("geo").hidden = mode !== "map";
  $("mode-graph").setAttribute("aria-pressed", String(mode === "graph"));
  $("mode-map").setAttribute("aria-pressed", String(mode === "map"));
  $("mode-graph").className = mode === "graph" ? "" : "secondary";
  $("mode-map").className = mode === "map" ? "" : "secondary";
  if (mode === "map") {
    await drawGeo();
    geo.invalidateSize();
  } else {
    cy.resize();
  }
  writeLink();
}

// -- search ---------------------------------------------------------------------------------

async function suggest() {
  const q = $("search").value.trim();
  if (!q) { hideSuggestions(); return; }
  const params = new URLSearchParams({ q, limit: 12 });
  if (/^task-/i.test(q)) params.set("label", "Task");
  const hits = await api(`/graph/search?${params}`);
  const box = $("suggestions");
  box.replaceChildren(...hits.map((h, i) => {
    const kind = KINDS.find((k) => h.labels.includes(k)) || h.labels[0];
    const li = el("li", null, { role: "option", id: `sugg-${i}`, "data-id": h.id,
                                "aria-selected": "false", tabindex: "-1" });
    li.append(el("strong", h.name), el("span", ` · ${kindName(kind)} · ${h.id}`,
                                       { class: "muted" }));
    li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(h.id); });
    return li;
  }));
  box.hidden = !hits.length;
  $("search").setAttribute("aria-expanded", String(!!hits.length));
}

function hideSuggestions() {
  $("suggestions").hidden = true;
  $("search").setAttribute("aria-expanded", "false");
  $("search").removeAttribute("aria-activedescendant");
}

async function choose(id) {
  hideSuggestions();
  $("search").value = "";
  await bring([id], null);
  if (cy.nodes().length === 1) cy.center(cy.getElementById(id));
  cy.fit(cy.nodes(), 60);
  await select(id);
}

function searchKeys(e) {
  const options = [...$("suggestions").querySelectorAll("[role=option]")];
  if (!options.length || $("suggestions").hidden) return;
  let i = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    if (i >= 0) options[i].setAttribute("aria-selected", "false");
    i = e.key === "ArrowDown" ? (i + 1) % options.length : (i - 1 + options.length) % options.length;
    options[i].setAttribute("aria-selected", "true");
    $("search").setAttribute("aria-activedescendant", options[i].id);
  } else if (e.key === "Enter") {
    e.preventDefault();
    choose(options[Math.max(0, i)].dataset.id).catch(showError);
  } else if (e.key === "Escape") {
    hideSuggestions();
  }
}

// -- deep links and saved scenes ------------------------------------------------------------

function sceneState(withPositions) {
  const state = { nodes: cy.nodes().map((n) => n.id()), sel: selected, mode,
                  from: pathEnds.from, to: pathEnds.to, chain: chainTask };
  if (withPositions) {
    state.positions = Object.fromEntries(cy.nodes().map((n) => {
      const p = n.position();
      return [n.id(), [Math.round(p.x), Math.round(p.y)]];
    }));
  }
  return state;
}

function writeLink() {
  const s = sceneState(false);
  const q = new URLSearchParams();
  if (s.nodes.length) q.set("n", s.nodes.join("~"));
  for (const k of ["sel", "from", "to", "chain"]) if (s[k]) q.set(k, s[k]);
  if (mode !== "graph") q.set("mode", mode);
  history.replaceState(null, "", `${location.pathname}${location.search}#${q}`);
}

function readLink() {
  const q = new URLSearchParams(location.hash.slice(1));
  return { nodes: (q.get("n") || "").split("~").filter(Boolean), sel: q.get("sel"),
           mode: q.get("mode") || "graph", from: q.get("from"), to: q.get("to"),
           chain: q.get("chain") };
}

async function restore(state) {
  cy.elements().remove();
  selected = null;
  pathEnds = { from: null, to: null };
  chainTask = null;
  $("chain-panel").hidden = true;
  $("path-result").textContent = "";
  if (state.nodes.length) {
    await bring(state.nodes, null, state.positions || null);
    if (!state.positions) layout();
    else cy.fit(cy.nodes(), 30);
  }
  for (const which of ["from", "to"]) {
    if (state[which]) { selected = state[which]; pickEnd(which); }
  }
  if (state.chain) await evidenceChain(state.chain);
  if (state.from && state.to) await findPath();
  if (state.sel && cy.getElementById(state.sel).nonempty()) await select(state.sel);
  await setMode(state.mode === "map" ? "map" : "graph");
  status();
}

async function loadSceneList() {
  const scenes = await api("/scenes");
  $("scenes").replaceChildren(...(scenes.length
    ? scenes.map((s) => el("option", `${s.name}（${s.nodes}）`, { value: s.name }))
    : [el("option", t("noScenes"), { value: "" })]));
}

async function saveScene() {
  const name = $("scene-name").value.trim();
  if (!name) { $("scene-name").focus(); return; }
  await api(`/scenes/${encodeURIComponent(name)}`, { method: "PUT",
                                                     body: { state: sceneState(true) } });
  await loadSceneList();
  $("scenes").value = name;
  status(` · ${fill("saved", { name })}`);
}

async function openScene() {
  const name = $("scenes").value;
  if (!name) return;
  const scene = await api(`/scenes/${encodeURIComponent(name)}`);
  await restore({ nodes: [], ...scene.state });
}

// -- start ----------------------------------------------------------------------------------

function fillKinds() {
  const current = $("expand-kind").value;
  $("expand-kind").replaceChildren(el("option", t("allKinds"), { value: "" }),
    ...KINDS.map((k) => el("option", kindName(k), { value: k })));
  $("expand-kind").value = current;
}

function setLang(next) {
  lang = next;
  t = applyLang(WORDS, lang);
  $("lang").value = lang;
  fillKinds();
  if (cy) { renderKinds(); renderNodeList(); status(); }
}

async function start() {
  showError(null);
  $("content").hidden = true;
  $("who").textContent = "";
  if (!apiKey()) return;
  try {
    const me = await api("/me");
    $("who").textContent = me.name;
    $("content").hidden = false;
    if (!cy) makeCanvas();
    cy.resize();
    await loadSceneList();
    await restore(readLink());
  } catch (err) { showError(err); }
}

function on(id, event, handler) {
  $(id).addEventListener(event, (e) => {
    showError(null);
    Promise.resolve(handler(e)).catch(showError);
  });
}

setLang(userLang());
on("lang", "change", () => { setUserLang($("lang").value); setLang($("lang").value); });
on("search", "input", () => {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(() => suggest().catch(showError), 150);
});
$("search").addEventListener("keydown", searchKeys);
$("search").addEventListener("blur", () => setTimeout(hideSuggestions, 150));
on("expand", "click", () => expand(selected));
on("chain", "click", () => evidenceChain(selected));
on("set-from", "click", () => pickEnd("from"));
on("set-to", "click", () => pickEnd("to"));
on("find-path", "click", findPath);
on("mode-graph", "click", () => setMode("graph"));
on("mode-map", "click", () => setMode("map"));
on("save-scene", "click", saveScene);
on("open-scene", "click", openScene);
on("clear", "click", () => restore({ nodes: [] }));
on("copy-link", "click", async () => {
  writeLink();
  if (navigator.clipboard) await navigator.clipboard.writeText(location.href).catch(() => null);
  status(` · ${t("copied")}`);
});
keyForm(start);
// for the browser tests and benchmarks/bench_workbench.py: the canvas and scene restoring
window.explorer = { get cy() { return cy; }, get geo() { return geo; }, bring, layout, restore };
