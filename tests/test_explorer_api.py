"""The graph explorer's API on the decided sample graph: a scene's subgraph with captions, a node
in plain words (units, PM2.5, tag legends, the article's text), where nodes lie, the county
outlines, saved scenes per key, and the roles. Expected values are read from the graph here with
queries of the test's own, or worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from api_helpers import api_client
from kb_fixture import Decided
from shapely.geometry import Point, shape

from ecobrain.api.web.scenes import MAX_SCENE_BYTES
from ecobrain.ontology import plain_words


def test_words_for_codes_units_and_dates() -> None:
    assert plain_words.metric("PM2_5_24h") == "PM2.5 24小时平均"
    assert plain_words.metric("O3_8h", "en") == "O3 8-h running mean"
    assert plain_words.metric("PM2_5") == "PM2.5"
    assert plain_words.value_text("init_time", "2026-11-25T12:00:00+08:00") == \
        "2026-11-25 12:00 UTC+08:00"
    assert plain_words.value_text("pollutants", ["NOx", "PM2_5"]) == "NOx、PM2.5"
    assert plain_words.value_text("key_enterprise", True) == "是"
    assert plain_words.value_text("key_enterprise", False, "en") == "no"
    assert plain_words.value_text("area_km2", 3035.9) == "3036 km²"
    assert plain_words.value_text("share", 0.037464) == "3.7%"
    names = {"330100": "杭州市"}
    assert plain_words.tag_legend("HZIND", "330100", "industry", names) == "杭州市（330100） · 工业"
    assert plain_words.tag_legend("OUTZJ", "outside", "regional", names) == "省外传输 · 区域传输"
    assert "边界" in plain_words.tag_legend("BCO", "boundary", None, names)
    assert plain_words.tag_legend("NEWTAG", None, None, names) == "清单未说明"


@pytest.fixture
def api(decided: Decided, tmp_path: Path):  # type: ignore[no-untyped-def]
    with api_client(decided.store, tmp_path) as client:
        yield client


def test_a_subgraph_has_captions_kinds_and_the_relationships_among_its_nodes(api, decided
                                                                              ) -> None:
    task = decided.store.read_one(
        "MATCH (t:Task)-[:ABOUT]->(e:Enterprise) RETURN t.id AS t, t.region_name AS r, "
        "e.id AS e, e.name AS name LIMIT 1")
    r = api.post("/graph/subgraph", "investigator",
                 json={"ids": ["330100", "330102", task["t"], task["e"], "no-such-node"]})
    assert r.status_code == 200, r.text
    body = r.json()
    nodes = {n["id"]: n for n in body["nodes"]}
    assert set(nodes) == {"330100", "330102", task["t"], task["e"]}
    assert body["missing"] == ["no-such-node"]
    assert (nodes["330100"]["kind"], nodes["330100"]["caption"]) == ("City", "杭州市")
    assert (nodes["330102"]["kind"], nodes["330102"]["caption"]) == ("County", "上城区")
    assert nodes[task["t"]]["caption"] == f"任务：{task['r']} {task['name']}"
    assert nodes[task["e"]]["kind_name"] == "企业" and nodes[task["e"]]["placed"]
    rels = {(x["source"], x["type"], x["target"]) for x in body["relationships"]}
    assert ("330102", "PART_OF", "330100") in rels
    assert (task["t"], "ABOUT", task["e"]) in rels
    # every relationship joins two nodes of the scene
    assert all(a in nodes and b in nodes for a, _, b in rels)
    en = api.post("/graph/subgraph", "investigator", json={"ids": ["330100"], "lang": "en"})
    assert en.json()["nodes"][0]["kind_name"] == "city"


def test_a_finding_in_plain_words(api, decided) -> None:
    row = decided.store.read_one("MATCH (f:Finding {kind: 'daily_aqi'}) RETURN f.id AS id, "
                                 "f.json AS json LIMIT 1")
    finding = json.loads(row["json"])
    r = api.get(f"/graph/nodes/{row['id']}/plain", "investigator")
    assert r.status_code == 200, r.text
    rows = {x["name"]: x["value"] for x in r.json()["rows"]}
    pm = rows["浓度 · PM2.5 24小时平均"]
    number, unit = pm.split(" ")
    assert unit == "µg/m³"
    assert float(number) == pytest.approx(finding["concentrations"]["PM2_5_24h"], rel=1e-3)
    assert rows["浓度 · CO 24小时平均"].endswith(" mg/m³")
    assert rows["AQI"] == str(finding["aqi"])
    shown = [(x["name"], x["value"]) for x in r.json()["rows"]]  # keys stay machine keys
    assert "PM2_5" not in json.dumps(shown, ensure_ascii=False)
    legend = {x["code"]: x["meaning"] for x in r.json()["legend"]}
    assert legend[finding["region_code"]] == finding["region_name"]


def test_a_user_tag_and_a_builtin_tag_have_legends(api, decided) -> None:
    for tag, words in (("HZIND", "杭州市（330100） · 工业"), ("OUTZJ", "省外传输"),
                       ("BCO", "边界条件")):
        row = decided.store.read_one(
            "MATCH (f:Finding {kind: 'attribution_share'}) WHERE f.json CONTAINS $t "
            "RETURN f.id AS id LIMIT 1", {"t": f'"tag":"{tag}"'})
        assert row, tag
        legend = {x["code"]: x["meaning"]
                  for x in api.get(f"/graph/nodes/{row['id']}/plain", "investigator"
                                   ).json()["legend"]}
        assert words in legend[tag], (tag, legend)


def test_an_article_shows_its_text_and_a_region_hides_its_boundary(api, decided) -> None:
    art = decided.store.read_one("MATCH (a:Article {id: 'cn.air-law.2018.art96'}) "
                                 "RETURN a.text AS text, a.citation AS citation")
    body = api.get("/graph/nodes/cn.air-law.2018.art96/plain", "investigator").json()
    assert body["text"] == art["text"] and body["caption"] == art["citation"]
    rows = {x["key"]: x for x in body["rows"]}
    assert rows["valid_from"]["name"] == "施行日期" and rows["valid_from"]["value"] == "2018-10-26"
    region = api.get("/graph/nodes/330102/plain", "investigator").json()
    keys = {x["key"] for x in region["rows"]}
    assert "boundary_wkt" not in keys and "centroid_lon" in keys
    assert api.get("/graph/nodes/nope/plain", "investigator").status_code == 404
    assert api.get("/graph/nodes/330102/plain?lang=fr", "investigator").status_code == 422


def test_placed_nodes_are_geojson_where_they_lie(api, decided) -> None:
    e = decided.store.read_one("MATCH (e:Enterprise) RETURN e.id AS id, e.lon AS lon, "
                               "e.lat AS lat, e.cell_id AS cell LIMIT 1")
    c = decided.store.read_one("MATCH (c:GridCell {id: $id}) RETURN c.lon AS lon, c.lat AS lat",
                               {"id": e["cell"]})
    r = api.post("/graph/placed", "investigator",
                 json={"ids": [e["id"], e["cell"], "330102", "cn.air-law.2018.art96"]})
    body = r.json()
    features = {f["id"]: f for f in body["features"]}
    assert body["unplaced"] == ["cn.air-law.2018.art96"]
    assert features[e["id"]]["geometry"] == {"type": "Point",
                                             "coordinates": [float(e["lon"]), float(e["lat"])]}
    cell = shape(features[e["cell"]]["geometry"])
    assert cell.contains(Point(float(c["lon"]), float(c["lat"])))
    assert cell.contains(Point(float(e["lon"]), float(e["lat"])))  # the enterprise in its cell
    county = shape(features["330102"]["geometry"])
    assert county.area > 0 and features["330102"]["properties"]["caption"] == "上城区"
    # a hotspot finding lies where the inversion put it; a station where it stands
    hot = decided.store.read_one("MATCH (f:Finding {kind: 'emission_hotspot'}) "
                                 "RETURN f.id AS id, f.json AS json LIMIT 1")
    station = decided.store.read_one("MATCH (s:MonitoringStation) RETURN s.id AS id, "
                                     "s.lon AS lon, s.lat AS lat LIMIT 1")
    spot = json.loads(hot["json"])
    more = api.post("/graph/placed", "investigator",
                    json={"ids": [hot["id"], station["id"]]}).json()["features"]
    assert [f["geometry"]["coordinates"] for f in more] == [
        [spot["lon"], spot["lat"]], [float(station["lon"]), float(station["lat"])]]
    assert [f["properties"]["kind"] for f in more] == ["Finding", "MonitoringStation"]
    outlines = api.get("/graph/counties", "investigator").json()
    assert len(outlines["features"]) == 90
    assert all(shape(f["geometry"]).is_valid or shape(f["geometry"]).buffer(0).area > 0
               for f in outlines["features"])


def test_scenes_belong_to_their_key(api) -> None:
    other = api.client.app.state.key_store.create("other-investigator", ["investigator"])
    state = {"nodes": ["330100", "330102"], "mode": "map", "positions": {"330100": [0, 0]}}
    assert api.client.put("/scenes/杭州", headers=api.headers("investigator"),
                          json={"state": state}).status_code == 200
    mine = api.get("/scenes", "investigator").json()
    assert [(s["name"], s["nodes"]) for s in mine] == [("杭州", 2)]
    assert api.get("/scenes/杭州", "investigator").json()["state"] == state
    theirs = {"X-API-Key": other}
    assert api.client.get("/scenes", headers=theirs).json() == []
    assert api.client.get("/scenes/杭州", headers=theirs).status_code == 404
    assert api.client.delete("/scenes/杭州", headers=theirs).status_code == 404
    huge = {"nodes": ["x" * 200] * (MAX_SCENE_BYTES // 200)}
    too_big = api.client.put("/scenes/big", headers=api.headers("investigator"),
                             json={"state": huge})
    assert too_big.status_code == 422 and "KiB" in too_big.json()["message"]
    r = api.delete("/scenes/杭州", "investigator")
    assert r.status_code == 200 and "杭州" in r.json()["message"]
    assert api.get("/scenes", "investigator").json() == []


@pytest.mark.parametrize("method,url,body", [
    ("post", "/graph/subgraph", {"ids": ["330100"]}),
    ("post", "/graph/placed", {"ids": ["330100"]}),
    ("get", "/graph/counties", None),
    ("get", "/graph/nodes/330100/plain", None),
    ("get", "/scenes", None),
])
def test_explorer_routes_need_an_investigator(api, method: str, url: str, body) -> None:
    call = getattr(api.client, method)
    kw = {"json": body} if body else {}
    assert call(url, **kw).status_code == 401
    assert call(url, headers=api.headers("commander"), **kw).status_code == 403
    assert call(url, headers=api.headers("admin"), **kw).status_code == 200


def test_concept_ids_among_the_values_are_said_in_words(api, decided) -> None:
    row = decided.store.read_one(
        "MATCH (t:Task)-[:ABOUT]->(e:Enterprise) WHERE size(t.measure_types) = 1 "
        "MATCH (m:Concept {id: t.measure_types[0]}) "
        "MATCH (e)-[:IN_SECTOR]->(s:Concept) WHERE 'NOx' IN e.pollutants "
        "RETURN t.id AS t, m.id AS m, m.label_zh AS mzh, e.id AS e, s.id AS s, "
        "s.label_zh AS szh LIMIT 1")
    assert row
    task = api.get(f"/graph/nodes/{row['t']}/plain", "investigator").json()
    rows = {x["key"]: x["value"] for x in task["rows"]}
    assert rows["measure_types"] == row["mzh"]
    legend = {x["code"]: x["meaning"] for x in task["legend"]}
    assert legend[row["m"]] == row["mzh"]
    enterprise = api.get(f"/graph/nodes/{row['e']}/plain", "investigator").json()
    rows = {x["key"]: x["value"] for x in enterprise["rows"]}
    assert rows["sector"] == row["szh"]
    nox = decided.store.read_one("MATCH (c:Concept {id: 'NOx'}) RETURN c.label_zh AS zh")
    assert nox["zh"] in rows["pollutants"].split("、") and "NOx" not in rows["pollutants"]
