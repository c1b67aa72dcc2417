"""Statute texts -> Regulation/Article nodes: parsing, exact text, validity data, bad input."""

from __future__ import annotations

import hashlib
import html
import re
import shutil
from pathlib import Path

import pytest

from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.legal.statute_parser import parse_statute
from ecobrain.kb_loaders.legal.statutes import bundled_statutes_dir, load_regulations
from ecobrain.ontology.cn_numerals import format_cn_int, parse_cn_int
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.legal import article_by_number, articles_of, get_article

BUNDLED = bundled_statutes_dir()
AIR_LAW = BUNDLED / "大气污染防治法-2018.md"
EP_LAW = BUNDLED / "环境保护法-2014.md"
SHARED = Path("/work/shared/domain")

ART96 = (
    "县级以上地方人民政府应当依据重污染天气的预警等级，及时启动应急预案，根据应急需要可以采取"
    "责令有关企业停产或者限产、限制部分机动车行驶、禁止燃放烟花爆竹、停止工地土石方作业和建筑物"
    "拆除施工、停止露天烧烤、停止幼儿园和学校组织的户外活动、组织开展人工影响天气作业等应急措施。"
    "\n应急响应结束后，人民政府应当及时开展应急预案实施情况的评估，适时修改完善应急预案。"
)


def _norm(text: str) -> str:
    return re.sub(r"\s", "", text)


def _counts(store: GraphStore) -> tuple[int, int]:
    nodes = store.read("MATCH (n) RETURN count(n) AS n")[0]["n"]
    rels = store.read("MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"]
    return nodes, rels


# --- Chinese numerals ----------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("九十六", 96), ("一百", 100),
    ("一百零八", 108), ("一百一十", 110), ("一百二十三", 123), ("一百二十九", 129),
    ("两百", 200), ("一千零一十", 1010), ("一千二百四十二", 1242),
])
def test_chinese_numerals(text: str, value: int) -> None:
    assert parse_cn_int(text) == value
    if "两" not in text:
        assert format_cn_int(value) == text


def test_chinese_numerals_round_trip_and_bad_input() -> None:
    for n in range(1, 1500):
        assert parse_cn_int(format_cn_int(n)) == n
    for bad in ("", "十十", "一二", "百", "零十", "九十六条", "abc"):
        with pytest.raises(ValueError):
            parse_cn_int(bad)


# --- parser: exact text against the source ---------------------------------------------------

def test_bundled_texts_are_the_shared_verified_mirrors() -> None:
    if not (SHARED / "statutes").is_dir():
        pytest.skip("shared domain folder not present")
    for name in (AIR_LAW.name, EP_LAW.name):
        bundled = hashlib.sha256((BUNDLED / name).read_bytes()).hexdigest()
        shared = hashlib.sha256((SHARED / "statutes" / name).read_bytes()).hexdigest()
        assert bundled == shared, name


@pytest.mark.parametrize("path,count", [(AIR_LAW, 129), (EP_LAW, 70)])
def test_parsed_text_equals_source_paragraph_by_paragraph(path: Path, count: int) -> None:
    """An independent read of the mirror's HTML (<p id="tN">…</p>) gives the same text."""
    raw = path.read_text(encoding="utf-8")
    source = {int(n): body for n, body in re.findall(r'<p id="t(\d+)">(.*?)</p>', raw, re.S)}
    parsed = parse_statute(path)
    assert [a.number for a in parsed.articles] == list(range(1, count + 1))
    assert sorted(source) == list(range(1, count + 1))
    for a in parsed.articles:
        body = html.unescape(re.sub(r"<[^>]+>", "", source[a.number]))
        body = body.strip().removeprefix(a.number_zh)
        assert _norm(a.text) == _norm(body), a.number
        # line structure: one line per paragraph or item, as <br> separates them
        assert len(a.lines) == source[a.number].count("<br>") + 1


def test_parsed_text_equals_verbatim_quotations_in_facts() -> None:
    """FACTS.md §4 quotes 55 articles verbatim (machine-checked there against the mirror)."""
    facts = SHARED / "FACTS.md"
    if not facts.exists():
        pytest.skip("FACTS.md not present")
    text = facts.read_text(encoding="utf-8")
    section = text[text.index("## 4."):text.index("## 5.")]
    ep_start = section.index("### 4.8")
    air, ep = parse_statute(AIR_LAW), parse_statute(EP_LAW)
    pattern = re.compile(r"\*\*第([^条*]+)条(?:（第([^款]+)款）)?\*\* (.*?)"
                         r"(?=\n\*\(|\n\n|\n\*\*第|\n\(|\Z)", re.S)
    checked = 0
    for m in pattern.finditer(section):
        law = ep if m.start() > ep_start else air
        article = law.article(parse_cn_int(m.group(1)))
        if m.group(2):
            expected = article.paragraphs[parse_cn_int(m.group(2)) - 1].text
        else:
            expected = article.text
        assert _norm(m.group(3)) == _norm(expected), m.group(1)
        checked += 1
    assert checked == 55


