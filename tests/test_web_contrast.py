"""Contrast audit of the workbench's pages as chromium draws them: every element that shows
text, its computed colour against the background it sits on (the first ancestor with an
opaque background), must reach WCAG 2.1 AA — 4.5:1, or 3:1 for large text (24 px, or 18.66 px
bold). Pages are signed in, so the text audited is the text users read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kb_fixture import Decided
from web_helpers import LiveServer, browser_page, live_server, skip_without_browser

AUDIT_JS = """() => {
  const rgb = (s) => { const m = s.match(/[\\d.]+/g) || []; return m.map(Number); };
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad = [];
  let checked = 0;
  for (const node of document.querySelectorAll('body *')) {
    if (node.closest('[hidden], .visually-hidden, svg, canvas, .leaflet-container, #cy')) continue;
    const own = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
    if (!own || !node.getClientRects().length) continue;
    const style = getComputedStyle(node);
    if (style.visibility === 'hidden' || style.opacity === '0') continue;
    const fg = rgb(style.color).slice(0, 3);
    const bg = background(node);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    checked += 1;
    if (ratio < (large ? 3 : 4.5)) {
      bad.push(`${node.tagName}#${node.id}.${node.className} "${node.textContent.trim()
        .slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
  }
  return { checked, bad };
}"""


@pytest.fixture
def server(module_decided: Decided, tmp_path: Path) -> Iterator[LiveServer]:
    skip_without_browser()
    with live_server(module_decided.store, tmp_path) as s:
        s.keys["county"] = s.key_store.create("sc-bureau", ["commander"], ["330102"])
        yield s


@pytest.mark.parametrize("path,role,ready", [
    ("/ui", None, "h1"),
    ("/ui/map", "commander", "#alerts li"),
    ("/ui/tasks", "county", "#tasks button[data-task]"),
    ("/ui/graph#n=330100~cn.air-law.2018.art96&sel=cn.air-law.2018.art96", "investigator",
     "#props-body:not([hidden])"),
])
def test_every_text_on_the_pages_meets_wcag_aa_contrast(server: LiveServer, path: str,
                                                        role: str | None, ready: str) -> None:
    with browser_page() as page:
        page.goto(f"{server.url}{path}")
        if role:
            page.get_by_label("API 密钥").fill(server.keys[role])
            page.get_by_role("button", name="使用此密钥").click()
        page.wait_for_selector(ready, timeout=15000)
        if path.startswith("/ui/tasks"):
            page.locator("#tasks button[data-task]").first.click()
            page.wait_for_selector("#detail-body:not([hidden])")
        result = page.evaluate(AUDIT_JS)
    assert result["checked"] >= 5
    assert result["bad"] == []
