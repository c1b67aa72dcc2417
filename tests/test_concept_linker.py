"""Article -> concept links (spaCy blank zh, char segmenter, EntityRuler from the ontology)."""

from __future__ import annotations

import pytest

from ecobrain.kb_loaders.legal.statutes import load_regulations
from ecobrain.kb_loaders.semantics.concept_linker import (
    build_pipeline,
    find_mentions,
    link_concepts,
)
from ecobrain.kb_loaders.semantics.ontology_loader import load_ontology
from ecobrain.ontology.concepts import Ontology
from ecobrain.ontology.graph.store import GraphStore


@pytest.fixture
def linked(store: GraphStore) -> GraphStore:
    load_ontology(store)
    load_regulations(store)
    link_concepts(store)
    return store


def _links(store: GraphStore, article_id: str) -> list[tuple[str, str, int, int]]:
    rows = store.read(
        "MATCH (a:Article {id: $id})-[m:MENTIONS]->(c:Concept) "
        "RETURN c.id AS c, m.term AS t, m.start AS s, m.end AS e ORDER BY s",
        {"id": article_id})
    return [(r["c"], r["t"], r["s"], r["e"]) for r in rows]


def test_sample_articles_link_exactly(linked: GraphStore) -> None:
    # Air Law art. 45: VOCs-containing waste gas in closed spaces
    assert _links(linked, "cn.air-law.2018.art45") == [("VOCs", "挥发性有机物", 3, 9)]
    # art. 43: steel, building materials, nonferrous metals, (petroleum,) chemicals emitting NOx
    assert _links(linked, "cn.air-law.2018.art43") == [
        ("IronSteel", "钢铁", 0, 2), ("BuildingMaterials", "建材", 3, 5),
        ("NonferrousMetals", "有色金属", 6, 10), ("Chemicals", "化工", 14, 16),
        ("NOx", "氮氧化物", 33, 37), ("Pollutant", "大气污染物", 79, 84)]
    # art. 96: the emergency measures of a heavy-pollution alert
    assert _links(linked, "cn.air-law.2018.art96") == [
        ("EmergencyLevel", "预警等级", 20, 24), ("StopProduction", "停产", 50, 52),
        ("LimitProduction", "限产", 54, 56), ("RestrictVehicles", "限制部分机动车行驶", 57, 66),
        ("BanFireworks", "禁止燃放烟花爆竹", 67, 75),
        ("StopEarthworksDemolition", "停止工地土石方作业和建筑物拆除施工", 76, 93),
        ("StopOpenAirBarbecue", "停止露天烧烤", 94, 100),
        ("SuspendOutdoorSchoolActivities", "停止幼儿园和学校组织的户外活动", 101, 116),
        ("WeatherModification", "人工影响天气作业", 121, 129),
        ("EmergencyMeasure", "应急措施", 130, 134)]
    # the 2024 guidance clause on pollutant-differentiated handling
    concepts = {c for c, *_ in _links(linked, "cn.mee.2024-6.differentiated")}
    assert {"PM2_5", "O3", "VOCs", "NOx", "HealthAdvice", "DustControl",
            "EmergencyEmissionReduction"} <= concepts


def test_offsets_point_into_the_article_text(linked: GraphStore) -> None:
    rows = linked.read("MATCH (a:Article)-[m:MENTIONS]->(:Concept) "
                       "RETURN a.text AS text, m.start AS s, m.end AS e, m.term AS t")
    assert len(rows) > 300
    for r in rows:
        assert r["text"][r["s"]:r["e"]] == r["t"]


def test_longest_match_wins_for_nested_terms() -> None:
    [mentions] = find_mentions(["可吸入颗粒物和颗粒物；挥发性有机物重点行业排放挥发性有机物"])
    assert [(m.concept_id, m.term) for m in mentions] == [
        ("PM10", "可吸入颗粒物"), ("ParticulateMatter", "颗粒物"),
        ("VOCsKeyIndustry", "挥发性有机物重点行业"), ("VOCs", "挥发性有机物")]


def test_ascii_terms_need_word_boundaries_and_shadow_terms_block() -> None:
    [mentions] = find_mentions(["NOx与NO2、NO及PM2.5；苯并[a]芘不是苯；甲苯"])
    assert [(m.concept_id, m.term) for m in mentions] == [
        ("NOx", "NOx"), ("NO2", "NO2"), ("NO", "NO"), ("PM2_5", "PM2.5"),
        ("Benzene", "苯"), ("Toluene", "甲苯")]


def test_every_ontology_term_links_to_its_concept() -> None:
    terms = Ontology().terms()
    chinese = {t: c for t, c in terms.items() if not t.isascii()}
    found = find_mentions(list(chinese))
    for (term, concept), mentions in zip(chinese.items(), found, strict=True):
        # alone, a term is matched whole (it may contain a shorter term, never win against it)
        assert [(m.concept_id, m.start, m.end) for m in mentions if m.start == 0
                and m.end == len(term)] == [(concept, 0, len(term))], term


def test_pipeline_is_built_once() -> None:
    terms = Ontology().terms()
    assert build_pipeline(terms) is build_pipeline(dict(terms))
    nlp = build_pipeline(terms)
    assert nlp.pipe_names == ["entity_ruler"]
    assert [t.text for t in nlp.make_doc("可吸入颗粒物")] == list("可吸入颗粒物")  # char segmenter


def test_linking_is_idempotent_and_follows_text_changes(linked: GraphStore,
                                                        tmp_path) -> None:
    count = linked.read("MATCH ()-[m:MENTIONS]->() RETURN count(m) AS n")[0]["n"]
    again = link_concepts(linked)
    assert linked.read("MATCH ()-[m:MENTIONS]->() RETURN count(m) AS n")[0]["n"] == count
    assert again.written.relationships_created == 0 and again.written.relationships_deleted == 0
    # a user's statute: link it, change its text, re-link -> stale mentions are gone
    d = tmp_path / "reg"
    d.mkdir()
    (d / "r.meta.yaml").write_text(
        "id: test.reg.2020\ntitle: 测试条例\nkind: regulation\nissuer: 测试\n"
        "valid_from: 2020-01-01\nstatus: in_force\nsource_quality: UNCONFIRMED\n",
        encoding="utf-8")
    (d / "r.txt").write_text("第一条　控制臭氧和氮氧化物。\n", encoding="utf-8")
    load_regulations(linked, d)
    link_concepts(linked, ["test.reg.2020.art1"])
    assert [c for c, *_ in _links(linked, "test.reg.2020.art1")] == ["O3", "NOx"]
    (d / "r.txt").write_text("第一条　控制二氧化硫。\n", encoding="utf-8")
    load_regulations(linked, d)
    link_concepts(linked, ["test.reg.2020.art1"])
    assert _links(linked, "test.reg.2020.art1") == [("SO2", "二氧化硫", 2, 6)]
