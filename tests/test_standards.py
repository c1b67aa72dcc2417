"""Standards as dated data: HJ 633 breakpoints, GB 3095 limits, alert grading, by date."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.legal.standards import load_standards, read_standards, standards_dir
from ecobrain.kb_loaders.legal.statutes import load_regulations
from ecobrain.kb_loaders.semantics.ontology_loader import load_ontology
from ecobrain.ontology.dated_standards import (
    alert_grading,
    breakpoints,
    limit_values,
    pollutant_handling,
    reduction_requirements,
    standards_in_force,
)
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.legal import get_article, provision_status

FACTS = Path("/work/shared/domain/FACTS.md")


@pytest.fixture
def std_store(store: GraphStore) -> GraphStore:
    load_ontology(store)
    load_regulations(store)
    load_standards(store)
    return store


def _counts(store: GraphStore) -> tuple[int, int]:
    return (store.read("MATCH (n) RETURN count(n) AS n")[0]["n"],
            store.read("MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"])


def _one(store: GraphStore, label: str, node_id: str) -> dict:
    rows = store.read(f"MATCH (n:{label} {{id: $id}}) RETURN n", {"id": node_id})
    assert len(rows) == 1, node_id
    return rows[0]["n"]["properties"]


def test_spot_values(std_store: GraphStore) -> None:
    assert _one(std_store, "BreakpointRow", "hj633.2026.PM2_5_24h.iaqi100")["concentration"] == 60
    assert _one(std_store, "BreakpointRow", "hj633.2012.PM2_5_24h.iaqi100")["concentration"] == 75
    assert _one(std_store, "BreakpointRow", "hj633.2026.PM10_24h.iaqi100")["concentration"] == 120
    t = _one(std_store, "LimitValue", "gb3095.2026.transitional.PM2_5_24h.II")
    assert (t["value"], t["unit"], t["valid_from"], t["valid_to"], t["source_quality"]) == (
        60, "ug/m3", "2026-03-01", "2030-12-31", "SECONDARY")
    f = _one(std_store, "LimitValue", "gb3095.2026.final.PM2_5_24h.II")
    assert (f["value"], f["valid_from"], f.get("valid_to")) == (50, "2031-01-01", None)
    old = _one(std_store, "LimitValue", "gb3095.2012.PM2_5_24h.II")
    assert (old["value"], old["valid_from"], old["valid_to"], old["table"]) == (
        75, "2016-01-01", "2026-02-28", "表1")
    assert _one(std_store, "LimitValue", "gb3095.2012.CO_24h.I")["unit"] == "mg/m3"
    assert _one(std_store, "LimitValue", "gb3095.2012.BaP_24h.II")["value"] == 0.0025
    counts = {r["l"]: r["n"] for r in std_store.read(
        "MATCH (n) WHERE n:BreakpointRow OR n:LimitValue "
        "RETURN labels(n)[0] AS l, count(n) AS n")}
    assert counts == {"BreakpointRow": 150, "LimitValue": 102}


def test_standards_nodes_and_supersession(std_store: GraphStore) -> None:
    s = _one(std_store, "Standard", "gb3095.2012")
    assert (s["kind"], s["code"], s["status"], s["valid_to"]) == (
        "standard", "GB 3095—2012", "superseded", "2026-02-28")
    labels = std_store.read("MATCH (n:Standard {id: 'hj633.2026'}) RETURN labels(n) AS l")
    assert sorted(labels[0]["l"]) == ["Regulation", "Standard"]
    rows = std_store.read("MATCH (a:Standard)-[x:REPEALED_BY]->(b:Standard) "
                          "RETURN a.id AS a, b.id AS b, x.from AS f ORDER BY a")
    assert rows == [{"a": "gb3095.2012", "b": "gb3095.2026", "f": "2026-03-01"},
                    {"a": "hj633.2012", "b": "hj633.2026", "f": "2026-03-01"}]
    assert [r["id"] for r in standards_in_force(std_store, "2026-02-28")] == [
        "gb3095.2012", "hj633.2012"]
    assert [r["id"] for r in standards_in_force(std_store, "2026-03-01")] == [
        "gb3095.2026", "hj633.2026"]


def test_rows_concern_their_pollutant_concept(std_store: GraphStore) -> None:
    rows = std_store.read(
        "MATCH (n:LimitValue {id: 'gb3095.2026.transitional.PM2_5_24h.II'})-[:CONCERNS]->"
        "(c:Concept) RETURN c.id AS id, c.label_zh AS zh")
    assert rows == [{"id": "PM2_5", "zh": "细颗粒物"}]
    assert std_store.read(
        "MATCH (n:BreakpointRow)-[:CONCERNS]->(:Pollutant {id: 'O3'}) RETURN count(n) AS n"
    )[0]["n"] == 2 * (8 + 6)
    assert std_store.read(
        "MATCH (n:LimitValue)-[:PART_OF]->(:Standard {id: 'gb3095.2026'}) RETURN count(n) AS n"
    )[0]["n"] == 56


def test_values_by_date(std_store: GraphStore) -> None:
    def pm25_at_100(day: str) -> float:
        return next(b.concentration for b in breakpoints(std_store, day)["PM2_5_24h"]
                    if b.iaqi == 100)

    assert pm25_at_100("2026-02-28") == 75
    assert pm25_at_100("2026-03-01") == 60
    assert len(breakpoints(std_store, "2026-03-01")["PM2_5_24h"]) == 8

    def pm25_24h_ii(day: str) -> list[tuple[str, float]]:
        return [(v.standard_id, v.value) for v in limit_values(std_store, day, pollutant="PM2_5",
                                                                cls="II")
                if v.averaging == "24h"]

    assert pm25_24h_ii("2020-06-01") == [("gb3095.2012", 75)]
    assert pm25_24h_ii("2026-03-01") == [("gb3095.2026", 60)]
    assert pm25_24h_ii("2030-12-31") == [("gb3095.2026", 60)]
    assert pm25_24h_ii("2031-01-01") == [("gb3095.2026", 50)]
    assert pm25_24h_ii("2015-12-31") == []  # GB 3095—2012 implemented 2016-01-01


def test_alert_grading_versions(std_store: GraphStore) -> None:
    now = alert_grading(std_store, "2025-01-15")
    assert [(g.level, g.response_grade) for g in now] == [
        ("AlertYellow", "Ⅲ"), ("AlertOrange", "Ⅱ"), ("AlertRed", "Ⅰ")]
    yellow = now[0]
    assert yellow.criteria == {"any_of": [{"aqi_gt": 200, "min_hours": 24},
                                          {"aqi_gt": 150, "min_hours": 48}]}
    assert now[2].criteria == {"all_of": [{"aqi_gt": 200, "min_hours": 72},
                                          {"aqi_gt": 300, "min_hours": 24}]}
    assert {(g.regulation_id, g.provision_id, g.valid_from) for g in now} == {
        ("cn.mee.2024-6", "cn.mee.2024-6.grading", "2024-01-23")}
    old = alert_grading(std_store, "2024-01-22")
    assert [g.level for g in old] == ["AlertBlue", "AlertYellow", "AlertOrange", "AlertRed"]
    assert old[3].criteria == {"any_of": [
        {"all_of": [{"aqi_gt": 200, "min_hours": 96}, {"aqi_gt": 300, "min_hours": 48}]},
        {"aqi_gte": 500, "min_hours": 24}]}
    linked = std_store.read(
        "MATCH (g:AlertGrading {id: 'alert-grading.2024.AlertRed'})-[:BASED_ON]->(a:Article), "
        "(g)-[:FOR_LEVEL]->(c:EmergencyLevel), (g)-[:PART_OF]->(r:Regulation) "
        "RETURN a.id AS a, c.id AS c, r.id AS r")
    assert linked == [{"a": "cn.mee.2024-6.grading", "c": "AlertRed", "r": "cn.mee.2024-6"}]


def test_reduction_ratios_and_pollutant_handling(std_store: GraphStore) -> None:
    ratios = reduction_requirements(std_store, "2025-01-15")
    assert [(r["level"], r["min_share"]) for r in ratios] == [
        ("AlertYellow", 0.1), ("AlertOrange", 0.2), ("AlertRed", 0.3)]
    assert {r["source_quality"] for r in ratios} == {"SECONDARY"}
    assert ratios[0]["pollutants"] == ["SO2", "NOx", "ParticulateMatter", "VOCs"]
    handling = {h["id"]: h for h in pollutant_handling(std_store, "2025-01-15")}
    pm = handling["pollutant-handling.2024.pm2_5"]
    assert pm["colour_alert"] is True and pm["legal_basis"] == ["cn.air-law.2018.art96"]
    o3 = handling["pollutant-handling.2024.o3"]
    assert o3["colour_alert"] is False
    assert o3["measures"] == ["HealthAdvice", "VOCsSupervision", "NOxSupervision"]
    assert pollutant_handling(std_store, "2023-12-31") == []
    cites = std_store.read(
        "MATCH (h:PollutantHandling)-[:CITES]->(a:Article) RETURN h.id AS h, a.id AS a")
    assert cites == [{"h": "pollutant-handling.2024.pm2_5", "a": "cn.air-law.2018.art96"}]


def test_gb3095_provisions_are_verbatim(std_store: GraphStore) -> None:
    ref = get_article(std_store, "gb3095.2012.reference-state")
    assert ref is not None and ref.kind == "provision"
    assert ref.text.startswith("参比状态 reference state 指大气温度为298.15 K")
    assert (ref.valid_from, ref.valid_to) == ("2018-09-01", "2026-02-28")
    st = provision_status(std_store, "gb3095.2012.reference-state", "2026-03-01")
    assert st.status == "superseded" and st.repealed_by == "gb3095.2026"
    if FACTS.exists():
        facts = FACTS.read_text(encoding="utf-8")
        assert ref.text in facts
        zones = get_article(std_store, "gb3095.2012.zone-classes")
        assert zones is not None and zones.text in facts


def _facts_tables() -> tuple[list[list[str]], list[list[str]]]:
    text = FACTS.read_text(encoding="utf-8")
    a = text[text.index("### 2.A"):text.index("### 2.B")]
    b = text[text.index("### 2.B"):text.index("## 3.")]

    def rows(section: str, first: str) -> list[list[str]]:
        return [[c.strip().strip("*").strip() for c in line.strip("|").split("|")]
                for line in section.splitlines()
                if line.startswith("| ") and not line.startswith(first)]

    return rows(a, "| Pollutant"), rows(b, "| Pollutant")


_POLLUTANT = {"SO2": "SO2", "NO2": "NO2", "CO": "CO", "O3": "O3", "PM10": "PM10",
              "PM2.5": "PM2_5"}
_AVG = {"annual": "annual", "24-h": "24h", "1-h": "1h", "daily max 8-h mean": "8h",
        "daily max 8-h": "8h"}


def test_gb3095_table1_values_equal_facts(std_store: GraphStore) -> None:
    if not FACTS.exists():
        pytest.skip("FACTS.md not present")
    t2012, t2026 = _facts_tables()
    values = {r["id"]: r["v"] for r in std_store.read(
        "MATCH (n:LimitValue) RETURN n.id AS id, n.value AS v")}
    checked = 0
    for row in t2012:
        if not re.match(r"^\d", row[2]):
            continue
        pol, avg = _POLLUTANT[row[0]], _AVG[row[1]]
        assert values[f"gb3095.2012.{pol}_{avg}.I"] == float(row[2])
        assert values[f"gb3095.2012.{pol}_{avg}.II"] == float(row[3])
        checked += 1
    for row in t2026:
        if row[0] not in _POLLUTANT:
            continue
        pol, avg = _POLLUTANT[row[0]], _AVG[row[1]]
        for phase, cell in (("transitional", row[2]), ("final", row[3])):
            one, two = (float(x) for x in cell.split("/"))
            assert values[f"gb3095.2026.{phase}.{pol}_{avg}.I"] == one
            assert values[f"gb3095.2026.{phase}.{pol}_{avg}.II"] == two
        checked += 1
    assert checked == 28


def test_loading_twice_leaves_the_same_graph(std_store: GraphStore) -> None:
    first = _counts(std_store)
    again = load_standards(std_store)
    assert _counts(std_store) == first
    w = again.written
    assert (w.nodes_created, w.relationships_created, w.nodes_deleted,
            w.relationships_deleted) == (0, 0, 0, 0)


def _copy(tmp_path: Path) -> Path:
    d = tmp_path / "standards"
    shutil.copytree(standards_dir(), d)
    return d


def test_bad_limit_row_names_file_line_field(store: GraphStore, tmp_path: Path) -> None:
    d = _copy(tmp_path)
    f = d / "gb3095.yaml"
    text = f.read_text(encoding="utf-8")
    bad = text.replace("{pollutant: SO2, averaging: annual, I: 20, II: 60, unit: ug/m3",
                       "{pollutant: SO2, averaging: annual, I: 20, II: 60, unit: ppm", 1)
    f.write_text(bad, encoding="utf-8")
    line = next(i for i, s in enumerate(bad.splitlines(), 1) if "unit: ppm" in s)
    with pytest.raises(LoadError) as exc:
        read_standards(d)
    assert exc.value.file.endswith("gb3095.yaml")
    assert (exc.value.line, exc.value.field) == (line, "unit")
    load_ontology(store)
    load_regulations(store)
    before = _counts(store)
    with pytest.raises(LoadError):
        load_standards(store, d)
    assert _counts(store) == before


@pytest.mark.parametrize("old,new,field", [
    ("{aqi_gt: 150, hours: 48}      # 日AQI", "{aqi_gt: 150, weeks: 2}      # 日AQI", None),
    ("level: AlertOrange\n        response: Ⅱ", "level: AlertPurple\n        response: Ⅱ",
     "level"),
    ("valid_from: 2024-01-23\n    valid_to: null", "valid_from: 2024-02-30\n    valid_to: null",
     "valid_from"),
])
def test_bad_alert_grading(tmp_path: Path, old: str, new: str, field: str | None) -> None:
    d = _copy(tmp_path)
    f = d / "alert_grading.yaml"
    text = f.read_text(encoding="utf-8")
    assert old in text
    f.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(LoadError) as exc:
        read_standards(d)
    assert exc.value.file.endswith("alert_grading.yaml") and exc.value.line is not None
    if field:
        assert exc.value.field == field


def test_standards_before_the_regulations_they_cite(store: GraphStore) -> None:
    """Values load anyway; the missing citations are reported and linked on the next load."""
    load_ontology(store)
    report = load_standards(store)
    assert any("cn.mee.2024-6.grading" in n and "cn.air-law.2018.art96" in n
               for n in report.notes)
    assert len(alert_grading(store, "2025-01-15")) == 3
    assert store.read("MATCH (:AlertGrading)-[r]->(:Article) RETURN count(r) AS n")[0]["n"] == 0
    load_regulations(store)
    report = load_standards(store)
    assert not any("cited but not in the graph" in n for n in report.notes)
    assert store.read("MATCH (:AlertGrading)-[r:BASED_ON]->(:Article) RETURN count(r) AS n"
                      )[0]["n"] == 7
    assert store.read("MATCH (:AlertGrading)-[r:PART_OF]->(:Regulation) RETURN count(r) AS n"
                      )[0]["n"] == 7
