"""Task-list documents on demand: a region's document is rendered when first asked for, then
kept per decision, region and format until what it shows changes.

Deciding a run saves the decision and renders nothing: a province has ~50 cities and counties
with tasks (a national domain ~3,000), most of whose documents nobody opens that day. A
document is rendered by the first request for it — the API's download endpoint, ``ecobrain
decisions documents ID --regions …``, ``ecobrain decide --regions …`` — and several asked at
once are rendered in a pool of worker processes
(:func:`ecobrain.api.documents.task_list.write_regions`); the full set only when asked for
(``--all-documents``).

**What is kept.** ``OUT/<decision-id>/<code>-<name>.<fmt>`` and its two PNGs, as
``ecobrain.api.documents.task_list`` lays them out, and beside them
``.cache/<code>.<fmt>.json``: the **stamp** the document was rendered under and the region's
summary (name, level, tasks, alert) for the index. A stamp is the decision's review state (draft
or approved, by whom, when, an override's reason), its ``status_version`` (every task status
change increments it: the status column shows them) and a digest of the templates; a document
whose stamp is not the graph's current one is rendered again on the next request. Other changes
to a decision are new decisions (ids derive from content), so nothing else can make a kept
document wrong.

**One render per document.** Rendering holds an exclusive ``flock`` on
``.cache/<code>.lock`` — across the threads and worker processes of the API and CLI runs on
the same folder — and the first thing done under the lock is to look again: a request that
waited for another's render finds its record and serves that. Files are written into a
temporary folder and moved into place (``os.replace``), so a reader never gets half a file.

Assumptions and limits: the documents folder is on a local file system (``flock`` over NFS
is not relied on); the index lists the documents rendered so far.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from ecobrain.api.documents.charts import cjk_font
from ecobrain.api.documents.task_list import (
    FORMATS,
    DocumentError,
    DocumentSet,
    RenderedRegion,
    check_formats,
    gather,
    pick_regions,
    prepare_regions,
    regions_with_documents,
    templates_dir,
    write_index,
    write_regions,
)
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.store import region_prefix

CACHE = ".cache"

_STAMP = (
    "MATCH (d:Decision {id: $id}) RETURN coalesce(d.review_status, 'draft') AS review_status, "
    "d.approved_by AS approved_by, d.approved_at AS approved_at, "
    "d.legal_override_reason AS override, coalesce(d.status_version, 0) AS status_version"
)


@cache
def _templates_digest() -> str:
    """Kept documents of an older layout are rendered again."""
    h = hashlib.sha256()
    for path in sorted(templates_dir().iterdir()):
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def document_stamp(store: GraphStore, decision_id: str) -> str:
    """What a decision's documents show beyond its conclusions, as one string."""
    row = store.read_one(_STAMP, {"id": decision_id})
    if row is None:
        raise DocumentError(f"no decision {decision_id!r}")
    return json.dumps([row["review_status"], row["approved_by"], row["approved_at"],
                       row["override"], row["status_version"], _templates_digest()])


@dataclass
class CachedDocument:
    """One region's document in one format: where it is, and whether this call rendered it."""

    path: Path
    rendered: bool


def decision_folder(out_root: str | Path, decision_id: str) -> Path:
    """The decision's own folder under `out_root` (an id like ".." or "a/b" names no other)."""
    root = Path(out_root).resolve()
    folder = root / decision_id
    if "/" in decision_id or "\\" in decision_id or folder.resolve().parent != root:
        raise DocumentError(f"no decision {decision_id!r}")
    return folder


def _record_path(folder: Path, code: str, fmt: str) -> Path:
    return folder / CACHE / f"{code}.{fmt}.json"


