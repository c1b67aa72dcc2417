"""The metadata sidecar beside each statute text (``<stem>.meta.yaml``), validated.

A statute's text says what the law is; only its metadata says *when* it is law, who issued
it, what replaced it and how sure we are of each fact. That is what the rule engine needs to
decide whether a provision may be cited on a given date, so every field is checked here, with
the sidecar's file and line in the error. See docs/regulations.md for the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.yaml_lines import YamlDoc, read_yaml

SOURCE_QUALITIES = ("PRIMARY", "SECONDARY", "CODE", "UNCONFIRMED")
STATUSES = ("in_force", "repealed", "superseded", "reported_repealed")
KINDS = ("law", "standard", "policy", "code", "regulation")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
JURISDICTION_RE = re.compile(r"^\d{6}$")

_FIELDS = {
    "id", "title", "short_title", "doc_number", "kind", "issuer", "adopted", "amended",
    "valid_from", "valid_to", "status", "repealed_by", "repealed_from", "repeal_source_quality",
    "repeal_source_urls", "source_urls", "source_quality", "text_available", "note",
    "provisions", "jurisdiction",
}
_PROVISION_FIELDS = {"key", "title", "text", "source_urls", "source_quality", "note",
                     "valid_from", "valid_to", "citation"}


@dataclass
class Provision:
    """A quoted provision of a document whose full text we do not have (verbatim only)."""

    key: str
    title: str
    text: str
    source_quality: str
    source_urls: list[str]
    note: str | None
    valid_from: str | None
    valid_to: str | None
    citation: str | None
    line: int | None


@dataclass
class RegulationMeta:
    file: Path
    id: str
    title: str
    kind: str
    issuer: str
    status: str
    source_quality: str
    short_title: str | None = None
    doc_number: str | None = None
    adopted: str | None = None
    amended: list[str] = field(default_factory=list)
    valid_from: str | None = None
    valid_to: str | None = None
    repealed_by: str | None = None
    repealed_from: str | None = None
    repeal_source_quality: str | None = None
    repeal_source_urls: list[str] = field(default_factory=list)
    source_urls: list[str] = field(default_factory=list)
    text_available: bool = True
    note: str | None = None
    jurisdiction: str | None = None  # administrative division code it applies in; None = national
    provisions: list[Provision] = field(default_factory=list)
    doc: YamlDoc | None = None

    def line(self, *path: str | int) -> int | None:
        return self.doc.line(*path) if self.doc else None

    def node_properties(self) -> dict[str, Any]:
        """The `Regulation` node's properties (None clears a property on re-load)."""
        return {
            "title": self.title,
            "short_title": self.short_title,
            "doc_number": self.doc_number,
            "kind": self.kind,
            "issuer": self.issuer,
            "adopted": self.adopted,
            "amended": self.amended,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "status": self.status,
            "repealed_from": self.repealed_from,
            "repeal_source_quality": self.repeal_source_quality,
            "source_url": self.source_urls[0] if self.source_urls else None,
            "source_urls": self.source_urls,
            "source_quality": self.source_quality,
            "text_available": self.text_available,
            "note": self.note,
            "jurisdiction": self.jurisdiction,
        }


def check_date(doc: YamlDoc, value: Any, *path: str | int, partial: bool = False) -> str | None:
    """An ISO date string (YYYY-MM-DD; YYYY or YYYY-MM too when `partial`), or None."""
    if value is None:
        return None
    text = str(value).strip()
    if partial and _PARTIAL_DATE.match(text):
        if len(text) == 10:
            _iso(doc, text, path)
        return text
    return _iso(doc, text, path)


def _iso(doc: YamlDoc, text: str, path: tuple[str | int, ...]) -> str:
    try:
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
            raise ValueError("expected YYYY-MM-DD")
        date.fromisoformat(text)
    except ValueError as exc:
        raise doc.error(f"not a date: {text!r} ({exc})", *path) from exc
    return text


def _str(doc: YamlDoc, data: dict, key: str, *, required: bool = False,
         path: tuple[str | int, ...] = ()) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise doc.error(f"missing required field {key!r}", *path, key, field=key)
        return None
    if not isinstance(value, (str, int, float)):
        raise doc.error(f"{key} must be text", *path, key)
    return str(value).strip()


def _str_list(doc: YamlDoc, data: dict, key: str, path: tuple[str | int, ...] = ()) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise doc.error(f"{key} must be a list of text", *path, key)
    return list(value)


def _choice(doc: YamlDoc, value: str | None, allowed: tuple[str, ...], *path: str | int) -> None:
    if value is not None and value not in allowed:
        raise doc.error(f"{value!r} is not one of {', '.join(allowed)}", *path)


