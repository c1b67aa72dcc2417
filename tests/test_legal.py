"""Legal grounds by date: provision status, repeal, succession, citation resolution."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.legal.statutes import load_regulations
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.legal import (
    CitationError,
    provision_status,
    provision_statuses,
    resolve_citation,
    split_citation,
)

ART96 = "cn.air-law.2018.art96"

# A stand-in for the Code's text in tests only: the real text is not available, and this is not
# it. The article number is arbitrary and the text says what it is.
_CODE_META = """id: cn.eco-env-code.2026
title: 中华人民共和国生态环境法典
kind: code
issuer: 全国人民代表大会
valid_from: 2026-08-15
status: in_force
source_quality: UNCONFIRMED
note: test fixture, not the Code's text
"""
_CODE_TEXT = "第一千条　（测试用占位文本，不是法典条文。）\n"


@pytest.fixture
def legal_store(store: GraphStore) -> GraphStore:
    load_regulations(store)
    return store


def test_in_force_until_the_day_before_the_code(legal_store: GraphStore) -> None:
    st = provision_status(legal_store, ART96, date(2026, 8, 14))
    assert st.in_force and st.status == "in_force" and not st.needs_legal_review
    assert st.citation == "《中华人民共和国大气污染防治法》第九十六条"
    assert st.text.startswith("县级以上地方人民政府应当依据重污染天气的预警等级")
    assert (st.valid_from, st.valid_to) == ("2018-10-26", "2026-08-14")
    assert st.repealed_by is None


def test_repealed_from_the_code_with_no_successor_recorded(legal_store: GraphStore) -> None:
    st = provision_status(legal_store, ART96, "2026-08-15")
    assert not st.in_force and st.needs_legal_review
    assert st.status == "reported_repealed"
    assert st.repealed_by == "cn.eco-env-code.2026"
    assert st.repealed_by_title == "中华人民共和国生态环境法典"
    assert st.repealed_from == "2026-08-15"
    assert st.repeal_source_quality == "CODE"
    assert st.successors == ()
    assert "repealed on 2026-08-15" in st.remark
    assert "successor provision not yet recorded" in st.remark
    assert "后继条款尚未录入" in st.remark_zh
    # the text is still there to show, but never as current law
    assert st.text.startswith("县级以上地方人民政府")


def test_before_the_amendment_and_other_provisions(legal_store: GraphStore) -> None:
    assert provision_status(legal_store, ART96, "2018-10-25").status == "not_yet_in_force"
    ep = provision_statuses(legal_store, ["cn.ep-law.2014.art59", "cn.ep-law.2014.art25"],
                            "2027-01-01")
    assert {k: v.status for k, v in ep.items()} == {
        "cn.ep-law.2014.art59": "reported_repealed", "cn.ep-law.2014.art25": "reported_repealed"}
    assert provision_status(legal_store, "cn.ep-law.2014.art59", "2015-01-01").in_force
    assert not provision_status(legal_store, "cn.ep-law.2014.art59", "2014-12-31").in_force


def test_policy_clauses_by_date(legal_store: GraphStore) -> None:
    new = "cn.mee.2024-6.grading"
    old = "cn.mee.2017-alert-grading.grading"
    assert not provision_status(legal_store, new, "2024-01-22").in_force
    assert provision_status(legal_store, new, "2024-01-23").in_force
    assert provision_status(legal_store, old, "2024-01-22").in_force
    st = provision_status(legal_store, old, "2024-01-23")
    assert st.status == "superseded" and st.repealed_by == "cn.mee.2024-6"
    assert st.citation == "2017年《重污染天气预警分级标准》"
    # the 2024 clause points PM2.5 episodes at Air Law art. 96
    diff = provision_status(legal_store, "cn.mee.2024-6.differentiated", "2025-06-01")
    assert "大气法第九十六条" in diff.text and diff.source_quality == "SECONDARY"


def test_resolve_citation_paragraphs_and_items(legal_store: GraphStore) -> None:
    c = resolve_citation(legal_store, "cn.air-law.2018.art99.i3")
    assert c.regulation_id == "cn.air-law.2018"
    assert c.regulation_title == "中华人民共和国大气污染防治法"
    assert c.article.id == "cn.air-law.2018.art99"
    assert (c.paragraph, c.item) == (1, 3)
    assert c.text == "（三）通过逃避监管的方式排放大气污染物的。"
    assert c.lead_in.startswith("违反本法规定，有下列行为之一的")
    assert c.label == "《中华人民共和国大气污染防治法》第九十九条第（三）项"

    p2 = resolve_citation(legal_store, "cn.air-law.2018.art115.p2")
    assert p2.label == "《中华人民共和国大气污染防治法》第一百一十五条第二款"
    assert p2.text.startswith("违反本法规定，建设单位未对暂时不能开工的建设用地")
    p1 = resolve_citation(legal_store, "cn.air-law.2018.art115.p1")
    assert p1.text.count("\n") == 2  # the paragraph with its two items
    i2 = resolve_citation(legal_store, "cn.air-law.2018.art115.p1.i2")
    assert i2.label == "《中华人民共和国大气污染防治法》第一百一十五条第一款第（二）项"
    assert i2.text.startswith("（二）建筑土方、工程渣土、建筑垃圾未及时清运")
    whole = resolve_citation(legal_store, "cn.ep-law.2014.art63")
    assert whole.label == "《中华人民共和国环境保护法》第六十三条" and whole.paragraph is None

    assert split_citation("cn.mee.2024-6.grading") == ("cn.mee.2024-6.grading", None, None)
    for bad in ("cn.air-law.2018.art130", "cn.air-law.2018.art96.p3",
                "cn.air-law.2018.art96.i1", "nothing"):
        with pytest.raises(CitationError):
            resolve_citation(legal_store, bad)
    with pytest.raises(CitationError):
        provision_status(legal_store, "cn.air-law.2018.art0", "2025-01-01")


def _code_folder(tmp_path: Path, succession: str) -> Path:
    d = tmp_path / "code"
    d.mkdir()
    (d / "code.meta.yaml").write_text(_CODE_META, encoding="utf-8")
    (d / "code.txt").write_text(_CODE_TEXT, encoding="utf-8")
    (d / "succession.yaml").write_text(succession, encoding="utf-8")
    return d


def test_succession_mapping_is_applied(legal_store: GraphStore, tmp_path: Path) -> None:
    d = _code_folder(tmp_path, f"""successions:
  - old: {ART96}
    new: cn.eco-env-code.2026.art1000
    source_quality: UNCONFIRMED
    note: test mapping