def _current(folder: Path, code: str, fmt: str, stamp: str) -> RenderedRegion | None:
    """The kept document of `code` in `fmt` if it was rendered under `stamp` and is there."""
    try:
        record = json.loads(_record_path(folder, code, fmt).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("stamp") != stamp:
        return None
    region = RenderedRegion(**record["region"])
    if not all((folder / name).is_file() for name in region.files.values()):
        return None
    return region


@contextlib.contextmanager
def _locked(folder: Path, codes: Sequence[str]) -> Iterator[None]:
    """Exclusive locks on the regions' renders, taken in code order (no two callers can wait
    on each other)."""
    (folder / CACHE).mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        for code in sorted(set(codes)):
            fd = os.open(folder / CACHE / f"{code}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            stack.callback(os.close, fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
            stack.callback(fcntl.flock, fd, fcntl.LOCK_UN)
        yield


def _publish(rendered: Sequence[RenderedRegion], scratch: Path, folder: Path,
             formats: Sequence[str], stamp: str) -> None:
    """Move freshly written files into the decision's folder and record their stamp."""
    for region in rendered:
        for name in region.files.values():
            os.replace(scratch / name, folder / name)
        for fmt in formats:
            record = {"stamp": stamp, "rendered_at": time.time(), "region": asdict(region)}
            path = _record_path(folder, region.code, fmt)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)


def _render(store: GraphStore, decision_id: str, folder: Path, codes: Sequence[str],
            formats: Sequence[str], stamp: str, *, prefix: str | None = None,
            workers: int | None = None, progress: Callable[[str, int, int], None] | None = None,
            start_method: str = "fork") -> tuple[list[RenderedRegion], int]:
    data = gather(store, decision_id, prefix=prefix)
    jobs = prepare_regions(store, data, codes)
    scratch = Path(tempfile.mkdtemp(prefix="render-", dir=folder / CACHE))
    try:
        out, n = write_regions(jobs, scratch, formats, workers=workers, progress=progress,
                               start_method=start_method)
        _publish(out, scratch, folder, formats, stamp)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return out, n


def region_document(store: GraphStore, decision_id: str, region_code: str, fmt: str,
                    out_root: str | Path, *, fresh: bool = False) -> CachedDocument:
    """One region's document in one format: the kept file while its stamp is current, else
    rendered now (once, however many ask at the same time)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if not region_code.isalnum():
        raise DocumentError(f"no decision {decision_id!r} with a document for {region_code!r}")
    folder = decision_folder(out_root, decision_id)
    stamp = document_stamp(store, decision_id)
    kept = None if fresh else _current(folder, region_code, fmt, stamp)
    if kept is not None:
        return CachedDocument(folder / kept.files[fmt], rendered=False)
    with _locked(folder, [region_code]):
        stamp = document_stamp(store, decision_id)
        if not fresh and (kept := _current(folder, region_code, fmt, stamp)) is not None:
            return CachedDocument(folder / kept.files[fmt], rendered=False)  # another rendered it
        data = gather(store, decision_id, prefix=region_prefix(region_code))
        if region_code not in regions_with_documents(data):
            raise DocumentError(f"region {region_code} has no tasks in decision {decision_id}")
        out, _ = _render(store, decision_id, folder, [region_code], [fmt], stamp,
                         prefix=region_prefix(region_code), workers=1)
    return CachedDocument(folder / out[0].files[fmt], rendered=True)


def document_file(store: GraphStore, decision_id: str, region_code: str, fmt: str,
                  out_root: str | Path, *, fresh: bool = False) -> Path:
    """The file of one region's document (what the API's download endpoint serves)."""
    return region_document(store, decision_id, region_code, fmt, out_root, fresh=fresh).path


def ensure_documents(store: GraphStore, decision_id: str, out_root: str | Path, *,
                     regions: Sequence[str] | None = None, formats: Sequence[str] = FORMATS,
                     fresh: bool = False, workers: int | None = None,
                     progress: Callable[[str, int, int], None] | None = None,
                     start_method: str = "fork") -> DocumentSet:
    """The documents of `regions` (None: every city and county with tasks) in `formats`:
    kept ones served, the others rendered in parallel (`start_method`: see
    :func:`ecobrain.api.documents.task_list.write_regions`); ``index.html`` lists every
    document of the decision rendered so far. ``DocumentSet.documents`` are the asked regions."""
    started = time.perf_counter()
    check_formats(formats)
    formats = list(dict.fromkeys(formats))
    folder = decision_folder(out_root, decision_id)
    stamp = document_stamp(store, decision_id)
    data = gather(store, decision_id)
    codes = pick_regions(data, decision_id, regions)
    n = 1
    with _locked(folder, codes):
        stamp = document_stamp(store, decision_id)
        todo = [c for c in codes
                if fresh or any(_current(folder, c, f, stamp) is None for f in formats)]
        if todo:
            _, n = _render(store, decision_id, folder, todo, formats, stamp, workers=workers,
                           progress=progress, start_method=start_method)
        docs = [r for c in codes if (r := _merged(folder, c, formats, stamp)) is not None]
    everything = [r for c in regions_with_documents(data)
                  if (r := _merged(folder, c, FORMATS, stamp, partial=True)) is not None]
    index = write_index(data, everything, folder, FORMATS)
    return DocumentSet(decision_id, folder, docs, index, round(time.perf_counter() - started, 3),
                       cjk_font().note, n)


def _merged(folder: Path, code: str, formats: Sequence[str], stamp: str, *,
            partial: bool = False) -> RenderedRegion | None:
    """The region's current documents in `formats` as one summary (None when one is missing,
    or with `partial` when all are)."""
    merged: RenderedRegion | None = None
    for fmt in formats:
        region = _current(folder, code, fmt, stamp)
        if region is None:
            if partial:
                continue
            return None
        if merged is None:
            merged = region
        else:
            merged.files.update(region.files)
    return merged