def test_structure_chapters_sections_paragraphs_items() -> None:
    air = parse_statute(AIR_LAW)
    a43 = air.article(43)
    assert (a43.chapter, a43.chapter_title, a43.section, a43.section_title) == (
        4, "大气污染防治措施", 2, "工业污染防治")
    a96 = air.article(96)
    assert (a96.chapter, a96.chapter_title, a96.section) == (6, "重污染天气应对", None)
    assert a96.text == ART96
    assert len(a96.paragraphs) == 2
    a99 = air.article(99)
    assert len(a99.paragraphs) == 1
    assert [i.number for i in a99.paragraphs[0].items] == [1, 2, 3]
    assert a99.paragraphs[0].items[2].text == "（三）通过逃避监管的方式排放大气污染物的。"
    a115 = air.article(115)
    assert [len(p.items) for p in a115.paragraphs] == [2, 0]
    chapters = {(a.chapter, a.section): [] for a in air.articles}
    for a in air.articles:
        chapters[(a.chapter, a.section)].append(a.number)
    # FACTS.md §4 chapter map
    assert {k: (v[0], v[-1]) for k, v in chapters.items()} == {
        (1, None): (1, 7), (2, None): (8, 17), (3, None): (18, 31), (4, 1): (32, 42),
        (4, 2): (43, 49), (4, 3): (50, 67), (4, 4): (68, 72), (4, 5): (73, 85),
        (5, None): (86, 92), (6, None): (93, 97), (7, None): (98, 127), (8, None): (128, 129)}