""")
    load_regulations(legal_store, d)
    st = provision_status(legal_store, ART96, "2026-08-15")
    assert not st.in_force and st.status == "reported_repealed"
    assert [s.article_id for s in st.successors] == ["cn.eco-env-code.2026.art1000"]
    succ = st.successors[0]
    assert succ.valid_from == "2026-08-15"  # defaulted to the Code's valid_from
    assert succ.citation == "《中华人民共和国生态环境法典》第一千条"
    assert succ.note == "test mapping" and succ.source_quality == "UNCONFIRMED"
    assert "successor provision(s): 《中华人民共和国生态环境法典》第一千条" in st.remark
    assert provision_status(legal_store, succ.article_id, "2026-08-15").in_force
    # idempotent, and an emptied mapping removes the edge it had written
    load_regulations(legal_store, d)
    assert legal_store.read("MATCH ()-[x:SUCCEEDED_BY]->() RETURN count(x) AS n")[0]["n"] == 1
    (d / "succession.yaml").write_text("successions: []\n", encoding="utf-8")
    load_regulations(legal_store, d)
    assert provision_status(legal_store, ART96, "2026-08-15").successors == ()


def test_succession_to_an_unknown_article_is_refused(legal_store: GraphStore,
                                                     tmp_path: Path) -> None:
    d = _code_folder(tmp_path, f"""successions:
  - old: {ART96}
    new: cn.eco-env-code.2026.art1
    source_quality: UNCONFIRMED
""")
    before = legal_store.read("MATCH (n) RETURN count(n) AS n")[0]["n"]
    with pytest.raises(LoadError) as exc:
        load_regulations(legal_store, d)
    e = exc.value
    assert e.file.endswith("succession.yaml") and (e.line, e.field) == (2, "new")
    assert legal_store.read("MATCH (n) RETURN count(n) AS n")[0]["n"] == before


def test_bundled_succession_file_is_empty_and_documented() -> None:
    from ecobrain.kb_loaders.legal.statutes import bundled_statutes_dir, read_succession

    file = bundled_statutes_dir() / "succession.yaml"
    _, entries = read_succession(file)
    assert entries == []
    assert "UNCONFIRMED" in file.read_text(encoding="utf-8")
