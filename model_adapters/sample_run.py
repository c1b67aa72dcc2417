"""A deterministic sample model run over the Zhejiang 3 km grid, written as real IOAPI files.

``ecobrain sample-run OUT_DIR [--days N] [--seed S] [--start YYYY-MM-DD]`` writes what a CMAQ
forecast system would hand over, so the adapters, the rules and the documents can be shown and
tested end to end without an HPC run:

* ``CCTM_ACONC_zj3km.nc`` — hourly forecast from 00:00 Beijing time of the start day, N days:
  O3, NO2, SO2, CO, FORM in ppmV (as CMAQ writes gases), PM25 and PM10 in ug m-3. It holds a
  multi-day PM2.5 episode over northern Zhejiang (Hangzhou, Huzhou, Jiaxing, Shaoxing) and a
  shorter O3 episode over the south-west (Jinhua, Quzhou, Lishui).
* ``CCTM_SA_ACONC_zj3km.nc`` — ISAM shares of PM25 and O3 for a few region × sector tags, an
  "outside Zhejiang" transport tag and the built-in BCO/OTH/ICO tags; they add up to the bulk.
* ``emis_prior.nc`` / ``emis_post.nc`` — a one-day inversion (the day before the forecast) of
  NOx, SO2, VOCs and PM2.5 with planted emission hotspots, several on the cells of enterprises
  from ``knowledge/reference/enterprises.csv`` when that file exists.
* ``run.json`` — the manifest; ``sample-truth.json`` — what was planted, for checking.

The fields are synthetic (smooth random fields, urban cores, diurnal cycles), deterministic in
(seed, start date, days). They are written as netCDF4-classic with day-sized chunks, zlib and
4 significant digits, which keeps a 15-day run near 150 MB instead of ~1 GB.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from ecobrain.model_adapters.daily import BEIJING
from ecobrain.model_adapters.files.ioapi_writer import IOAPIWriter, VarSpec
from ecobrain.model_adapters.files.units import MOLAR_MASS
from ecobrain.ontology.geography import RegionIndex, zhejiang_regions
from ecobrain.ontology.grid import ZJ3KM, GridSpec

FORECAST_FILE = "CCTM_ACONC_zj3km.nc"
SA_FILE = "CCTM_SA_ACONC_zj3km.nc"
PRIOR_FILE = "emis_prior.nc"
POSTERIOR_FILE = "emis_post.nc"

PM_EPISODE_CITIES = ("330100", "330500", "330400", "330600")
O3_EPISODE_CITIES = ("330700", "330800", "331100")

# ISAM user tags: name -> (source region, sector, where its emissions sit)
TAGS: dict[str, dict[str, str]] = {
    "HZIND": {"region": "330100", "sector": "industry", "description": "Hangzhou industry"},
    "HZMOB": {"region": "330100", "sector": "MobileSource", "description": "Hangzhou vehicles"},
    "JXIND": {"region": "330400", "sector": "industry", "description": "Jiaxing industry"},
    "HUIND": {"region": "330500", "sector": "industry", "description": "Huzhou industry"},
    "NBPWR": {"region": "330200", "sector": "Power", "description": "Ningbo power plants"},
    "OUTZJ": {"region": "outside", "sector": "regional",
              "description": "all sources outside Zhejiang (transport)"},
}
BUILTIN = ("BCO", "OTH", "ICO")

def default_start() -> dt.date:
    """The day after today in Beijing."""
    return dt.datetime.now(BEIJING).date() + dt.timedelta(days=1)


@dataclass
class _Geo:
    grid: GridSpec
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray  # km
    y: np.ndarray
    county: np.ndarray  # object (nrows, ncols)
    cores: dict[str, tuple[float, float]]  # city code -> (x km, y km) of its urban core
    city_centroid: dict[str, tuple[float, float]]


def _geo(grid: GridSpec) -> _Geo:
    lon, lat = grid.cell_centers_lonlat()
    xc, yc = grid.cell_center_xy()
    x, y = np.meshgrid(xc / 1000.0, yc / 1000.0)
    county = RegionIndex.counties().locate(lon, lat)
    cores: dict[str, tuple[float, float]] = {}
    centroids: dict[str, tuple[float, float]] = {}
    regions = zhejiang_regions()
    for city in (r for r in regions if r.level == "city"):
        # The urban core: the city's smallest county-level unit (a central district).
        counties = [r for r in regions if r.level == "county" and r.parent_code == city.code]
        core = min(counties, key=lambda r: r.geometry.area).geometry.centroid
        cx, cy = grid.lonlat_to_xy(core.x, core.y)
        cores[city.code] = (float(cx) / 1000.0, float(cy) / 1000.0)
        c = city.geometry.centroid
        centroids[city.code] = (float(c.x), float(c.y))
    return _Geo(grid, lon, lat, x, y, county, cores, centroids)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], n: int = 7) -> np.ndarray:
    """A smooth random field in [-1, 1] (bilinear interpolation of an n×n random grid)."""
    coarse = rng.uniform(-1.0, 1.0, (n, n))
    r = np.linspace(0, n - 1, shape[0])
    c = np.linspace(0, n - 1, shape[1])
    r0 = np.clip(np.floor(r).astype(int), 0, n - 2)
    c0 = np.clip(np.floor(c).astype(int), 0, n - 2)
    fr = (r - r0)[:, None]
    fc = (c - c0)[None, :]
    a = coarse[r0][:, c0]
    b = coarse[r0][:, c0 + 1]
    d = coarse[r0 + 1][:, c0]
    e = coarse[r0 + 1][:, c0 + 1]
    return (a * (1 - fr) * (1 - fc) + b * (1 - fr) * fc + d * fr * (1 - fc) + e * fr * fc)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _urban(geo: _Geo, sigma_km: float = 14.0) -> np.ndarray:
    weight = {"330100": 1.0, "330200": 0.9, "330300": 0.8, "330400": 0.55, "330500": 0.5,
              "330600": 0.6, "330700": 0.55, "330800": 0.4, "330900": 0.3, "331000": 0.55,
              "331100": 0.35}
    u = np.zeros_like(geo.x)
    for code, (cx, cy) in geo.cores.items():
        d2 = (geo.x - cx) ** 2 + (geo.y - cy) ** 2
        u += weight[code] * np.exp(-d2 / (2 * sigma_km ** 2))
    return np.clip(u, 0.0, 1.2)


def _envelope(days: int, first: int, shape: list[float]) -> np.ndarray:
    env = np.zeros(days)
    for i, v in enumerate(shape):
        if 0 <= first + i < days:
            env[first + i] = v
    return env


@dataclass
class _Plan:
    days: int
    pm_days: tuple[int, int]
    o3_days: tuple[int, int]
    pm_env: np.ndarray
    o3_env: np.ndarray


def _plan(days: int) -> _Plan:
    pm_first = 3 if days >= 10 else max(0, days // 4)
    o3_first = 9 if days >= 13 else max(0, days - 4)
    pm_shape = [0.45, 0.85, 1.0, 0.9, 0.45]
    o3_shape = [0.7, 1.0, 0.95, 0.5]
    return _Plan(days, (pm_first, pm_first + len(pm_shape) - 1),
                 (o3_first, o3_first + len(o3_shape) - 1),
                 _envelope(days, pm_first, pm_shape), _envelope(days, o3_first, o3_shape))


class _Fields:
    """The synthetic forecast, generated one day (24 hours) at a time."""

    def __init__(self, geo: _Geo, plan: _Plan, seed: int):
        rng = np.random.default_rng(seed)
        shape = geo.lon.shape
        self.geo, self.plan = geo, plan
        self.u = _urban(geo)
        self.noise_pm = _smooth_field(rng, shape)
        self.noise_o3 = _smooth_field(rng, shape)
        self.noise_no2 = _smooth_field(rng, shape, 9)
        self.day_pm = rng.uniform(0.85, 1.15, plan.days)
        self.day_o3 = rng.uniform(0.9, 1.1, plan.days)
        lat, lon = geo.lat, geo.lon
        self.north = _sigmoid((lat - 29.45) / 0.12) * _sigmoid((121.05 - lon) / 0.12)
        self.south = _sigmoid((29.35 - lat) / 0.12) * _sigmoid((120.55 - lon) / 0.15) * \
            _sigmoid((lat - 27.9) / 0.15)
        self.rural = 1.0 - np.clip(self.u, 0, 1)

    def day(self, d: int) -> dict[str, np.ndarray]:
        """µg/m³ for PM, ppb for gases, shape (24, nrows, ncols)."""
        h = np.arange(24, dtype=float)[:, None, None]
        p = self.plan
        # PM2.5: urban + northern gradient + smooth noise, morning/evening peaks, episode.
        diurnal_pm = 1.0 + 0.18 * np.cos(2 * np.pi * (h - 8) / 24) + \
            0.12 * np.cos(2 * np.pi * (h - 21) / 12)
        base_pm = (22.0 + 18.0 * self.u + 8.0 * self.north + 6.0 * self.noise_pm) * self.day_pm[d]
        pm25 = base_pm[None] * diurnal_pm + 255.0 * p.pm_env[d] * self.north[None] * \
            (1.0 + 0.1 * self.noise_pm[None]) * (1.0 + 0.12 * np.cos(2 * np.pi * (h - 4) / 24))
        pm25 = np.maximum(pm25, 3.0)
        pm10 = pm25 * 1.35 + 12.0 + 6.0 * self.u[None]
        # O3 (ppb): photochemical daytime peak, titration in urban cores, southern episode.
        daylight = np.clip(np.sin(np.pi * (h - 6.5) / 13.0), 0.0, None) ** 1.5
        o3 = (22.0 + 6.0 * self.noise_o3 - 8.0 * self.u)[None] + \
            (38.0 * self.day_o3[d] + 10.0 * self.rural)[None] * daylight
        o3 = o3 + 142.0 * p.o3_env[d] * self.south[None] * daylight * \
            (1.0 + 0.05 * self.noise_o3[None])
        o3 = np.maximum(o3, 1.0)
        # NO2 (ppb): urban, rush hours, lower at midday (photolysis, deep mixing).
        rush = 1.0 + 0.35 * np.exp(-((h - 8) ** 2) / 4) + 0.45 * np.exp(-((h - 19) ** 2) / 6) - \
            0.35 * daylight
        no2 = (0.8 + 28.0 * self.u ** 1.3 + 1.0 * (self.noise_no2 + 1))[None] * rush
        no2 = no2 * (1.0 + 0.5 * p.pm_env[d] * self.north[None])
        so2 = (1.5 + 4.0 * self.u + 0.8 * (self.noise_pm + 1))[None] * (1 + 0.2 * rush)
        co_ppm = (0.30 + 0.45 * self.u)[None] + 0.0022 * pm25
        # HCHO (ppb): secondary (daytime) + biogenic in the rural south-west.
        form = (1.6 + 2.4 * self.rural + 0.8 * (self.noise_o3 + 1))[None] * (0.6 + 0.8 * daylight)
        return {"PM25": pm25, "PM10": pm10, "O3": o3, "NO2": no2, "SO2": so2,
                "CO": co_ppm * 1000.0, "FORM": form}


def _enterprises(path: Path, geo: _Geo) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                lon, lat = float(row["lon"]), float(row["lat"])
            except (KeyError, ValueError):
                continue
            r, c = geo.grid.lonlat_to_rowcol(lon, lat)
            if int(r) < 0 or geo.county[int(r), int(c)] is None:
                continue
            out.append({**row, "row": int(r), "col": int(c)})
    out.sort(key=lambda e: e.get("id", ""))
    return out


INVERSION_SPECIES = ("NOx", "SO2", "VOCs", "PM2_5")
# variable, units, t/day -> file unit factor
_EMIS_VARS = {
    "NOx": ("NOX", "moles/s", 1e6 / 86400.0 / MOLAR_MASS["NO2"]),
    "SO2": ("SO2", "moles/s", 1e6 / 86400.0 / MOLAR_MASS["SO2"]),
    "VOCs": ("VOC", "g/s", 1e6 / 86400.0),
    "PM2_5": ("PM25", "g/s", 1e6 / 86400.0),
}
_SECTOR_SPECIES = (
    (("steel", "iron"), ("NOx", "SO2", "PM2_5")),
    (("power", "thermal", "electric"), ("NOx", "SO2")),
    (("cement", "glass", "ceramic", "brick", "lime"), ("NOx", "PM2_5")),
    (("chem", "petro", "pharma", "coating", "print", "paint", "rubber", "plastic", "solvent",
      "furniture", "shoe", "leather", "textile", "dye"), ("VOCs",)),
)


def _species_for(ent: dict[str, Any]) -> list[str]:
    listed = [p.strip() for p in str(ent.get("pollutants", "")).replace(",", ";").split(";")]
    hit = [p for p in INVERSION_SPECIES if p in listed]
    if hit:
        return hit
    sector = str(ent.get("sector", "")).lower()
    for keys, species in _SECTOR_SPECIES:
        if any(k in sector for k in keys):
            return list(species)
    return ["NOx"]


def _plant_hotspots(geo: _Geo, rng: np.random.Generator, enterprises: list[dict[str, Any]]
                    ) -> list[dict[str, Any]]:
    """(species, row, col, enterprise or None) of the planted hotspots."""
    planted: list[dict[str, Any]] = []
    taken: set[tuple[str, int, int]] = set()
    if enterprises:
        k = min(10, len(enterprises))
        pick = rng.choice(len(enterprises), size=k, replace=False)
        for i in sorted(pick.tolist()):
            e = enterprises[i]
            for sp in _species_for(e)[:2]:
                key = (sp, e["row"], e["col"])
                if key not in taken:
                    taken.add(key)
                    planted.append({"species": sp, "row": e["row"], "col": e["col"],
                                    "enterprise_id": e.get("id"),
                                    "enterprise_name": e.get("name"),
                                    "sector": e.get("sector")})
    land = np.argwhere(geo.county != None)  # noqa: E711 - object array
    target = 30
    while len(planted) < target:
        r, c = land[rng.integers(len(land))]
        sp = INVERSION_SPECIES[len(planted) % 4]
        key = (sp, int(r), int(c))
        if key in taken:
            continue
        taken.add(key)
        planted.append({"species": sp, "row": int(r), "col": int(c), "enterprise_id": None,
                        "enterprise_name": None, "sector": None})
    return planted


def _write_inversion(out: Path, geo: _Geo, day: dt.date, seed: int, init: dt.datetime,
                     enterprises: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed + 101)
    grid = geo.grid
    shape = geo.lon.shape
    u = _urban(geo, sigma_km=20.0)
    land = (geo.county != None).astype(float)  # noqa: E711
    base = {  # t/day per cell, prior
        "NOx": 0.02 + 0.9 * u + 0.03 * (_smooth_field(rng, shape) + 1),
        "SO2": 0.01 + 0.25 * u + 0.01 * (_smooth_field(rng, shape) + 1),
        "VOCs": 0.03 + 0.8 * u + 0.05 * (_smooth_field(rng, shape) + 1),
        "PM2_5": 0.01 + 0.2 * u + 0.01 * (_smooth_field(rng, shape) + 1),
    }
    for sp in base:
        base[sp] = base[sp] * (0.15 + 0.85 * land)
    for e in enterprises:  # point sources in the prior
        for sp in _species_for(e):
            base[sp][e["row"], e["col"]] += 0.4
    planted = _plant_hotspots(geo, rng, enterprises)
    post = {sp: base[sp] * rng.uniform(0.92, 1.12, shape) for sp in base}
    for p in planted:
        r, c, sp = p["row"], p["col"], p["species"]
        factor = float(rng.uniform(2.0, 3.5))
        add = float(rng.uniform(0.5, 1.6)) * (0.4 if sp in ("SO2", "PM2_5") else 1.0)
        post[sp][r, c] = base[sp][r, c] * factor + add
        p.update(prior_t_per_day=round(float(base[sp][r, c]), 4),
                 posterior_t_per_day=round(float(post[sp][r, c]), 4))
    h = np.arange(24, dtype=float)
    profile = 1.0 + 0.35 * np.sin(2 * np.pi * (h - 9) / 24)
    profile = profile / profile.mean()
    start = dt.datetime.combine(day, dt.time(0), BEIJING)
    specs = [VarSpec(_EMIS_VARS[sp][0], _EMIS_VARS[sp][1], f"{sp} emission rate")
             for sp in INVERSION_SPECIES]
    for name, fields, desc in ((PRIOR_FILE, base, "prior (inventory) emissions"),
                               (POSTERIOR_FILE, post, "posterior emissions (Kalman filter)")):
        with IOAPIWriter(out / name, grid, specs, start, 3600,
                         filedesc=[f"ecobrain sample inversion: {desc}",
                                   "Hourly emission rates per grid cell, layer 1",
                                   "Timestamp represents beginning computed date/time"],
                         upnam="OPEMIS", created=init, exec_id="ecobrain sample-run") as w:
            data = {}
            for sp in INVERSION_SPECIES:
                var, _, f = _EMIS_VARS[sp]
                data[var] = (fields[sp] * f)[None] * profile[:, None, None]
            w.write(0, data)
    return planted


def _ppm(ppb: np.ndarray) -> np.ndarray:
    return ppb / 1000.0


def write_sample_run(out_dir: str | Path, *, days: int = 15, seed: int = 0,
                     start: dt.date | None = None, grid: GridSpec = ZJ3KM,
                     enterprises_csv: str | Path | None = None,
                     progress: Any = None) -> Path:
    """Write the sample run into ``out_dir`` (created if needed) and return it."""
    if days < 1:
        raise ValueError("days must be at least 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = start or default_start()
    init = dt.datetime.combine(start - dt.timedelta(days=1), dt.time(12), BEIJING)
    run_id = f"{grid.name.lower()}-{init:%Y%m%d%H}"
    geo = _geo(grid)
    plan = _plan(days)
    fields = _Fields(geo, plan, seed)
    t0 = dt.datetime.combine(start, dt.time(0), BEIJING)
    nc_kw = {"fmt": "NETCDF4_CLASSIC", "zlib": True, "created": init,
             "exec_id": "ecobrain sample-run", "time_chunk": 24, "significant_digits": 4}
    fc_specs = [VarSpec("O3", "ppmV", "Average Molar Mixing Ratio of O3"),
                VarSpec("NO2", "ppmV", "Average Molar Mixing Ratio of NO2"),
                VarSpec("SO2", "ppmV", "Average Molar Mixing Ratio of SO2"),
                VarSpec("CO", "ppmV", "Average Molar Mixing Ratio of CO"),
                VarSpec("FORM", "ppmV", "Average Molar Mixing Ratio of FORM"),
                VarSpec("PM25", "ug m-3", "Bulk PM2.5 Concentration"),
                VarSpec("PM10", "ug m-3", "Bulk PM10 Concentration")]
    sa_specs = []
    tag_names = [*TAGS, *BUILTIN]
    for sp, units in (("PM25", "micrograms/m**3"), ("O3", "ppmV")):
        for t in tag_names:
            sa_specs.append((t, VarSpec(f"{sp}_{t}", units, "tracer conc.")))
    # ISAM tags are ordered tag-major in CMAQ (all species of tag 1, then tag 2 ...).
    sa_specs.sort(key=lambda x: tag_names.index(x[0]))
    desc_fc = ["Averaged concentration file output", "From CMAQ model (ecobrain synthetic "
               "sample, not a real simulation)", "Timestamp represents beginning computed "
               "date/time", "Layer  1 to  1"]
    desc_sa = ["SA_ACONC_1 stores contributing srcs", "ecobrain synthetic sample",
               "Timestamp represents beginning computed date/time"]
    weights = _tag_weights(geo, plan, seed)
    with IOAPIWriter(out / FORECAST_FILE, grid, fc_specs, t0, 3600, filedesc=desc_fc,
                     upnam="WR_ACONC", **nc_kw) as wf, \
            IOAPIWriter(out / SA_FILE, grid, [s for _, s in sa_specs], t0, 3600,
                        filedesc=desc_sa, upnam="WR_AVG_SA",
                        **{**nc_kw, "significant_digits": 3}) as ws:
        for d in range(days):
            f = fields.day(d)
            wf.write(d * 24, {"O3": _ppm(f["O3"]), "NO2": _ppm(f["NO2"]), "SO2": _ppm(f["SO2"]),
                              "CO": _ppm(f["CO"]), "FORM": _ppm(f["FORM"]), "PM25": f["PM25"],
                              "PM10": f["PM10"]})
            w = weights(d)
            data = {}
            for sp, bulk in (("PM25", f["PM25"]), ("O3", _ppm(f["O3"]))):
                parts = {t: (w[t] * bulk).astype(np.float32) for t in tag_names}
                # Put float32 rounding on OTH so the tags add up to the bulk as written.
                parts["OTH"] = (bulk.astype(np.float32) -
                                sum(v for t, v in parts.items() if t != "OTH"))
                for t in tag_names:
                    data[f"{sp}_{t}"] = parts[t]
            ws.write(d * 24, data)
            if progress is not None:
                progress(d + 1, days)
    enterprises = _enterprises(
        Path(enterprises_csv) if enterprises_csv else
        Path(str(files("ecobrain.knowledge") / "reference" / "enterprises.csv")), geo)
    inv_day = start - dt.timedelta(days=1)
    planted = _write_inversion(out, geo, inv_day, seed, init, enterprises)
    manifest = {
        "id": run_id,
        "model": "CMAQ 5.4 (ecobrain synthetic sample)",
        "init_time": init.isoformat(),
        "description": f"ecobrain sample run: {days} days from {start.isoformat()} (Beijing), "
                       f"seed {seed}. Synthetic fields in real IOAPI form.",
        "outputs": [
            {"kind": "forecast", "format": "ioapi", "path": FORECAST_FILE},
            {"kind": "attribution", "format": "ioapi", "path": SA_FILE,
             "tags": {k: dict(v) for k, v in TAGS.items()}},
            {"kind": "inversion", "format": "ioapi", "prior": PRIOR_FILE,
             "posterior": POSTERIOR_FILE},
        ],
    }
    (out / "run.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                  encoding="utf-8")
    day0 = start
    truth = {
        "run_id": run_id, "start": start.isoformat(), "days": days, "seed": seed,
        "pm25_episode": {
            "cities": list(PM_EPISODE_CITIES),
            "days": [(day0 + dt.timedelta(days=i)).isoformat()
                     for i in range(plan.pm_days[0], min(plan.pm_days[1], days - 1) + 1)],
            "envelope": plan.pm_env.round(2).tolist(),
        },
        "o3_episode": {
            "cities": list(O3_EPISODE_CITIES),
            "days": [(day0 + dt.timedelta(days=i)).isoformat()
                     for i in range(plan.o3_days[0], min(plan.o3_days[1], days - 1) + 1)],
            "envelope": plan.o3_env.round(2).tolist(),
        },
        "inversion_day": inv_day.isoformat(),
        "planted_hotspots": planted,
        "enterprises_used": bool(enterprises),
    }
    (out / "sample-truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n",
                                           encoding="utf-8")
    return out


def _tag_weights(geo: _Geo, plan: _Plan, seed: int):
    """Per-day function giving each tag's share field (24, nrows, ncols); shares sum to 1."""
    rng = np.random.default_rng(seed + 7)
    noise = _smooth_field(rng, geo.lon.shape)
    local = {}
    for tag, spec in TAGS.items():
        if spec["region"] == "outside":
            continue
        cx, cy = geo.cores[spec["region"]]
        d2 = (geo.x - cx) ** 2 + (geo.y - cy) ** 2
        strength = {"HZIND": 1.0, "HZMOB": 0.8, "JXIND": 0.9, "HUIND": 0.7, "NBPWR": 0.8}[tag]
        local[tag] = strength * np.exp(-d2 / (2 * 45.0 ** 2)) + 0.03
    h = np.arange(24, dtype=float)[:, None, None]

    def weights(d: int) -> dict[str, np.ndarray]:
        hours = d * 24 + h
        w = {t: np.broadcast_to(v[None], (24, *v.shape)) for t, v in local.items()}
        transport = 0.35 + 0.9 * plan.pm_env[d] * (0.5 + 0.5 * np.clip(1.0 - geo.y / 300.0, 0,
                                                                        1))
        w["OUTZJ"] = np.broadcast_to((transport + 0.05 * noise)[None], (24, *noise.shape))
        w["BCO"] = np.full((24, *noise.shape), 0.06)
        w["OTH"] = np.broadcast_to((0.25 + 0.05 * (noise + 1))[None], (24, *noise.shape))
        w["ICO"] = np.broadcast_to(0.6 * np.exp(-hours / 18.0), (24, *noise.shape))
        total = sum(w.values())
        return {t: v / total for t, v in w.items()}

    return weights
