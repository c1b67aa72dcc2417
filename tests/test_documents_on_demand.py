"""Task-list documents on demand (issue 18): a decision renders nothing; a region's document is
rendered by the first request, equal to the eagerly rendered one, kept while the decision's
review state and task statuses are unchanged, rendered once however many ask at the same
time, and rendered again after approval. On the sample run decided in the real graph."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from api_helpers import api_client
from docx import Document
from kb_fixture import Decided
from typer.testing import CliRunner

from ecobrain.api.auth import KeyStore
from ecobrain.api.cli.app import app
from ecobrain.api.documents import task_list as D
from ecobrain.api.documents.cache import document_file, ensure_documents, region_document
from ecobrain.reasoning.decisions import review
from ecobrain.reasoning.decisions.task_status import update_status

CITY, COUNTY = "330100", "330102"  # Hangzhou and its Shangcheng district
GENERATED = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}（北京时间）")


def _text(path: Path) -> str:
    """A document's content without the moment it was rendered (not part of the decision)."""
    if path.suffix == ".docx":
        word = Document(str(path))
        parts = [p.text for p in word.paragraphs]
        parts += [c.text for t in word.tables for r in t.rows for c in r.cells]
        text = "\n".join(parts)
    else:
        text = path.read_text(encoding="utf-8")
    return GENERATED.sub("<generated>", text)


