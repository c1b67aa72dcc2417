/* The workbench's language: Chinese unless the user asks for English — by the page's language
   menu (kept in localStorage), by ?lang=en in the address, or by a browser set to English.
   Elements carry data-i18n (text), data-i18n-placeholder and data-i18n-label (aria-label). */
"use strict";
const LANG_ITEM = "ecobrain.lang";

function userLang() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked === "en" || asked === "zh") return asked;
  const kept = localStorage.getItem(LANG_ITEM);
  if (kept === "en" || kept === "zh") return kept;
  return (navigator.language || "zh").toLowerCase().startsWith("en") ? "en" : "zh";
}

/** Put the page's words in `lang` from `words` ({key: {zh, en}}); returns t(key). */
function applyLang(words, lang) {
  const t = (key) => (words[key] && (words[key][lang] || words[key].zh)) || key;
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  for (const node of document.querySelectorAll("[data-i18n]")) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of document.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
  if (words.title) document.title = `${t("title")} · ${t("brand")}`;
  return t;
}

function setUserLang(lang) { localStorage.setItem(LANG_ITEM, lang); }

/** A word with {placeholders} filled in. */
function fillWords(t, key, vars) {
  return Object.entries(vars || {}).reduce((s, [k, v]) => s.split(`{${k}}`).join(v), t(key));
}
