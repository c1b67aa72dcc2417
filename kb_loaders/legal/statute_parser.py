"""Statute text -> articles, paragraphs (款) and items (项), with the line each came from.

Two layouts are read, line by line, with one grammar:

- plain UTF-8 text (``.txt``): headings ``第一编 …`` / ``第一分编 …`` / ``第一章 …`` /
  ``第一节 …``, articles ``第一条　text``; every further non-empty line is the article's next
  paragraph, and a line starting ``（一）`` is an item of the paragraph above it;
- the markdown mirror of the national law database (``.md``): the same, after removing HTML
  tags, markdown heading marks and ``{…}`` attributes, and decoding entities (``&emsp;``);
  front matter, ``:::`` blocks and ``---`` rules are layout, not law.

The article text is kept exactly as written (lines stripped of their indentation only), so
it can be compared with the source and cited verbatim. The parser validates structure —
numbers well formed, strictly increasing, items in order — and collects every problem with
its line before anything is written.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from ecobrain.kb_loaders.errors import LoadError, LoadErrors
from ecobrain.kb_loaders.text_checks import refuse_control_characters
from ecobrain.ontology.cn_numerals import NUMERAL_CHARS, format_cn_int, parse_cn_int

MARKDOWN_SUFFIXES = (".md", ".markdown")
TEXT_SUFFIXES = (".txt", *MARKDOWN_SUFFIXES)

_N = f"[{NUMERAL_CHARS}]+"
_SEP = r"[\s\u3000\u2003\u00a0]"
_HEADINGS = (  # (kind, pattern); 分编 before 编 so 第一分编 is not read as a part.
    ("subpart", re.compile(rf"^第({_N})分编(?:{_SEP}+(.*))?$")),
    ("part", re.compile(rf"^第({_N})编(?:{_SEP}+(.*))?$")),
    ("chapter", re.compile(rf"^第({_N})章(?:{_SEP}+(.*))?$")),
    ("section", re.compile(rf"^第({_N})节(?:{_SEP}+(.*))?$")),
)
_ARTICLE = re.compile(rf"^第({_N})条(?:{_SEP}+(.*))?$")
_INSERTED_ARTICLE = re.compile(rf"^第({_N})条之({_N})")
_ITEM = re.compile(rf"^[（(]({_N})[）)]")
_TAG = re.compile(r"<[^>]*>")
_MD_ATTR = re.compile(r"\{[^{}]*\}\s*$")
_STRIP = " \t\r\n\u3000\u2003\u2002\u00a0\ufeff"


@dataclass
class Item:
    """One 项: ``（三）通过逃避监管的方式排放大气污染物的。`` (marker kept in `text`)."""

    number: int
    text: str
    line: int


@dataclass
class Paragraph:
    """One 款: its own line of text, and the items listed under it."""

    text: str
    line: int
    items: list[Item] = field(default_factory=list)


@dataclass
class ParsedArticle:
    number: int
    line: int
    paragraphs: list[Paragraph] = field(default_factory=list)
    part: int | None = None
    part_title: str | None = None
    subpart: int | None = None
    subpart_title: str | None = None
    chapter: int | None = None
    chapter_title: str | None = None
    section: int | None = None
    section_title: str | None = None

    @property
    def number_zh(self) -> str:
        return f"第{format_cn_int(self.number)}条"

    @property
    def lines(self) -> list[str]:
        """The article's lines in order: each paragraph followed by its items."""
        out: list[str] = []
        for p in self.paragraphs:
            out.append(p.text)
            out.extend(i.text for i in p.items)
        return out

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class ParsedStatute:
    file: Path
    articles: list[ParsedArticle]

    def article(self, number: int) -> ParsedArticle:
        for a in self.articles:
            if a.number == number:
                return a
        raise KeyError(number)


def clean_line(raw: str, markdown: bool) -> str:
    """One source line as text: markup removed (markdown only), indentation stripped."""
    s = raw
    if markdown:
        s = _TAG.sub("", s)
        s = html.unescape(s)
        s = _MD_ATTR.sub("", s)
        s = s.lstrip("#").strip(_STRIP) if s.startswith("#") else s
    return s.strip(_STRIP)


def _is_layout(s: str) -> bool:
    """Markdown layout lines: rules, container fences, TOC markers."""
    return s == "---" or s.startswith(":::") or s == "[[toc]]" or s.startswith("@tab")


def read_text(file: Path) -> str:
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        raise LoadError(f"not UTF-8 text ({exc.reason})", file=file, line=line,
                        field="encoding") from exc
    refuse_control_characters(text, file)
    return text