def test_deciding_renders_nothing_and_says_how_to_get_documents(
        module_decided: Decided, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    res = CliRunner().invoke(app, ["decide", str(module_decided.run_dir), "--out", str(out)],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "rendered when first asked for" in res.output
    assert f"ecobrain decisions documents {module_decided.decision_id}" in res.output
    assert not out.exists()


def test_on_demand_documents_equal_the_eager_ones(module_decided: Decided,
                                                  tmp_path: Path) -> None:
    s, did = module_decided.store, module_decided.decision_id
    eager = D.render_documents(s, did, tmp_path / "eager", regions=[CITY, COUNTY], workers=1)
    for doc in eager.documents:
        for fmt in D.FORMATS:
            kept = region_document(s, did, doc.code, fmt, tmp_path / "lazy")
            assert kept.rendered
            assert kept.path.name == doc.files[fmt]
            assert _text(kept.path) == _text(eager.folder / doc.files[fmt]), (doc.code, fmt)
        for picture in ("map", "aqi"):
            lazy = tmp_path / "lazy" / did / doc.files[picture]
            assert lazy.read_bytes() == (eager.folder / doc.files[picture]).read_bytes()


def test_a_kept_document_is_served_without_rendering(module_decided: Decided,
                                                     tmp_path: Path) -> None:
    s, did = module_decided.store, module_decided.decision_id
    first = region_document(s, did, COUNTY, "md", tmp_path)
    stamp = first.path.stat().st_mtime_ns
    again = region_document(s, did, COUNTY, "md", tmp_path)
    assert first.rendered and not again.rendered
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    forced = region_document(s, did, COUNTY, "md", tmp_path, fresh=True)
    assert forced.rendered and forced.path == first.path


def test_concurrent_requests_for_a_region_render_it_once(module_decided: Decided,
                                                         tmp_path: Path) -> None:
    s, did = module_decided.store, module_decided.decision_id
    start = threading.Barrier(6)
    results: list = []
    errors: list = []

    def ask() -> None:
        try:
            start.wait()
            results.append(region_document(s, did, CITY, "html", tmp_path))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.rendered for r in results) == 1
    assert len({r.path for r in results}) == 1
    assert "杭州市大气污染防治任务清单" in results[0].path.read_text(encoding="utf-8")
    # nothing half-written is left behind
    assert not list((tmp_path / did / ".cache").glob("render-*"))


def test_many_regions_render_in_parallel_and_kept_ones_are_not_redone(
        module_decided: Decided, tmp_path: Path) -> None:
    s, did = module_decided.store, module_decided.decision_id
    county = region_document(s, did, COUNTY, "html", tmp_path).path
    before = county.stat().st_mtime_ns
    every = D.regions_with_documents(D.gather(s, did))
    docs = ensure_documents(s, did, tmp_path, formats=["html"], workers=2)
    assert [d.code for d in docs.documents] == every
    assert docs.workers == 2
    assert county.stat().st_mtime_ns == before  # kept, not rendered again
    for d in docs.documents:
        assert (docs.folder / d.files["html"]).is_file()
    index = docs.index.read_text(encoding="utf-8")
    assert all(f'data-region="{c}"' in index for c in every)


def test_a_city_without_tasks_of_its_own_and_a_county_without_tasks(
        module_decided: Decided, tmp_path: Path) -> None:
    s, did = module_decided.store, module_decided.decision_id
    data = D.gather(s, did)
    with_docs = D.regions_with_documents(data)
    # a city whose own bureau has no tasks still gets the document of its counties' tasks
    bare = [c for c in with_docs if c.endswith("00") and c not in data.tasks]
    assert bare, "the sample decision assigns every city tasks: choose another case"
    page = document_file(s, did, bare[0], "md", tmp_path).read_text(encoding="utf-8")
    counties = [c for c in data.tasks if c[:4] == bare[0][:4]]
    assert counties and all(c in page for c in counties)
    # a county with no tasks has no document, and nothing is kept for it
    without = next(r.code for r in data.regions.values()
                   if r.level == "county" and r.code not in with_docs)
    with pytest.raises(D.DocumentError, match="no tasks"):
        region_document(s, did, without, "html", tmp_path)
    assert not list((tmp_path / did).glob(f"{without}-*"))


def test_cli_renders_the_regions_asked_for(module_decided: Decided, tmp_path: Path) -> None:
    did = module_decided.decision_id
    res = CliRunner().invoke(app, ["decisions", "documents", did, "--regions", COUNTY,
                                   "--format", "md", "--out", str(tmp_path)],
                             env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    files = sorted((tmp_path / did).glob(f"{COUNTY}-*.md"))
    assert len(files) == 1 and str(files[0]) in res.output.replace("\n", "")
    assert not list((tmp_path / did).glob(f"{CITY}-*.md"))
    neither = CliRunner().invoke(app, ["decisions", "documents", did])
    assert neither.exit_code == 1 and "--regions" in neither.output
    bad = CliRunner().invoke(app, ["decisions", "documents", did, "--regions", "330902",
                                   "--out", str(tmp_path)])
    assert bad.exit_code == 1 and "no tasks for 330902" in bad.output


def test_the_api_renders_many_regions_at_once_and_serves_them_kept(
        module_decided: Decided, tmp_path: Path) -> None:
    did = module_decided.decision_id
    with api_client(module_decided.store, tmp_path) as api:
        api.client.app.state.documents_dir = tmp_path / "documents"  # type: ignore[attr-defined]
        keys = KeyStore(tmp_path / "keys.json")
        api.keys["hz-bureau"] = keys.create("hz-bureau", ["commander"], [CITY])
        r = api.post(f"/decisions/{did}/documents", "commander",
                     json={"regions": [CITY, COUNTY], "formats": ["md", "docx"]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert [d["region_code"] for d in body] == [CITY, COUNTY]
        assert set(body[1]["urls"]) == {"md", "docx"}
        folder = tmp_path / "documents" / did
        word = next(folder.glob(f"{COUNTY}-*.docx"))
        before = word.stat().st_mtime_ns
        got = api.get(body[1]["urls"]["docx"], "commander")
        assert got.status_code == 200 and got.content == word.read_bytes()
        assert word.stat().st_mtime_ns == before  # served as kept
        # every region at once: rendered in worker processes started by a fork server
        every = D.regions_with_documents(D.gather(module_decided.store, did))
        assert len(every) >= 8  # enough for more than one worker
        r = api.post(f"/decisions/{did}/documents", "commander", json={"formats": ["md"]})
        assert r.status_code == 200, r.text
        assert [d["region_code"] for d in r.json()] == every
        assert all(next(folder.glob(f"{c}-*.md"), None) for c in every)
        # a city's key renders its own regions, not the province's whole set or another city
        assert api.post(f"/decisions/{did}/documents", "hz-bureau",
                        json={"regions": [COUNTY]}).status_code == 200
        assert api.post(f"/decisions/{did}/documents", "hz-bureau", json={}).status_code == 403
        assert api.post(f"/decisions/{did}/documents", "hz-bureau",
                        json={"regions": ["330200"]}).status_code == 403
        assert api.post(f"/decisions/{did}/documents", "commander",
                        json={"regions": ["330902"]}).status_code == 404
        assert api.post(f"/decisions/{did}/documents", "commander",
                        json={"formats": ["pdf"]}).status_code == 422


def test_approval_and_status_changes_render_the_document_again(
        module_decided: Decided, tmp_path: Path) -> None:
    """Last in the module: it approves the module's decision."""
    s, did = module_decided.store, module_decided.decision_id
    draft = region_document(s, did, COUNTY, "html", tmp_path)
    assert "草稿：待指挥人员审核" in draft.path.read_text(encoding="utf-8")
    assert not region_document(s, did, COUNTY, "html", tmp_path).rendered

    review.approve(s, did, by="值班指挥", note="同意")
    approved = region_document(s, did, COUNTY, "html", tmp_path)
    assert approved.rendered and approved.path == draft.path
    text = approved.path.read_text(encoding="utf-8")
    assert "已审核：值班指挥于" in text and "草稿：待指挥人员审核" not in text
    assert not region_document(s, did, COUNTY, "html", tmp_path).rendered

    issued = s.read_one("MATCH (t:Task) WHERE t.decision_id = $d AND t.region_code = $c "
                        "AND t.status = 'issued' RETURN t.id AS id ORDER BY id LIMIT 1",
                        {"d": did, "c": COUNTY})
    assert issued is not None
    update_status(s, issued["id"], "received", by="上城区生态环境分局")
    after = region_document(s, did, COUNTY, "html", tmp_path)
    assert after.rendered and "已接收" in after.path.read_text(encoding="utf-8")
