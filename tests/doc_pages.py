"""Task-list pages as the document tests read them: an HTML parser that keeps the tables
(with their region, measure and class), cells, row ids, images, articles and ids."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """The parts of a task-list page the tests look at."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: list[dict] = []
        self.meta: dict[str, str] = {}
        self.images: list[str] = []
        self.articles: dict[str, dict[str, str]] = {}
        self.ids: dict[str, str] = {}
        self._stack: list[tuple[str, dict]] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._article: str | None = None
        self._capture: str | None = None
        self.text: list[str] = []
        self.tags: list[str] = []
        self.anchors: set[str] = set()
        self.links: list[str] = []
        self._row_attrs: dict = {}
        self.feed(text)

    def task_tables(self) -> list[dict]:
        return [t for t in self.tables if "tasks" in t["class"].split()]

    def table(self, table_id: str) -> dict:
        return next(t for t in self.tables if t["id"] == table_id)

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[override]
        a = dict(attrs)
        self.tags.append(tag)
        self._stack.append((tag, a))
        if tag == "meta" and a.get("name"):
            self.meta[a["name"]] = a.get("content", "")
        elif tag == "table":
            self.tables.append({"region": a.get("data-region"), "measure": a.get("data-measure"),
                                "class": a.get("class") or "", "id": a.get("id"),
                                "header": [], "rows": []})
        elif tag == "tr":
            self._row = []
            self._row_id = a.get("id")
            self._row_attrs = a
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")
        elif tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "section" and "article" in (a.get("class") or ""):
            self._article = a["id"]
            self.articles[self._article] = {"title": "", "status": "", "text": ""}
        elif self._article and tag == "h3":
            self._capture = "title"
        elif self._article and tag == "p":
            self._capture = "status"
        elif self._article and tag == "div":
            self._capture = "text"
        elif a.get("id"):
            self._capture = f"id:{a['id']}"
        if a.get("id"):
            self.anchors.add(a["id"])
        if tag == "a" and (a.get("href") or "").startswith("#"):
            self.links.append(a["href"][1:])

    def handle_endtag(self, tag: str) -> None:
        if self._stack:
            self._stack.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            t = self.tables[-1]
            if not t["header"]:
                t["header"] = self._row
            else:
                t["rows"].append({"id": self._row_id, "cells": self._row,
                                  "attrs": self._row_attrs})
            self._row = None
        elif tag == "section":
            self._article = None
        if tag in ("h3", "p", "div", "dd"):
            self._capture = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._capture and self._article and not self._capture.startswith("id:"):
            self.articles[self._article][self._capture] += data
        elif self._capture and self._capture.startswith("id:"):
            key = self._capture[3:]
            self.ids[key] = self.ids.get(key, "") + data

    @property
    def all_text(self) -> str:
        return "".join(self.text)