def test_plain_text_layout(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("示例条例\n\n第一章　总则\n第一条　第一款。\n第二款：\n（一）甲；\n（二）乙。\n"
                 "第二节 小节\n第二条　只有一款。\n", encoding="utf-8")
    parsed = parse_statute(f)
    a1, a2 = parsed.articles
    assert a1.text == "第一款。\n第二款：\n（一）甲；\n（二）乙。"
    assert [p.text for p in a1.paragraphs] == ["第一款。", "第二款："]
    assert [len(p.items) for p in a1.paragraphs] == [0, 2]
    assert (a2.chapter, a2.chapter_title, a2.section, a2.section_title) == (1, "总则", 2, "小节")


# --- bad input: clear error, nothing written -----------------------------------------------

_META = """id: test.reg.2020
title: 测试条例
kind: regulation
issuer: 测试机关
valid_from: 2020-01-01
status: in_force
source_quality: UNCONFIRMED
"""


def _folder(tmp_path: Path, text: str, meta: str = _META, name: str = "reg") -> Path:
    d = tmp_path / "statutes"
    d.mkdir(exist_ok=True)
    (d / f"{name}.txt").write_text(text, encoding="utf-8")
    (d / f"{name}.meta.yaml").write_text(meta, encoding="utf-8")
    return d


def test_file_without_article_structure(store: GraphStore, tmp_path: Path) -> None:
    d = _folder(tmp_path, "这是一段说明文字。\n没有任何条文编号。\n")
    with pytest.raises(LoadError) as exc:
        load_regulations(store, d)
    e = exc.value
    assert e.file and e.file.endswith("reg.txt") and e.line == 1 and e.field == "article"
    assert "reg.txt:1 [article]" in str(e)
    assert _counts(store) == (0, 0)


@pytest.mark.parametrize("text,line,word", [
    ("第一条　甲。\n第二条　乙。\n第二条　丙。\n", 3, "duplicate"),
    ("第一条　甲。\n第三条　乙。\n第二条　丙。\n", 3, "out of order"),
    ("第一条　甲。\n第十十条　乙。\n", 2, "bad article number"),
])
def test_duplicate_or_out_of_order_articles(store: GraphStore, tmp_path: Path, text: str,
                                            line: int, word: str) -> None:
    d = _folder(tmp_path, text)
    with pytest.raises(LoadError) as exc:
        load_regulations(store, d)
    assert exc.value.line == line and exc.value.field == "article"
    assert word in str(exc.value)
    assert _counts(store) == (0, 0)


def test_bad_sidecar_date(store: GraphStore, tmp_path: Path) -> None:
    d = _folder(tmp_path, "第一条　甲。\n", _META.replace("2020-01-01", "2020-13-45"))
    with pytest.raises(LoadError) as exc:
        load_regulations(store, d)
    e = exc.value
    assert e.file and e.file.endswith("reg.meta.yaml")
    assert (e.line, e.field) == (5, "valid_from")
    assert "not a date" in str(e)
    assert _counts(store) == (0, 0)


def test_missing_sidecar_and_missing_field(store: GraphStore, tmp_path: Path) -> None:
    d = _folder(tmp_path, "第一条　甲。\n")
    (d / "orphan.txt").write_text("第一条　甲。\n", encoding="utf-8")
    with pytest.raises(LoadError) as exc:
        load_regulations(store, d)
    assert exc.value.file.endswith("orphan.txt") and exc.value.field == "meta"
    (d / "orphan.txt").unlink()
    (d / "reg.meta.yaml").write_text(_META.replace("issuer: 测试机关\n", ""), encoding="utf-8")
    with pytest.raises(LoadError) as exc:
        load_regulations(store, d)
    assert exc.value.field == "issuer"
    assert _counts(store) == (0, 0)


def test_one_bad_file_blocks_the_whole_folder(store: GraphStore, tmp_path: Path) -> None:
    d = tmp_path / "statutes"
    shutil.copytree(BUNDLED, d)
    (d / "bad.txt").write_text("第一条　甲。\n第一条　乙。\n", encoding="utf-8")
    (d / "bad.meta.yaml").write_text(_META, encoding="utf-8")
    with pytest.raises(LoadError) as exc:
        load_regulations(store, d)
    assert exc.value.file.endswith("bad.txt") and exc.value.line == 2
    assert _counts(store) == (0, 0)


def test_repeal_must_point_at_a_known_regulation(store: GraphStore, tmp_path: Path) -> None:
    meta = _META.replace("status: in_force", "status: repealed\nvalid_to: 2021-01-01\n"
                         "repealed_by: test.nowhere.2021")
    d = _folder(tmp_path, "第一条　甲。\n", meta)
    with pytest.raises(LoadError) as exc:
        load_regulations(store, d)
    assert exc.value.field == "repealed_by" and exc.value.line == 8


# quoted provisions that come from the 2026-12 legal research (sources in docs/regulations.md),
# not from FACTS.md
FROM_LEGAL_RESEARCH = {"cn.mee.2024-6.preamble"}


# --- loading the bundled statutes -------------------------------------------------------------

def test_bundled_load_articles_and_regulations(store: GraphStore) -> None:
    report = load_regulations(store)
    numbers = store.read(
        "MATCH (a:Article)-[:PART_OF]->(:Regulation {id: 'cn.air-law.2018'}) "
        "RETURN a.number AS n ORDER BY n")
    assert [r["n"] for r in numbers] == list(range(1, 130))  # every article once
    ids = store.read("MATCH (a:Article) WHERE a.regulation_id = 'cn.air-law.2018' "
                     "RETURN count(DISTINCT a.id) AS n")
    assert ids[0]["n"] == 129
    assert len(articles_of(store, "cn.ep-law.2014")) == 70
    regs = {r["id"]: r for r in store.read(
        "MATCH (g:Regulation) RETURN g.id AS id, g.status AS status, g.valid_from AS vf, "
        "g.valid_to AS vt, g.kind AS kind, g.issuer AS issuer, g.source_quality AS q, "
        "g.repeal_source_quality AS rq, g.article_count AS n")}
    assert set(regs) == {"cn.air-law.2018", "cn.ep-law.2014", "cn.eco-env-code.2026",
                         "cn.mee.2024-6", "cn.mee.2017-alert-grading",
                         # in force after the Code (issue 12): Zhejiang, Hangzhou, national
                         "zj.air-reg.2020", "zj.vehicle-reg.2020", "zj.emergency-plan.2024",
                         "hz.air-reg.2016", "hz.emergency-plan.2024", "cn.emergency-law.2024",
                         "cn.mee.tech-guide.2020", "cn.state-council.2023-24"}
    zj = regs["zj.air-reg.2020"]
    assert (zj["status"], zj["vf"], zj["vt"], zj["kind"], zj["q"], zj["n"]) == (
        "in_force", "2020-11-27", None, "regulation", "PRIMARY", 71)
    assert (regs["hz.air-reg.2016"]["n"], regs["zj.vehicle-reg.2020"]["n"]) == (5, 4)
    air = regs["cn.air-law.2018"]
    assert (air["status"], air["vf"], air["vt"], air["kind"], air["q"], air["rq"], air["n"]) == (
        "reported_repealed", "2018-10-26", "2026-08-14", "law", "PRIMARY", "CODE", 129)
    assert air["issuer"] == "全国人民代表大会常务委员会"
    assert (regs["cn.ep-law.2014"]["vf"], regs["cn.ep-law.2014"]["vt"]) == (
        "2015-01-01", "2026-08-14")
    code = regs["cn.eco-env-code.2026"]
    assert (code["vf"], code["kind"], code["n"]) == ("2026-08-15", "code", 0)
    assert store.read("MATCH (a:Article)-[:PART_OF]->(:Regulation {id: 'cn.eco-env-code.2026'}) "
                      "RETURN count(a) AS n")[0]["n"] == 0
    repeals = store.read("MATCH (a:Regulation)-[x:REPEALED_BY]->(b:Regulation) "
                         "RETURN a.id AS a, b.id AS b, x.from AS f ORDER BY a")
    assert repeals == [
        {"a": "cn.air-law.2018", "b": "cn.eco-env-code.2026", "f": "2026-08-15"},
        {"a": "cn.ep-law.2014", "b": "cn.eco-env-code.2026", "f": "2026-08-15"},
        {"a": "cn.mee.2017-alert-grading", "b": "cn.mee.2024-6", "f": "2024-01-23"}]
    assert report.records > 0 and any("cn.eco-env-code.2026" in n for n in report.notes)


def test_article_lookup_by_number_has_exact_text(store: GraphStore) -> None:
    load_regulations(store)
    a = article_by_number(store, "cn.air-law.2018", 96)
    assert a is not None
    assert a.id == "cn.air-law.2018.art96"
    assert a.text == ART96
    assert a.number_zh == "第九十六条"
    assert a.citation == "《中华人民共和国大气污染防治法》第九十六条"
    assert (a.chapter, a.chapter_title) == (6, "重污染天气应对")
    assert (a.valid_from, a.valid_to, a.source_quality) == ("2018-10-26", "2026-08-14", "PRIMARY")
    a123 = article_by_number(store, "cn.air-law.2018", 123)
    assert a123 is not None and a123.number_zh == "第一百二十三条"
    assert [i.number for i in a123.items] == [1, 2, 3, 4]
    ep59 = article_by_number(store, "cn.ep-law.2014", 59)
    assert ep59 is not None and ep59.text.startswith("企业事业单位和其他生产经营者违法排放污染物")
    assert len(ep59.paragraphs) == 3
    # the search feature finds Chinese text with CONTAINS
    hits = store.read("MATCH (a:Article) WHERE a.text CONTAINS $q RETURN a.id AS id ORDER BY id",
                      {"q": "停止露天烧烤"})
    assert "cn.air-law.2018.art96" in [h["id"] for h in hits]


def test_quoted_provisions_are_verbatim(store: GraphStore) -> None:
    load_regulations(store)
    grading = get_article(store, "cn.mee.2024-6.grading")
    assert grading is not None and grading.kind == "provision"
    assert grading.text.startswith("统一以空气质量指数(AQI)为预警分级指标")
    assert grading.text.endswith("其他近三年仍出现重污染日的省市县原则上参照执行。")
    assert grading.source_quality == "SECONDARY"
    assert grading.citation == (
        "《关于进一步优化重污染天气应对机制的指导意见》（环大气〔2024〕6号）预警分级条款")
    ids = [a.id for a in articles_of(store, "cn.mee.2017-alert-grading")]
    assert ids == ["cn.mee.2017-alert-grading.daily-mean", "cn.mee.2017-alert-grading.grading",
                   "cn.mee.2017-alert-grading.stricter-local"]
    facts = SHARED / "FACTS.md"
    if facts.exists():
        source = facts.read_text(encoding="utf-8")
        for reg in ("cn.mee.2024-6", "cn.mee.2017-alert-grading"):
            for a in articles_of(store, reg):
                if a.id in FROM_LEGAL_RESEARCH:
                    continue
                assert a.text in source, a.id  # never paraphrased
    # quoted after FACTS.md was written, from the reprint its sidecar names (docs/regulations.md)
    preamble = get_article(store, "cn.mee.2024-6.preamble")
    assert preamble is not None and preamble.text.startswith("为巩固空气质量改善成果")


def test_loading_twice_leaves_the_same_graph(store: GraphStore) -> None:
    load_regulations(store)
    first = _counts(store)
    again = load_regulations(store)
    assert _counts(store) == first
    assert again.written.nodes_created == 0 and again.written.relationships_created == 0
    assert again.written.nodes_deleted == 0 and again.written.relationships_deleted == 0


def test_user_folder_reload_drops_articles_no_longer_in_the_file(store: GraphStore,
                                                                  tmp_path: Path) -> None:
    d = _folder(tmp_path, "第一条　甲。\n第二条　乙。\n")
    load_regulations(store, d)
    assert [a.number for a in articles_of(store, "test.reg.2020")] == [1, 2]
    (d / "reg.txt").write_text("第一条　甲（修改）。\n", encoding="utf-8")
    load_regulations(store, d)
    arts = articles_of(store, "test.reg.2020")
    assert [(a.number, a.text) for a in arts] == [(1, "甲（修改）。")]
