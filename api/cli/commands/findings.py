"""`ecobrain findings` and `ecobrain sample-run`: what the model adapters see in a run.

For modellers checking a run (tables) and for scripts (``--format json``). Thin: everything is
done by :mod:`ecobrain.model_adapters`; bad input is one line on stderr naming the file and
variable, exit code 2.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import Counter, defaultdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from ecobrain.api.cli.common import console, err_console, fail, progress
from ecobrain.model_adapters import AdapterError, collect_findings
from ecobrain.model_adapters.files.run import findings_of_kind
from ecobrain.model_adapters.regions import load_stations_csv
from ecobrain.model_adapters.sample_run import write_sample_run
from ecobrain.ontology.geography import regions_by_code


class Kind(StrEnum):
    forecast = "forecast"
    inversion = "inversion"
    attribution = "attribution"
    regime = "regime"


class Format(StrEnum):
    table = "table"
    json = "json"


def _findings_json(result, kinds: list[str], hourly: bool) -> str:
    data = result.model_dump(mode="json")
    keep = set()
    for k in kinds:
        keep.update(findings_of_kind(result, k).keys())
    for key in ("daily_aqi", "hourly", "episodes", "region_emissions", "hotspots",
                "attribution", "regimes"):
        if key not in keep or (key == "hourly" and not hourly):
            data.pop(key, None)
    return json.dumps(data, ensure_ascii=False, indent=2)


def _header(result) -> None:
    console.print(f"[bold]run[/] {result.run_id}  model: {result.model or '-'}  "
                  f"init: {result.init_time.isoformat() if result.init_time else '-'}")
    if result.grid:
        g = result.grid
        console.print(f"grid {g.name}: {g.ncols}×{g.nrows} cells of {g.xcell:g}×{g.ycell:g}"
                      f"{' m' if g.gdtyp != 1 else '°'} (GDTYP {g.gdtyp})")
    if result.days:
        stds = Counter(result.standards.values())
        console.print(f"{len(result.days)} complete Beijing days {result.days[0]} … "
                      f"{result.days[-1]}; AQI standard: "
                      + ", ".join(f"{s} ({n} d)" for s, n in stds.items()))
    for f, convention in result.time_conventions.items():
        console.print(f"time stamps of {f}: {convention}", highlight=False)
    for w in result.warnings:
        mark = "[red]warning (incomplete):[/]" if w.incomplete else "[yellow]warning:[/]"
        console.print(f"{mark} {w.message}", highlight=False)
    for n in result.notes:
        console.print(f"[yellow]note:[/] {n}", highlight=False)


_PRIMARY_CODE = {"PM2_5": "P", "PM10": "M", "O3": "O", "NO2": "N", "SO2": "S", "CO": "C"}


def _forecast_tables(result) -> None:
    cities = [f for f in result.daily_aqi if f.region_level == "city"]
    if not cities:
        console.print("no forecast findings")
        return
    days = sorted({f.date for f in cities})
    codes = sorted({f.region_code for f in cities})
    names = {f.region_code: (f.region_name or f.region_code) for f in cities}
    t = Table(title="Daily AQI by city; primary: P=PM2.5 M=PM10 O=O3 N=NO2 S=SO2 C=CO",
              box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("date")
    for c in codes:
        t.add_column(names[c].removesuffix("市"), justify="right")
    by = {(f.region_code, f.date): f for f in cities}
    for d in days:
        cells = []
        for c in codes:
            f = by.get((c, d))
            if f is None:
                cells.append("")
                continue
            prim = "".join(_PRIMARY_CODE.get(p, "?") for p in f.primary_pollutants)
            style = "bold red" if f.aqi > 200 else ("yellow" if f.aqi > 100 else "")
            text = f"{f.aqi}{prim}"
            cells.append(f"[{style}]{text}[/]" if style else text)
        t.add_row(d.strftime("%m-%d"), *cells)
    console.print(t)
    counties = [f for f in result.daily_aqi if f.region_level == "county"]
    over = Counter(f.date for f in counties if f.aqi > 200)
    if over:
        console.print("counties with AQI > 200: " + ", ".join(
            f"{d:%m-%d}: {n}" for d, n in sorted(over.items())))
    stations = {f.region_code for f in result.daily_aqi if f.region_level == "station"}
    if stations:
        console.print(f"{len(stations)} stations have daily AQI findings (see --format json)")
    eps = [e for e in result.episodes if e.region_level in ("province", "city")]
    if eps:
        et = Table(title="Episodes (province and cities; counties in --format json)",
                   box=box.SIMPLE_HEAD, pad_edge=False)
        for c in ("region", "AQI", "start", "end", "days", "peak", "driver", "open"):
            et.add_column(c)
        for e in eps:
            open_ = ("start " if e.open_start else "") + ("end" if e.open_end else "")
            et.add_row(f"{e.region_name or ''} {e.region_code}", f"{e.comparison}{e.threshold}",
                       str(e.start_date), str(e.end_date), str(e.days), str(e.peak_aqi),
                       e.driver, open_.strip())
        console.print(et)
    else:
        console.print("no episode (daily AQI > 200) in any city")


def _period(x) -> str:
    if x.date is not None:
        return x.date.isoformat()
    if x.period_start is not None:
        return f"{x.period_start:%Y-%m-%d %H:%M}…{x.period_end:%m-%d %H:%M}"
    return "-"


def _inversion_tables(result) -> None:
    hs = result.hotspots
    periods = sorted({_period(h) for h in hs})
    t = Table(title=f"Emission hotspots: {len(hs)} (t/day per cell; {', '.join(periods)})",
              box=box.SIMPLE_HEAD, pad_edge=False)
    for c in ("#", "species", "cell", "lon", "lat", "county", "prior", "post", "excess",
              "ratio"):
        t.add_column(c, justify="left" if c in ("species", "cell", "county") else "right")
    for h in sorted(hs, key=lambda h: (h.species, _period(h), h.rank)):
        t.add_row(str(h.rank), h.species, f"r{h.row}c{h.col}", f"{h.lon:.3f}", f"{h.lat:.3f}",
                  h.county_code or "-", f"{h.prior:.2f}", f"{h.posterior:.2f}",
                  f"{h.excess:.2f}", "-" if h.ratio is None else f"{h.ratio:.1f}")
    console.print(t)
    prov = [e for e in result.region_emissions if e.region_level == "province"]
    if prov:
        pt = Table(title="Province totals (t/day)", box=box.SIMPLE_HEAD, pad_edge=False)
        for c in ("species", "period", "prior", "posterior", "change"):
            pt.add_column(c)
        for e in prov:
            ch = (e.posterior - e.prior) / e.prior if e.prior else float("nan")
            pt.add_row(str(e.species), _period(e), f"{e.prior:.1f}",
                       f"{e.posterior:.1f}", f"{ch:+.1%}")
        console.print(pt)


def _attribution_tables(result) -> None:
    shares = [s for s in result.attribution if s.receptor_level == "city"]
    if not shares:
        console.print("no attribution findings")
        return
    tags: list[str] = []
    for s in shares:
        if s.tag not in tags:
            tags.append(s.tag)
    # For each city and pollutant: the day with the highest bulk value.
    best: dict[tuple[str, str], dt.date] = {}
    bulk: dict[tuple[str, str, dt.date], float] = {}
    for s in shares:
        bulk[(s.receptor_code, s.pollutant, s.date)] = s.bulk_concentration
    for (code, pol, day), b in bulk.items():
        key = (code, pol)
        if key not in best or b > bulk[(code, pol, best[key])]:
            best[key] = day
    t = Table(title="Source shares (%) on each city's worst day: PM2.5 24-h mean, O3 at MDA8",
              box=box.SIMPLE_HEAD, pad_edge=False)
    for c in ("city", "pol", "date", "µg/m³", *tags):
        t.add_column(c, justify="right" if c not in ("city", "pol") else "left")
    by_key: dict[tuple[str, str, dt.date], dict[str, float]] = defaultdict(dict)
    for s in shares:
        by_key[(s.receptor_code, s.pollutant, s.date)][s.tag] = s.share
    for (code, pol), day in sorted(best.items()):
        row = by_key[(code, pol, day)]
        t.add_row(_short_name(code), pol.replace("PM2_5", "PM2.5"), day.strftime("%m-%d"),
                  f"{bulk[(code, pol, day)]:.0f}",
                  *[f"{100 * row.get(tag, 0):.0f}" for tag in tags])
    console.print(t)


def _short_name(code: str) -> str:
    r = regions_by_code().get(code)
    return r.name_zh.removesuffix("市") if r else code


def _regime_tables(result) -> None:
    regs = result.regimes
    if not regs:
        console.print("no O3 regime findings")
        return
    t = Table(title=f"O3 regime: counties per day (HCHO/NO2, {regs[0].threshold_source}, "
              f"{regs[0].hours[0]:02d}-{regs[0].hours[1]:02d} h Beijing)", box=box.SIMPLE_HEAD,
              pad_edge=False)
    for c in ("date", "VOCLimited", "Transitional", "NOxLimited"):
        t.add_column(c, justify="right" if c != "date" else "left")
    per: dict[dt.date, Counter] = defaultdict(Counter)
    for r in regs:
        per[r.date][r.regime] += 1
    for d in sorted(per):
        c = per[d]
        t.add_row(str(d), str(c["VOCLimited"]), str(c["Transitional"]), str(c["NOxLimited"]))
    console.print(t)


def register(app: typer.Typer) -> None:
    """Add the `findings` and `sample-run` commands to the main app."""

    @app.command("findings")
    def findings(
        run_dir: Annotated[Path, typer.Argument(help="model-run directory with run.json")],
        kind: Annotated[list[Kind] | None, typer.Option(
            "--kind", "-k", help="finding kind(s) to show (repeatable); default: all")] = None,
        fmt: Annotated[Format, typer.Option("--format", "-f", help="table or json")] =
            Format.table,
        stations: Annotated[Path | None, typer.Option(
            help="stations CSV (id,name,kind,county_code,lon,lat); default: the bundled "
            "knowledge/reference/stations.csv if present")] = None,
        no_stations: Annotated[bool, typer.Option(
            "--no-stations", help="no station findings")] = False,
        hourly: Annotated[bool, typer.Option(
            help="include hourly region series in --format json")] = False,
    ) -> None:
        """Show what the model adapters find in a run (forecast, inversion, attribution,
        regime)."""
        kinds = [k.value for k in kind] if kind else None
        try:
            st = [] if no_stations else (load_stations_csv(stations) if stations else None)
            result = collect_findings(run_dir, kinds=kinds, stations=st,
                                      include_hourly=hourly and fmt is Format.json)
        except AdapterError as exc:
            raise fail(str(exc), code=2) from exc
        except (ValueError, OSError) as exc:
            raise fail(str(exc), code=2) from exc
        shown = kinds or list(result.kinds)
        if fmt is Format.json:
            sys.stdout.write(_findings_json(result, shown, hourly) + "\n")
            return
        _header(result)
        for k in shown:
            if k not in result.kinds:
                console.print(f"[yellow]{k}:[/] not in this run")
                continue
            {"forecast": _forecast_tables, "inversion": _inversion_tables,
             "attribution": _attribution_tables, "regime": _regime_tables}[k](result)

    @app.command("sample-run")
    def sample_run(
        out_dir: Annotated[Path, typer.Argument(help="directory to write the run into")],
        days: Annotated[int, typer.Option(min=1, max=60, help="forecast days")] = 15,
        seed: Annotated[int, typer.Option(help="random seed (same seed, same files)")] = 0,
        start: Annotated[str | None, typer.Option(
            help="first forecast day YYYY-MM-DD (Beijing); default: tomorrow")] = None,
    ) -> None:
        """Write a deterministic sample CMAQ run (IOAPI files + run.json) over Zhejiang 3 km."""
        try:
            start_date = dt.date.fromisoformat(start) if start else None
        except ValueError as exc:
            raise fail(f"--start {start!r}: expected YYYY-MM-DD") from exc
        with progress() as bar:
            task = bar.add_task("writing forecast and ISAM days", total=days)
            out = write_sample_run(out_dir, days=days, seed=seed, start=start_date,
                                   progress=lambda done, _total: bar.update(task,
                                                                            completed=done))
        truth = json.loads((out / "sample-truth.json").read_text(encoding="utf-8"))
        err_console.print(
            f"wrote {out}: run {truth['run_id']}, {days} days from {truth['start']}; "
            f"PM2.5 episode {', '.join(truth['pm25_episode']['days'][:1])}…, "
            f"O3 episode {', '.join(truth['o3_episode']['days'][:1])}…, "
            f"{len(truth['planted_hotspots'])} planted hotspots")
        console.print(f"next: ecobrain findings {out}")
