/* The workbench's calls to the ecobrain API: the key from this tab's sessionStorage goes in
   X-API-Key; an error answer becomes an Error with the API's readable message. */
"use strict";
const KEY_ITEM = "ecobrain.apiKey";
const STATUS_ZH = { draft: "待审核", held: "暂缓下发", issued: "已下发", received: "已接收",
                    in_progress: "办理中", done: "已办结" };
const STATUS_EN = { draft: "awaiting review", held: "held back", issued: "issued",
                    received: "received", in_progress: "in progress", done: "done" };

function apiKey() { return sessionStorage.getItem(KEY_ITEM) || ""; }
function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_ITEM, key); else sessionStorage.removeItem(KEY_ITEM);
}

async function api(path, options = {}) {
  const headers = { "X-API-Key": apiKey(), ...(options.headers || {}) };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    ...options, headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!response.ok) {
    const message = (data && data.message) || text || response.statusText;
    const err = new Error(`${response.status}：${message}`);
    err.status = response.status;
    throw err;
  }
  return data;
}

/** An element with text (never HTML: API text is shown as written). */
function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

/** Wires the page's key form (#key-form, #key, #forget): the key is kept in this tab's
    sessionStorage; `start` runs on load and whenever the key changes. */
function keyForm(start) {
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("key");
    setApiKey(input.value.trim());
    input.value = "";
    start();
  });
  document.getElementById("forget").addEventListener("click", () => { setApiKey(""); start(); });
  start();
}