def read_meta(file: Path) -> RegulationMeta:
    """Read and validate one sidecar; raise LoadError naming the sidecar, line and field."""
    doc = read_yaml(file)
    data = doc.data
    if not isinstance(data, dict):
        raise LoadError("a metadata sidecar must be a YAML mapping (id: …, title: …)",
                        file=file, line=1, field="id")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise doc.error(f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(_FIELDS))})",
                        unknown[0])
    rid = _str(doc, data, "id", required=True)
    assert rid is not None
    if not ID_RE.match(rid):
        raise doc.error(f"id {rid!r}: use lower-case letters, digits, '-', '_' and '.' "
                        "(e.g. cn.air-law.2018)", "id")
    meta = RegulationMeta(
        file=file, doc=doc, id=rid,
        title=_str(doc, data, "title", required=True) or "",
        kind=_str(doc, data, "kind", required=True) or "",
        issuer=_str(doc, data, "issuer", required=True) or "",
        status=_str(doc, data, "status", required=True) or "",
        source_quality=_str(doc, data, "source_quality", required=True) or "",
        short_title=_str(doc, data, "short_title"),
        doc_number=_str(doc, data, "doc_number"),
        adopted=check_date(doc, data.get("adopted"), "adopted", partial=True),
        valid_from=check_date(doc, data.get("valid_from"), "valid_from"),
        valid_to=check_date(doc, data.get("valid_to"), "valid_to"),
        repealed_by=_str(doc, data, "repealed_by"),
        repealed_from=check_date(doc, data.get("repealed_from"), "repealed_from"),
        repeal_source_quality=_str(doc, data, "repeal_source_quality"),
        repeal_source_urls=_str_list(doc, data, "repeal_source_urls"),
        source_urls=_str_list(doc, data, "source_urls"),
        note=_str(doc, data, "note"),
        jurisdiction=_str(doc, data, "jurisdiction"),
    )
    if meta.jurisdiction is not None and not JURISDICTION_RE.match(meta.jurisdiction):
        raise doc.error(f"jurisdiction {meta.jurisdiction!r}: the six-digit administrative "
                        "division code the document applies in (330000 Zhejiang, 330100 "
                        "Hangzhou); leave it out for national documents", "jurisdiction")
    amended = data.get("amended")
    amended_list = amended if isinstance(amended, list) else ([] if amended is None else [amended])
    meta.amended = [d for i, v in enumerate(amended_list)
                    if (d := check_date(doc, v, "amended", i, partial=True))]
    text_available = data.get("text_available", True)
    if not isinstance(text_available, bool):
        raise doc.error("text_available must be true or false", "text_available")
    meta.text_available = text_available

    _choice(doc, meta.kind, KINDS, "kind")
    _choice(doc, meta.status, STATUSES, "status")
    _choice(doc, meta.source_quality, SOURCE_QUALITIES, "source_quality")
    _choice(doc, meta.repeal_source_quality, SOURCE_QUALITIES, "repeal_source_quality")
    _check_period(doc, meta.valid_from, meta.valid_to, ())
    if meta.status != "in_force" and meta.valid_to is None:
        raise doc.error(f"status {meta.status!r} needs valid_to (the last day in force)",
                        "valid_to", field="valid_to")
    if meta.repealed_by is not None:
        if not ID_RE.match(meta.repealed_by):
            raise doc.error(f"repealed_by {meta.repealed_by!r} is not a regulation id",
                            "repealed_by")
        if meta.valid_to is None:
            raise doc.error("repealed_by needs valid_to (the last day in force)", "valid_to",
                            field="valid_to")
        if meta.repealed_from is None:
            meta.repealed_from = (date.fromisoformat(meta.valid_to) + timedelta(days=1)).isoformat()
    elif meta.repealed_from is not None or meta.repeal_source_quality is not None:
        raise doc.error("repealed_from / repeal_source_quality without repealed_by",
                        "repealed_by", field="repealed_by")
    if meta.repealed_from and meta.valid_to and meta.repealed_from <= meta.valid_to:
        raise doc.error(f"repealed_from {meta.repealed_from} is not after valid_to "
                        f"{meta.valid_to}", "repealed_from")

    raw_provisions = data.get("provisions") or []
    if not isinstance(raw_provisions, list):
        raise doc.error("provisions must be a list", "provisions")
    keys: set[str] = set()
    for i, p in enumerate(raw_provisions):
        meta.provisions.append(read_provision(doc, p, ("provisions", i), keys,
                                              meta.valid_from, meta.valid_to))
    return meta


def _check_period(doc: YamlDoc, start: str | None, end: str | None,
                  path: tuple[str | int, ...]) -> None:
    if start and end and end < start:
        raise doc.error(f"valid_to {end} is before valid_from {start}", *path, "valid_to")


def read_provision(doc: YamlDoc, p: Any, path: tuple[str | int, ...], keys: set[str],
                   default_from: str | None, default_to: str | None) -> Provision:
    """One quoted provision at `path` of `doc` (keys must be unique within `keys`)."""
    if not isinstance(p, dict):
        raise doc.error("each provision is a mapping (key, title, text, source_quality…)", *path)
    unknown = sorted(set(p) - _PROVISION_FIELDS)
    if unknown:
        raise doc.error(f"unknown provision field {unknown[0]!r}", *path, unknown[0])
    key = _str(doc, p, "key", required=True, path=path) or ""
    if not KEY_RE.match(key) or re.match(r"^(art|p|i)\d+$", key):
        raise doc.error(f"provision key {key!r}: lower-case word, not art<N>/p<N>/i<N>",
                        *path, "key")
    if key in keys:
        raise doc.error(f"duplicate provision key {key!r}", *path, "key")
    keys.add(key)
    quality = _str(doc, p, "source_quality", required=True, path=path)
    _choice(doc, quality, SOURCE_QUALITIES, *path, "source_quality")
    valid_from = check_date(doc, p.get("valid_from"), *path, "valid_from")
    valid_to = check_date(doc, p.get("valid_to"), *path, "valid_to")
    _check_period(doc, valid_from or default_from, valid_to or default_to, path)
    return Provision(
        key=key,
        title=_str(doc, p, "title", required=True, path=path) or "",
        text=_str(doc, p, "text", required=True, path=path) or "",
        source_quality=quality or "",
        source_urls=_str_list(doc, p, "source_urls", path),
        note=_str(doc, p, "note", path=path),
        valid_from=valid_from,
        valid_to=valid_to,
        citation=_str(doc, p, "citation", path=path),
        line=doc.line(*path),
    )
