"""Loader 1 on the real embedded FalkorDB: concepts, edges, idempotence, bad input, SHACL."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.semantics.ontology_loader import load_ontology
from ecobrain.kb_loaders.semantics.rdf_view import (
    build_rdf_view,
    flatten_shapes,
    shapes_graph,
    validate_graph,
)
from ecobrain.ontology.concepts import EB, ONTOLOGY_PATH, Ontology
from ecobrain.ontology.graph.store import GraphStore

LABEL_COUNTS = "MATCH (n) UNWIND labels(n) AS l RETURN l, count(*) AS n ORDER BY l"
REL_COUNTS = "MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS n ORDER BY t"
PROPS = "MATCH (n) RETURN n.id AS id, properties(n) AS p ORDER BY id"


@pytest.fixture(scope="module")
def onto() -> Ontology:
    return Ontology()


def _state(store: GraphStore) -> tuple[list, list, list]:
    return store.read(LABEL_COUNTS), store.read(REL_COUNTS), store.read(PROPS)


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = ONTOLOGY_PATH.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "ecobrain.ttl"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_load_writes_every_concept_with_kind_labels(store: GraphStore, onto: Ontology) -> None:
    report = load_ontology(store)
    assert report.records == len(onto.concepts)
    assert report.nodes_created == len(onto.concepts)
    labels = {r["l"]: r["n"] for r in store.read(LABEL_COUNTS)}
    assert labels["Concept"] == len(onto.concepts)
    for kind in ("Pollutant", "SourceCategory", "Sector", "EmergencyLevel", "MeasureType",
                 "O3Regime", "PerformanceGrade"):
        assert labels[kind] == len(onto.of_kind(kind)), kind
    row = store.read_one("MATCH (c:Concept {id: 'Petrochemical'}) RETURN labels(c) AS l, "
                         "properties(c) AS p")
    assert row is not None
    assert set(row["l"]) == {"Concept", "SourceCategory", "Sector"}
    p = row["p"]
    assert (p["label_zh"], p["label_en"], p["kind"]) == ("石油化工", "petrochemicals", "Sector")
    assert "石化" in p["aliases"] and p["industry_code"] == "251"
    assert p["iri"] == str(EB.Petrochemical)
    no2 = store.read_one("MATCH (c:Pollutant {id: 'NO2'}) RETURN c.molar_mass AS m")
    assert no2 == {"m": pytest.approx(46.0055)}


def test_subclass_expansion_through_the_graph(store: GraphStore, onto: Ontology) -> None:
    load_ontology(store)
    rows = store.read(
        "MATCH (s:Concept)-[:SUBCLASS_OF*1..]->(p:Concept {id: $id}) "
        "RETURN DISTINCT s.id AS id ORDER BY id", {"id": "VOCsKeyIndustry"})
    found = [r["id"] for r in rows]
    assert found == onto.descendants("VOCsKeyIndustry", include_self=False)
    assert {"Petrochemical", "Chemicals", "Coating", "Printing", "Pharmaceuticals",
            "Furniture", "PackagingPrinting"} <= set(found)
    # every one of them is a Sector node, and a rule on the parent reaches all of them
    sectors = store.read(
        "MATCH (s:Sector)-[:SUBCLASS_OF*0..]->(:Concept {id: $id}) RETURN count(DISTINCT s) AS n",
        {"id": "VOCsKeyIndustry"})
    assert sectors[0]["n"] == len(found) + 1
    # direct edges only: PackagingPrinting's single SUBCLASS_OF goes to Printing
    direct = store.read("MATCH (:Concept {id: 'PackagingPrinting'})-[:SUBCLASS_OF]->(p) "
                        "RETURN p.id AS id")
    assert direct == [{"id": "Printing"}]


def test_relations_between_concepts(store: GraphStore, onto: Ontology) -> None:
    load_ontology(store)
    pre = store.read("MATCH (a:Pollutant)-[:PRECURSOR_OF]->(b:Pollutant) "
                     "RETURN a.id AS a, b.id AS b ORDER BY a, b")
    assert {(r["a"], r["b"]) for r in pre} == {
        ("NOx", "O3"), ("VOCs", "O3"), ("NH3", "PM2_5"), ("NOx", "PM2_5"), ("SO2", "PM2_5"),
        ("VOCs", "PM2_5")}
    emits = store.read("MATCH (s:SourceCategory)-[:MAINLY_EMITS]->(p:Pollutant) "
                       "RETURN s.id AS s, p.id AS p")
    assert {(r["s"], r["p"]) for r in emits} == {
        (r.source, r.target) for r in onto.relations("MAINLY_EMITS")}
    # inherited emissions, asked of the graph: what do VOCs key industries mainly emit?
    inherited = store.read(
        "MATCH (:Concept {id: 'PackagingPrinting'})-[:SUBCLASS_OF*0..]->(a)-[:MAINLY_EMITS]->(p) "
        "RETURN DISTINCT p.id AS p")
    assert [r["p"] for r in inherited] == onto.mainly_emits("PackagingPrinting") == ["VOCs"]
    grade = store.read("MATCH (:PerformanceGrade {id: 'GradeD'})-[:DEFAULT_MEASURE]->(m) "
                       "RETURN m.id AS m")
    assert grade == [{"m": "StopProduction"}]


def test_loading_twice_changes_nothing(store: GraphStore) -> None:
    load_ontology(store)
    first = _state(store)
    again = load_ontology(store)
    assert again.nodes_created == 0 and again.relationships_created == 0
    assert again.written.relationships_deleted == 0 and again.written.nodes_deleted == 0
    assert _state(store) == first


def test_reload_after_an_edit_converges_to_the_file(store: GraphStore, tmp_path: Path) -> None:
    load_ontology(store)
    before = {r["t"]: r["n"] for r in store.read(REL_COUNTS)}
    # drop two MAINLY_EMITS facts, rename a label, move a concept, remove one concept
    path = _edited(tmp_path, "eb:Fireworks eb:mainlyEmits eb:PM2_5 , eb:SO2 .", "")
    text = path.read_text(encoding="utf-8").replace(
        'rdfs:label "船舶"@zh', 'rdfs:label "船舶（内河与沿海）"@zh', 1)
    text = text.replace("eb:PackagingPrinting a owl:Class ;\n    rdfs:subClassOf eb:Printing ;",
                        "eb:PackagingPrinting a owl:Class ;\n    rdfs:subClassOf eb:Coating ;", 1)
    text = text.replace("eb:GasolineVehicle eb:mainlyEmits eb:VOCs , eb:CO .", "", 1)
    start = text.index("eb:GasolineVehicle a owl:Class ;")
    text = text[:start] + text[text.index("\n\n", start) + 2:]
    path.write_text(text, encoding="utf-8")
    report = load_ontology(store, path)
    after = {r["t"]: r["n"] for r in store.read(REL_COUNTS)}
    assert after["MAINLY_EMITS"] == before["MAINLY_EMITS"] - 4
    # the removed concept's node stays (others may point at it) but loses its ontology edges
    assert after["SUBCLASS_OF"] == before["SUBCLASS_OF"] - 2
    assert store.read("MATCH (c:Concept {id:'GasolineVehicle'})-[r]-() RETURN count(r) AS n") \
        == [{"n": 0}]
    assert store.read("MATCH (c:Concept {id:'GasolineVehicle'}) RETURN count(c) AS n") \
        == [{"n": 1}]
    assert store.read_one("MATCH (c:Concept {id:'Ship'}) RETURN c.label_zh AS l") == {
        "l": "船舶（内河与沿海）"}
    parents = store.read("MATCH (:Concept {id:'PackagingPrinting'})-[:SUBCLASS_OF]->(p) "
                         "RETURN p.id AS id")
    assert parents == [{"id": "Coating"}]
    assert any("GasolineVehicle" in n for n in report.notes)


def test_invalid_turtle_names_file_and_line_and_writes_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    path = _edited(tmp_path, 'rdfs:label "臭氧"@zh , "ozone"@en ;',
                   'rdfs:label "臭氧"@zh , "ozone"@en ;;\n    rdfs:comment ] ;')
    bad_line = next(i for i, t in enumerate(path.read_text().splitlines(), 1)
                    if t.strip() == "rdfs:comment ] ;")
    with pytest.raises(LoadError) as err:
        load_ontology(store, path)
    assert err.value.line == bad_line
    assert "ecobrain.ttl" in str(err.value) and f":{bad_line}" in str(err.value)
    assert store.read("MATCH (n) RETURN count(n) AS n") == [{"n": 0}]


def test_invalid_content_writes_nothing_and_keeps_the_old_graph(
    store: GraphStore, tmp_path: Path
) -> None:
    load_ontology(store)
    state = _state(store)
    path = _edited(tmp_path, 'rdfs:label "甲醇"@zh , "methanol"@en ;', 'rdfs:label "甲醇"@zh ;')
    with pytest.raises(LoadError) as err:
        load_ontology(store, path)
    assert err.value.field == "rdfs:label@en" and "Methanol" in str(err.value)
    assert err.value.line == next(i for i, t in enumerate(path.read_text().splitlines(), 1)
                                  if t.startswith("eb:Methanol "))
    assert _state(store) == state


# -- SHACL ---------------------------------------------------------------------------------


def test_loaded_ontology_conforms_to_the_shapes(store: GraphStore, onto: Ontology) -> None:
    load_ontology(store)
    report = validate_graph(store)
    assert report.conforms, report.summary()
    assert report.violations == []
    assert report.nodes == len(onto.concepts)


def test_a_broken_concept_node_is_named_in_the_report(store: GraphStore) -> None:
    load_ontology(store)
    store.write(
        "MATCH (p:Concept {id: 'VOCs'}) "
        "CREATE (c:Concept:Pollutant {id: 'Styrene', iri: $iri, label_en: 'styrene', "
        "kind: 'Pollutant'})-[:SUBCLASS_OF]->(p)",
        {"iri": str(EB.Styrene)})
    store.write("CREATE (:Concept:SourceCategory {id: 'Quarry', iri: $iri, label_zh: '采石场', "
                "label_en: 'quarry', kind: 'Sector'})", {"iri": str(EB.Quarry)})
    report = validate_graph(store)
    assert not report.conforms
    styrene = report.for_node("Styrene")
    assert [(v.path, v.severity) for v in styrene] == [("label_zh", "Violation")]
    assert "Chinese label" in styrene[0].message and "中文名称" in (styrene[0].message_zh or "")
    quarry = {(v.path, v.message) for v in report.for_node("Quarry")}
    assert (None, "the concept node lacks the graph label named by its kind") in quarry
    assert any(path is None and "SUBCLASS_OF a parent" in msg for path, msg in quarry)
    assert {v.focus for v in report.violations} == {"Styrene", "Quarry"}


def test_reference_data_shapes_catch_bad_nodes(store: GraphStore) -> None:
    """Regions, a cell, enterprises, a station, a regulation and articles written directly."""
    load_ontology(store)
    store.write_all([
        ("CREATE (:AdminRegion:Province {id: '330000', code: '330000', name_zh: '浙江省', "
         "level: 'province'})", None),
        ("MATCH (p:Province {id: '330000'}) CREATE (:AdminRegion:City {id: '330100', "
         "code: '330100', name_zh: '杭州市', level: 'city'})-[:PART_OF]->(p)", None),
        ("MATCH (c:City {id: '330100'}) CREATE (:AdminRegion:County {id: '330106', "
         "code: '330106', name_zh: '西湖区', level: 'county'})-[:PART_OF]->(c)", None),
        ("MATCH (c:City {id: '330100'}) CREATE (:County {id: '33010X', code: '33010X', "
         "name_zh: '坏县', level: 'county'})-[:PART_OF]->(c)", None),
        ("MATCH (k:County {id: '330106'}) CREATE (:GridCell {id: 'ZJ3KM:r100c80', row: 100, "
         "col: 80, lon: 120.1, lat: 30.2})-[:IN_REGION]->(k)", None),
        ("MATCH (k:County {id: '330106'}) CREATE (:GridCell {id: 'ZJ3KM:r-1c80', row: -1, "
         "col: 80, lon: 130.0, lat: 30.2})-[:IN_REGION]->(k)", None),
        ("MATCH (k:County {id: '330106'}), (g:GridCell {id: 'ZJ3KM:r100c80'}), "
         "(s:Sector {id: 'Chemicals'}), (p:Pollutant {id: 'VOCs'}) "
         "CREATE (e:Enterprise {id: 'E-good', name: '某化工有限公司', lon: 120.1, lat: 30.2, "
         "performance_grade: 'B'}), (e)-[:IN_REGION]->(k), (e)-[:IN_CELL]->(g), "
         "(e)-[:IN_SECTOR]->(s), (e)-[:EMITS]->(p)", None),
        ("MATCH (k:County {id: '330106'}), (p:Pollutant {id: 'VOCs'}), "
         "(q:Concept {id: 'ConstructionDust'}) "
         "CREATE (e:Enterprise {id: 'E-bad', name: '某企业', lon: 117.0, lat: 30.2, "
         "performance_grade: 'E'}), (e)-[:IN_REGION]->(k), (e)-[:IN_SECTOR]->(q), "
         "(e)-[:IN_SECTOR]->(p)", None),
        ("MATCH (k:County {id: '330106'}), (g:GridCell {id: 'ZJ3KM:r100c80'}) "
         "CREATE (s:MonitoringStation {id: 'S-1', name: '西湖站', lon: 120.1, lat: 30.2}), "
         "(s)-[:IN_REGION]->(k), (s)-[:IN_CELL]->(g)", None),
        ("CREATE (:Regulation {id: 'law', title: '大气污染防治法', valid_from: '2018-10-26', "
         "valid_to: '2026-08-14'})", None),
        ("CREATE (:Regulation {id: 'old', title: '旧规定', valid_to: '2024-01-22'})", None),
        ("CREATE (:Regulation {id: 'backwards', title: '倒置', valid_from: '2020-01-01', "
         "valid_to: '2019-01-01'})", None),
        ("MATCH (r:Regulation {id: 'law'}) CREATE (:Article {id: 'law.art96', number: 96, "
         "kind: 'article', text: '县级以上地方人民政府应当……'})-[:PART_OF]->(r)", None),
        ("MATCH (r:Regulation {id: 'law'}) CREATE (:Article {id: 'law.art0', number: 0, "
         "kind: 'article', text: ''})-[:PART_OF]->(r)", None),
        ("MATCH (r:Regulation {id: 'old'}) CREATE (:Article {id: 'old.grading', "
         "kind: 'provision', text: '蓝色……'})-[:PART_OF]->(r)", None),
    ])
    report = validate_graph(store)
    assert not report.conforms
    by_node: dict[str, set[str | None]] = {}
    for v in report.errors:
        by_node.setdefault(v.focus, set()).add(v.path)
    good = {"330000", "330100", "330106", "ZJ3KM:r100c80", "E-good", "S-1", "law",
            "law.art96", "old.grading"}
    assert not good & set(by_node), report.summary()
    assert {"code", "labels"} <= by_node["33010X"]
    assert {"row", "lon"} <= by_node["ZJ3KM:r-1c80"]
    assert {"lon", "performance_grade", "IN_SECTOR", "EMITS"} <= by_node["E-bad"]
    assert None in by_node["E-bad"]  # neither IN_CELL nor a border cell_id
    assert by_node["backwards"] == {"valid_from"}
    assert {"number", "text"} <= by_node["law.art0"]
    # an unknown start date is a warning, not a violation
    assert [(v.focus, v.path) for v in report.warnings] == [("old", "valid_from")]


def test_bundled_knowledge_conforms(store: GraphStore) -> None:
    """What the real loaders write (the whole `ecobrain kb load` bundle) conforms."""
    from ecobrain.kb_loaders.bundle import load_bundled

    load_bundled(store)
    report = validate_graph(store)
    assert report.conforms, report.summary()
    assert report.nodes > 17000 and report.errors == []
    # the known gaps are reported as warnings: the start dates of the 2017 grading and of the
    # Hangzhou emergency plan (its final issue date was not found, docs/regulations.md §7)
    assert sorted((v.focus, v.path) for v in report.warnings) == [
        ("cn.mee.2017-alert-grading", "valid_from"), ("hz.emergency-plan.2024", "valid_from")]


def test_rdf_view_speaks_the_ontology(store: GraphStore) -> None:
    load_ontology(store)
    view = build_rdf_view(store)
    g = view.graph
    assert (EB.NOx, EB.precursorOf, EB.O3) in g
    assert (EB.Petrochemical, EB.mainlyEmits, EB.Ethylene) in g
    from rdflib import RDF, RDFS, Literal
    assert (EB.Benzene, RDFS.subClassOf, EB.Aromatics) in g
    assert (EB.Petrochemical, RDF.type, EB.Sector) in g
    assert (EB.PM2_5, EB.label_zh, Literal("细颗粒物")) in g
    assert view.graph_name(EB.inSector) == "IN_SECTOR"
    assert view.graph_name(EB.PM2_5) == "PM2_5"


def test_nested_property_shapes_are_flattened_with_their_targets() -> None:
    from rdflib import RDF
    from rdflib.namespace import SH

    from ecobrain.ontology.concepts import SHAPES_PATH, parse_turtle

    raw, _ = parse_turtle(SHAPES_PATH)
    assert shapes_graph() is shapes_graph()  # cached
    flat = flatten_shapes(raw)
    targeted = {s for s in raw.subjects(SH.targetClass, None)}
    nested = [(s, o) for s, o in raw.subject_objects(SH.property) if s in targeted]
    assert len(nested) > 40
    for node_shape, prop_shape in nested:
        assert (node_shape, SH.property, prop_shape) not in flat
        assert (prop_shape, RDF.type, SH.PropertyShape) in flat
        assert set(flat.objects(prop_shape, SH.targetClass)) == set(
            raw.objects(node_shape, SH.targetClass))
    # property shapes inside sh:or alternatives (no targets of their own) stay nested
    assert any(s not in targeted for s, _ in flat.subject_objects(SH.property))
