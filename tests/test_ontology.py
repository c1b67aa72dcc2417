"""The ontology file and its Python view: labels, hierarchy, domain facts, errors, OWL check."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from rdflib import RDFS, Graph

from ecobrain.ontology.concepts import (
    EB,
    ONTOLOGY_PATH,
    Ontology,
    OntologyError,
)
from ecobrain.ontology.owl_check import check_consistency

KINDS = {
    "Pollutant",
    "SourceCategory",
    "Sector",
    "EmergencyLevel",
    "MeasureType",
    "O3Regime",
    "PerformanceGrade",
}
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def onto() -> Ontology:
    return Ontology()


def _copy_with(tmp_path: Path, extra: str = "", replace: tuple[str, str] | None = None) -> Path:
    text = ONTOLOGY_PATH.read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text, replace[0]
        text = text.replace(replace[0], replace[1], 1)
    path = tmp_path / "ecobrain.ttl"
    path.write_text(text + extra, encoding="utf-8")
    return path


# -- the file ------------------------------------------------------------------------------


def test_turtle_parses_with_header() -> None:
    g = Graph().parse(ONTOLOGY_PATH, format="turtle")
    assert len(g) > 1000
    onto = Ontology()
    assert onto.version and re.fullmatch(r"\d+\.\d+\.\d+", onto.version)


def test_every_concept_has_one_zh_and_one_en_label(onto: Ontology) -> None:
    g = onto.graph
    for c in onto.concepts.values():
        zh = [lit for lit in g.objects(EB[c.id], RDFS.label) if lit.language == "zh"]
        en = [lit for lit in g.objects(EB[c.id], RDFS.label) if lit.language == "en"]
        assert len(zh) == 1 and len(en) == 1, c.id
        assert HAN.search(c.label_zh), f"{c.id}: Chinese label {c.label_zh!r} has no Han chars"
        assert c.label_en.isascii(), f"{c.id}: English label {c.label_en!r}"


def test_kinds_are_the_seven_top_level_classes(onto: Ontology) -> None:
    assert set(onto.kinds) == KINDS
    for c in onto.concepts.values():
        assert c.kinds <= KINDS and c.kinds, c.id
        assert c.kind in c.kinds
    sector = onto.concept("Petrochemical")
    assert sector.kinds == {"SourceCategory", "Sector"} and sector.kind == "Sector"
    assert onto.concept("ConstructionDust").kinds == {"SourceCategory"}
    assert onto.concept("Benzene").kinds == {"Pollutant"}


def test_required_concepts_exist_with_expected_names(onto: Ontology) -> None:
    expected = {
        "PM2_5": ("细颗粒物", "PM2.5"),
        "PM10": ("可吸入颗粒物", "PM10"),
        "O3": ("臭氧", "ozone"),
        "NO2": ("二氧化氮", "nitrogen dioxide"),
        "SO2": ("二氧化硫", "sulfur dioxide"),
        "CO": ("一氧化碳", "carbon monoxide"),
        "NOx": ("氮氧化物", "nitrogen oxides"),
        "VOCs": ("挥发性有机物", "volatile organic compounds"),
        "NH3": ("氨", "ammonia"),
        "Ethylene": ("乙烯", "ethylene"),
        "Ethane": ("乙烷", "ethane"),
        "Isoprene": ("异戊二烯", "isoprene"),
        "Benzene": ("苯", "benzene"),
        "Formaldehyde": ("甲醛", "formaldehyde"),
        "Methanol": ("甲醇", "methanol"),
        "OC": ("有机碳", "organic carbon"),
        "EC": ("元素碳", "elemental carbon"),
    }
    for cid, (zh, en) in expected.items():
        c = onto.concept(cid)
        assert (c.label_zh, c.label_en) == (zh, en), cid
        assert "Pollutant" in c.kinds
    sectors = ["Power", "IronSteel", "Cement", "Petrochemical", "Chemicals", "Coating",
               "Printing", "Pharmaceuticals", "TextileDyeing", "CeramicsGlass", "Ceramics",
               "Glass", "OilStorageTransport", "Furniture", "PackagingPrinting"]
    for cid in sectors:
        assert onto.is_kind(cid, "Sector"), cid
    sources = ["MobileSource", "DieselTruck", "Ship", "ConstructionDust", "RoadDust",
               "OpenBurning", "Agriculture", "Biogenic", "NonRoadMachinery", "Residential"]
    for cid in sources:
        assert onto.is_kind(cid, "SourceCategory") and not onto.is_kind(cid, "Sector"), cid


def test_aliases_name_the_usual_symbols(onto: Ontology) -> None:
    terms = onto.terms()
    assert terms["PM2.5"] == "PM2_5"
    assert terms["细颗粒物"] == "PM2_5"
    assert terms["fine particulate matter"] == "PM2_5"
    assert terms["VOC"] == terms["VOCs"] == terms["挥发性有机物"] == "VOCs"
    assert terms["臭氧"] == terms["ozone"] == terms["O3"] == "O3"
    assert terms["HCHO"] == "Formaldehyde"
    assert terms["VOCs重点行业"] == "VOCsKeyIndustry"
    assert onto.lookup("pm2.5") == "PM2_5"
    # every concept's labels and aliases are in terms(), each naming that concept only
    for c in onto.concepts.values():
        for name in c.names():
            assert terms[name] == c.id


def test_annotations_become_properties(onto: Ontology) -> None:
    molar = {"NO2": 46.0055, "SO2": 64.066, "O3": 48.00, "CO": 28.010, "Formaldehyde": 30.026}
    for cid, mm in molar.items():
        assert onto.concept(cid).properties["molar_mass"] == pytest.approx(mm)
    assert onto.concept("Power").properties["industry_code"] == "4411"
    assert onto.concept("Cement").properties["industry_code"] == "3011"
    ranks = {c: onto.concept(c).properties["severity_rank"]
             for c in ("AlertBlue", "AlertYellow", "AlertOrange", "AlertRed")}
    assert ranks == {"AlertBlue": 1, "AlertYellow": 2, "AlertOrange": 3, "AlertRed": 4}
    grades = {onto.concept(c).properties["response_grade"]
              for c in ("AlertYellow", "AlertOrange", "AlertRed")}
    assert grades == {"Ⅲ", "Ⅱ", "Ⅰ"}
    codes = {onto.concept(c).properties["grade_code"] for c in onto.of_kind("PerformanceGrade")
             if c != "PerformanceGrade"}
    assert codes == {"A", "B", "C", "D", "leading"}


# -- hierarchy -----------------------------------------------------------------------------


def test_voc_species_under_vocs(onto: Ontology) -> None:
    species = {"Ethylene", "Ethane", "Isoprene", "Benzene", "Formaldehyde", "Methanol"}
    assert species <= set(onto.descendants("VOCs"))
    for s in species:
        assert onto.is_a(s, "VOCs") and "VOCs" in onto.ancestors(s)
    assert onto.is_a("NO2", "NOx") and onto.is_a("PM2_5", "ParticulateMatter")
    assert onto.is_a("OC", "ParticulateMatter") and not onto.is_a("OC", "VOCs")


def test_subclass_expansion_from_vocs_key_industries(onto: Ontology) -> None:
    below = set(onto.descendants("VOCsKeyIndustry", include_self=False))
    # every concept whose ancestry reaches VOCsKeyIndustry is found, and nothing else
    expected = {c.id for c in onto.concepts.values() if "VOCsKeyIndustry" in onto.ancestors(c.id)}
    assert below == expected
    assert {"Petrochemical", "Chemicals", "Coating", "Printing", "Pharmaceuticals",
            "Furniture", "PackagingPrinting"} <= below
    # PackagingPrinting is found through Printing (two levels down)
    assert onto.concept("PackagingPrinting").parents == ["Printing"]
    # Coating has two parents and is found from both
    assert set(onto.concept("Coating").parents) == {"VOCsKeyIndustry", "SolventUse"}
    assert "Coating" in onto.descendants("SolventUse")
    assert "Power" not in below and "VOCsKeyIndustry" in onto.descendants("VOCsKeyIndustry")
    assert all(onto.is_kind(c, "Sector") for c in below)


# -- domain facts --------------------------------------------------------------------------


def test_precursor_facts_exactly_as_specified(onto: Ontology) -> None:
    facts = {(r.source, r.target) for r in onto.relations("PRECURSOR_OF")}
    assert facts == {
        ("NOx", "O3"), ("VOCs", "O3"),
        ("SO2", "PM2_5"), ("NOx", "PM2_5"), ("NH3", "PM2_5"), ("VOCs", "PM2_5"),
    }
    assert onto.precursors_of("O3") == ["NOx", "VOCs"]
    assert onto.precursors_of("PM2_5") == ["NH3", "NOx", "SO2", "VOCs"]
    assert "NO2" in onto.precursors_of("O3", include_subclasses=True)
    assert onto.precursor_targets("Benzene") == ["O3", "PM2_5"]
    assert onto.precursor_targets("CO") == []


def test_mainly_emits_facts(onto: Ontology) -> None:
    assert onto.mainly_emits("Agriculture") == ["NH3"]
    assert set(onto.mainly_emits("Power")) >= {"SO2", "NOx", "PM2_5"}
    assert "VOCs" in onto.mainly_emits("Petrochemical")  # inherited from VOCsKeyIndustry
    assert "VOCs" not in onto.mainly_emits("Petrochemical", inherited=False)
    assert onto.mainly_emits("PackagingPrinting") == ["VOCs"]
    assert set(onto.mainly_emits("DieselTruck")) == {"NOx", "PM2_5", "EC"}
    assert set(onto.mainly_emits("ConstructionDust")) == {"PM10", "PM2_5"}
    # every VOCs key industry mainly emits VOCs; every dust source PM10
    for s in onto.descendants("VOCsKeyIndustry"):
        assert "VOCs" in onto.mainly_emits(s), s
    assert "Petrochemical" in onto.emitters_of("Benzene")
    assert "Agriculture" in onto.emitters_of("NH3")
    for r in onto.relations("MAINLY_EMITS"):
        assert onto.is_kind(r.source, "SourceCategory") and onto.is_kind(r.target, "Pollutant")


def test_measures_levels_regimes_grades(onto: Ontology) -> None:
    measures = set(onto.of_kind("MeasureType"))
    assert {"StopProduction", "LimitProduction", "RestrictVehicles", "BanFireworks",
            "StopEarthworksDemolition", "StopOpenAirBarbecue", "SuspendOutdoorSchoolActivities",
            "WeatherModification", "HealthAdvice", "VOCsSupervision", "NOxSupervision",
            "DustControl", "LDAR", "FacilityInspection", "DenitrationCheck",
            "DesulfurizationCheck", "OnlineMonitoringCheck", "FieldPatrol",
            "RegionalJointControl"} <= measures
    assert set(onto.of_kind("EmergencyLevel")) == {
        "EmergencyLevel", "AlertBlue", "AlertYellow", "AlertOrange", "AlertRed"}
    assert set(onto.of_kind("O3Regime")) == {"O3Regime", "VOCLimited", "Transitional",
                                             "NOxLimited"}
    assert onto.related("VOCLimited", "PRIORITISES") == ["VOCs"]
    assert onto.related("GradeD", "DEFAULT_MEASURE") == ["StopProduction"]
    assert onto.related("RestrictVehicles", "TARGETS") == ["OnRoadVehicle"]


def test_relationship_types_from_graph_type(onto: Ontology) -> None:
    rt = onto.relationship_types()
    required = {"SUBCLASS_OF", "PRECURSOR_OF", "MAINLY_EMITS", "PART_OF", "IN_REGION",
                "IN_CELL", "IN_SECTOR", "EMITS", "MENTIONS", "SUCCEEDED_BY", "REPEALED_BY",
                "CITES", "CONCERNS", "TARGETS", "HAS_RUN", "DECIDED_ON", "HAS_ALERT",
                "HAS_TASK", "HAS_ADVICE", "GROUNDED_IN", "EVIDENCED_BY", "ASSIGNED_TO",
                "ABOUT", "MADE_BY"}
    assert required <= set(rt)
    assert rt["IN_SECTOR"].domain == ("Enterprise",) and rt["IN_SECTOR"].range == ("Sector",)
    assert rt["SUBCLASS_OF"].property_iri == str(RDFS.subClassOf)
    assert set(rt["IN_REGION"].domain) == {"GridCell", "MonitoringStation", "Enterprise"}


def test_schema_classes_have_names(onto: Ontology) -> None:
    labels = {s.graph_label for s in onto.schema_classes.values() if s.graph_label}
    assert {"AdminRegion", "Province", "City", "County", "GridCell", "Enterprise",
            "MonitoringStation", "Regulation", "Article", "Standard", "EmergencyPlan", "Rule",
            "ModelRun", "Finding", "Decision", "Alert", "Task", "Advice"} <= labels
    assert onto.schema_classes["County"].parents == ["AdminRegion"]
    assert not set(onto.schema_classes) & set(onto.concepts)


def test_unknown_concept_suggests(onto: Ontology) -> None:
    with pytest.raises(KeyError, match="did you mean PM2_5"):
        onto.concept("PM25")


# -- errors --------------------------------------------------------------------------------


def test_invalid_turtle_names_file_and_line(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, replace=("eb:CO a owl:Class ;", "eb:CO a owl:Class } ;"))
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "owl:Class } ;" in t)
    with pytest.raises(OntologyError) as err:
        Ontology(path)
    assert err.value.line == line
    assert f"ecobrain.ttl line {line}" in str(err.value)
    assert "invalid Turtle" in str(err.value)


def test_missing_label_names_concept_line_and_field(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, replace=('rdfs:label "甲醇"@zh , "methanol"@en ;',
                                         'rdfs:label "methanol"@en ;'))
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1)
                if t.startswith("eb:Methanol "))
    with pytest.raises(OntologyError) as err:
        Ontology(path)
    assert err.value.line == line and err.value.field == "rdfs:label@zh"
    assert "Methanol" in str(err.value)


def test_typo_in_a_fact_is_reported(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "\neb:Cement eb:mainlyEmits eb:PM25 .\n")
    with pytest.raises(OntologyError, match=r"eb:PM25.*never declared") as err:
        Ontology(path)
    assert err.value.line == len(path.read_text().splitlines())


def test_relation_between_wrong_kinds_is_reported(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "\neb:Benzene eb:mainlyEmits eb:VOCs .\n")
    with pytest.raises(OntologyError, match="'Benzene' is not a SourceCategory"):
        Ontology(path)


def test_ambiguous_term_is_reported(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, '\neb:Ethane skos:altLabel "VOC"@en .\n')
    with pytest.raises(OntologyError, match="'VOC' names both"):
        Ontology(path)


def test_subclass_cycle_is_reported(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "\neb:VOCs rdfs:subClassOf eb:Benzene .\n")
    with pytest.raises(OntologyError, match="subclass cycle"):
        Ontology(path)


def test_cache_follows_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "ecobrain.ttl"
    shutil.copy(ONTOLOGY_PATH, path)
    before = Ontology(path)
    assert "Toluene" in before
    text = path.read_text(encoding="utf-8")
    text += '\neb:Styrene a owl:Class ; rdfs:subClassOf eb:Aromatics ;\n' \
            '    rdfs:label "苯乙烯"@zh , "styrene"@en .\n'
    path.write_text(text, encoding="utf-8")
    after = Ontology(path)
    assert "Styrene" in after and "Styrene" in after.descendants("VOCs")
    assert Ontology().concepts is Ontology().concepts  # one parse per file version


# -- OWL consistency -----------------------------------------------------------------------

REASONERS = [
    pytest.param("HermiT", marks=pytest.mark.skipif(
        shutil.which("java") is None, reason="HermiT needs java")),
    "owlrl",
]


@pytest.mark.parametrize("reasoner", REASONERS)
def test_ontology_is_consistent(reasoner: str) -> None:
    result = check_consistency(reasoner=reasoner)
    assert result.reasoner == reasoner
    assert result.consistent, result.message
    assert result.unsatisfiable == ()
    # at least the asserted hierarchy, transitively closed, is entailed
    onto = Ontology()
    closure = sum(len(onto.ancestors(c)) for c in onto.concepts)
    assert result.inferred_subclass_count >= closure


@pytest.mark.skipif(shutil.which("java") is None, reason="HermiT needs java")
def test_default_reasoner_is_hermit_when_java_is_present() -> None:
    result = check_consistency()
    assert result.reasoner == "HermiT" and result.consistent
    assert result.inferred_subclass_count == check_consistency(
        reasoner="owlrl").inferred_subclass_count


@pytest.mark.parametrize("reasoner", REASONERS)
def test_pollutant_used_as_a_source_is_inconsistent(reasoner: str, tmp_path: Path) -> None:
    # mainlyEmits has domain SourceCategory, and Ethylene is a Pollutant (range of mainlyEmits);
    # Pollutant and SourceCategory are disjoint
    path = _copy_with(tmp_path, "\neb:Ethylene eb:mainlyEmits eb:VOCs .\n")
    result = check_consistency(path, reasoner=reasoner)
    assert not result.consistent
    assert "inconsistent" in result.message


@pytest.mark.parametrize("reasoner", REASONERS)
def test_species_filed_under_a_sector_is_unsatisfiable(reasoner: str, tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "\neb:Benzene rdfs:subClassOf eb:Petrochemical .\n")
    result = check_consistency(path, reasoner=reasoner)
    assert not result.consistent
    assert result.unsatisfiable == ("Benzene",)
    assert "Benzene" in result.message


def test_owl_check_reports_turtle_errors_with_line(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, replace=("eb:CO a owl:Class ;", "eb:CO a owl:Class } ;"))
    with pytest.raises(OntologyError, match=r"ecobrain\.ttl line \d+: invalid Turtle"):
        check_consistency(path, reasoner="owlrl")


def test_environment_names_another_ontology_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy_with(tmp_path, '\neb:Styrene a owl:Class ; rdfs:subClassOf eb:Aromatics ;\n'
                      '    rdfs:label "苯乙烯"@zh , "styrene"@en .\n')
    monkeypatch.setenv("ECOBRAIN_ONTOLOGY", str(path))
    assert Ontology().path == path and "Styrene" in Ontology()
    assert check_consistency(reasoner="owlrl").consistent