def parse_statute(file: Path, text: str | None = None) -> ParsedStatute:
    """Parse one statute file; raise LoadError (one problem) or LoadErrors (several)."""
    file = Path(file)
    markdown = file.suffix.lower() in MARKDOWN_SUFFIXES
    if text is None:
        text = read_text(file)
    raw_lines = text.splitlines()
    errors: list[LoadError] = []

    def err(message: str, line: int, field_: str) -> None:
        errors.append(LoadError(message, file=file, line=line, field=field_))

    start = 0
    if markdown and raw_lines and raw_lines[0].strip() == "---":  # YAML front matter
        for i in range(1, len(raw_lines)):
            if raw_lines[i].strip() == "---":
                start = i + 1
                break

    articles: list[ParsedArticle] = []
    ctx: dict[str, tuple[int, str | None] | None] = {
        "part": None, "subpart": None, "chapter": None, "section": None}
    last_heading_number: dict[str, int] = {}
    current: ParsedArticle | None = None
    seen_structure = False
    first_content_line: int | None = None
    resets = {"part": ("subpart", "chapter", "section"), "subpart": ("chapter", "section"),
              "chapter": ("section",), "section": ()}

    for idx in range(start, len(raw_lines)):
        lineno = idx + 1
        s = clean_line(raw_lines[idx], markdown)
        if not s:
            continue
        if markdown and _is_layout(s):
            current = None  # layout ends an article (the mirror closes each with </p>)
            continue
        if first_content_line is None:
            first_content_line = lineno

        heading = next(((kind, m) for kind, rx in _HEADINGS if (m := rx.match(s))), None)
        if heading:
            kind, m = heading
            try:
                number = parse_cn_int(m.group(1))
            except ValueError as exc:
                err(f"bad {kind} number {m.group(1)!r}: {exc}", lineno, kind)
                continue
            prev = last_heading_number.get(kind)
            if prev is not None and number <= prev:
                err(f"{kind} {number} follows {kind} {prev} (duplicate or out of order)",
                    lineno, kind)
            last_heading_number[kind] = number
            for child in resets[kind]:
                ctx[child] = None
                last_heading_number.pop(child, None)
            ctx[kind] = (number, (m.group(2) or "").strip(_STRIP) or None)
            current = None
            seen_structure = True
            continue

        if _INSERTED_ARTICLE.match(s):
            err("inserted article numbers (第…条之…) are not supported; number the article "
                "plainly", lineno, "article")
            continue

        m = _ARTICLE.match(s)
        if m:
            try:
                number = parse_cn_int(m.group(1))
            except ValueError as exc:
                err(f"bad article number {m.group(1)!r}: {exc}", lineno, "article")
                current = None
                continue
            if articles and number <= articles[-1].number:
                kind = "duplicate" if any(a.number == number for a in articles) else "out of order"
                err(f"article {number} ({m.group(1)}) follows article {articles[-1].number}: "
                    f"{kind}", lineno, "article")
            current = ParsedArticle(number=number, line=lineno)
            for kind in ctx:
                value = ctx[kind]
                if value is not None:
                    setattr(current, kind, value[0])
                    setattr(current, f"{kind}_title", value[1])
            articles.append(current)
            seen_structure = True
            body = (m.group(2) or "").strip(_STRIP)
            if body:
                current.paragraphs.append(Paragraph(text=body, line=lineno))
            continue

        if current is None:
            if seen_structure:
                err(f"text outside any article: {s[:30]!r}", lineno, "article")
            continue  # before the first heading: title, revision notes, table of contents

        im = _ITEM.match(s)
        if im:
            if not current.paragraphs:
                err("item before the article's first paragraph", lineno, "item")
                continue
            para = current.paragraphs[-1]
            try:
                inum = parse_cn_int(im.group(1))
            except ValueError as exc:
                err(f"bad item number {im.group(1)!r}: {exc}", lineno, "item")
                continue
            expected = para.items[-1].number + 1 if para.items else 1
            if inum != expected:
                err(f"item ({im.group(1)}) where item {expected} was expected", lineno, "item")
            para.items.append(Item(number=inum, text=s, line=lineno))
            continue

        current.paragraphs.append(Paragraph(text=s, line=lineno))

    for a in articles:
        if not a.paragraphs:
            err(f"article {a.number} has no text", a.line, "text")
    if not articles and not errors:
        err("no article structure: no line starts with 第…条 (e.g. '第一条　…')",
            first_content_line or 1, "article")
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise LoadErrors(errors, file=file)
    return ParsedStatute(file=file, articles=articles)
