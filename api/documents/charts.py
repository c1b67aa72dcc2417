"""The pictures of a task list: a map of the region's hotspots and tasked enterprises, and its
daily AQI forecast. matplotlib on the Agg backend (no display), PNG.

Chinese labels need a CJK font. :func:`cjk_font` looks for WenQuanYi Zen Hei / Micro Hei,
Noto Sans CJK or Source Han Sans through matplotlib's font manager (and, when matplotlib's
font cache predates the font's installation, among the system's font files); ``dev.sh``
installs ``fonts-wqy-zenhei``. Without one, the charts use English labels only and
:data:`FontChoice.note` says so, so the documents can tell the reader why.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import matplotlib

matplotlib.use("Agg")
# WenQuanYi has no "normal" weight (it is 500): matplotlib warns on every lookup otherwise.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.patches import Polygon as PolygonPatch  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

CJK_FAMILIES = ("WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK SC",
                "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "SimHei",
                "Microsoft YaHei", "PingFang SC")
_FILE_HINTS = ("wqy-zenhei", "wqy-microhei", "notosanscjk", "sourcehansans", "simhei")

# Priority bands of tasks on the map (the rule base's priorities run 0-100).
PRIORITY_BANDS = ((90, "#C00000", "≥90"), (80, "#FF6600", "80–89"), (70, "#E6B800", "70–79"),
                  (0, "#1F6FB2", "<70"))
DPI = 100
DENSE_POINTS = 120  # more numbered points than this: the map is drawn larger and sharper


@dataclass(frozen=True)
class FontChoice:
    family: str | None
    path: str | None

    @property
    def note(self) -> str | None:
        if self.family:
            return None
        return ("No CJK font was found (install fonts-wqy-zenhei or fonts-noto-cjk): the "
                "charts are labelled in English; the text of the document is unaffected.")


@cache
def cjk_font() -> FontChoice:
    names = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in names:
            return FontChoice(family, names[family])
    # The font may have been installed after matplotlib built its cache.
    for path in sorted(font_manager.findSystemFonts()):
        low = path.lower().replace("_", "").replace(" ", "")
        if any(h in low for h in _FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
            name = font_manager.FontProperties(fname=path).get_name()
            return FontChoice(name, path)
    return FontChoice(None, None)


def _setup() -> FontChoice:
    font = cjk_font()
    if font.family:
        plt.rcParams["font.family"] = [font.family, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return font


def _label(zh: str, en: str) -> str:
    return zh if cjk_font().family else en


def _png(fig: Any, dpi: int = 0) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or DPI, pil_kwargs={"compress_level": 3})
    plt.close(fig)
    return buf.getvalue()


def _priority_colour(p: int) -> str:
    for low, colour, _ in PRIORITY_BANDS:
        if p >= low:
            return colour
    return PRIORITY_BANDS[-1][1]


def _draw_geometry(ax: Any, geom: Any, **kw: Any) -> None:
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        if poly.geom_type != "Polygon":
            continue
        x, y = poly.exterior.xy
        ax.plot(x, y, **kw)


@dataclass
class MapHotspot:
    cell_polygon: Sequence[tuple[float, float]] | None
    lon: float
    lat: float
    species: str
    excess: float
    number: int | None = None  # the row of the grid-cell task on it


@dataclass
class MapEnterprise:
    lon: float
    lat: float
    priority: int
    name: str
    number: int | None = None  # the row of its task in the document's table


@dataclass
class MapPlace:
    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class MapLabel:
    """A text drawn on the map: a county name or a row number (what tests look at)."""

    kind: str  # "place" | "number"
    text: str
    lon: float
    lat: float


def map_labels(places: Sequence[MapPlace], hotspots: Sequence[MapHotspot],
               enterprises: Sequence[MapEnterprise]) -> list[MapLabel]:
    """County names, then the row number beside every numbered point, in row order (one label
    per number: a task's point is drawn once even when it sits on a hotspot)."""
    out = [MapLabel("place", p.name, p.lon, p.lat) for p in places]
    seen: set[int] = set()
    points = [(e.number, e.lon, e.lat) for e in enterprises if e.number is not None]
    points += [(h.number, h.lon, h.lat) for h in hotspots if h.number is not None]
    for number, lon, lat in sorted(points):
        if number not in seen:
            seen.add(number)
            out.append(MapLabel("number", str(number), lon, lat))
    return out


SCALE_STEPS_KM = (1, 2, 5, 10, 20, 25, 50, 100, 200)


def scale_bar_km(width_deg: float, lat: float) -> int:
    """A round scale-bar length of about a fifth of the map's width."""
    km = width_deg * 111.32 * math.cos(math.radians(lat)) / 5
    return max([s for s in SCALE_STEPS_KM if s <= km] or [SCALE_STEPS_KM[0]])


def _scale_bar(ax: Any, lat: float) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    km = scale_bar_km(x1 - x0, lat)
    length = km / (111.32 * math.cos(math.radians(lat)))
    bx, by = x0 + 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    ax.add_patch(Rectangle((bx - 0.02 * (x1 - x0), by - 0.025 * (y1 - y0)),
                           length + 0.04 * (x1 - x0), 0.085 * (y1 - y0), facecolor="white",
                           edgecolor="none", alpha=0.8, zorder=5))
    ax.plot([bx, bx + length], [by, by], color="black", linewidth=3, solid_capstyle="butt",
            zorder=6)
    ax.plot([bx, bx + length / 2], [by, by], color="white", linewidth=1.2,
            solid_capstyle="butt", zorder=7)
    ax.text(bx + length / 2, by + 0.015 * (y1 - y0), f"{km} km", ha="center", va="bottom",
            fontsize=8, zorder=7)


def _north_arrow(ax: Any) -> None:
    ax.annotate("", xy=(0.95, 0.93), xytext=(0.95, 0.82), xycoords="axes fraction",
                textcoords="axes fraction", zorder=8,
                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5})
    ax.text(0.95, 0.945, _label("北", "N"), transform=ax.transAxes, ha="center", va="bottom",
            fontsize=10, fontweight="bold", zorder=8)


def region_map(title: str, boundary: Any, inner: Sequence[Any], hotspots: Sequence[MapHotspot],
               enterprises: Sequence[MapEnterprise], places: Sequence[MapPlace] = ()) -> bytes:
    """The region's outline (and its counties', named), hotspot cells as squares, tasked
    enterprises as points coloured by priority and numbered with their row in the task table,
    a scale bar and a north arrow: a printed map a field team can find its way with."""
    fig, dpi = map_figure(title, boundary, inner, hotspots, enterprises, places)
    return _png(fig, dpi=dpi)


def map_figure(title: str, boundary: Any, inner: Sequence[Any], hotspots: Sequence[MapHotspot],
               enterprises: Sequence[MapEnterprise], places: Sequence[MapPlace] = ()
               ) -> tuple[Any, int]:
    """:func:`region_map`'s figure (and the dpi to save it at), open: tests read what is
    drawn on it. The caller closes it."""
    _setup()
    labels = map_labels(places if cjk_font().family else (), hotspots, enterprises)
    numbered = sum(1 for lab in labels if lab.kind == "number")
    # a city's hundreds of numbered points: a larger, sharper picture a reader can zoom into
    dense = numbered > DENSE_POINTS
    # fixed margins: a layout engine would draw the figure several times (~2x slower)
    fig, ax = plt.subplots(figsize=(9.6, 8.4) if dense else (6.4, 5.6))
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.08, top=0.94)
    for g in inner:
        _draw_geometry(ax, g, color="#9A9A9A", linewidth=0.6)
    if boundary is not None:
        _draw_geometry(ax, boundary, color="#303030", linewidth=1.4)
    for h in hotspots:
        if h.cell_polygon:
            ax.add_patch(PolygonPatch(list(h.cell_polygon), closed=True, facecolor="#7B2CBF",
                                      edgecolor="#3C096C", alpha=0.55, linewidth=0.8))
        else:
            ax.plot(h.lon, h.lat, marker="s", markersize=9, color="#7B2CBF", alpha=0.55)
    for _, colour, text in PRIORITY_BANDS:
        pts = [e for e in enterprises if _priority_colour(e.priority) == colour]
        if pts:
            ax.scatter([e.lon for e in pts], [e.lat for e in pts], s=14, color=colour,
                       edgecolors="white", linewidths=0.4, zorder=3,
                       label=_label(f"任务企业 优先级{text}",
                                    f"tasked enterprise, priority {text}"))
    if hotspots:
        ax.plot([], [], marker="s", linestyle="none", markersize=9, color="#7B2CBF", alpha=0.55,
                label=_label("排放热点网格（3 km）", "emission hotspot cell (3 km)"))
    lat0 = None
    if boundary is not None:
        minx, miny, maxx, maxy = boundary.bounds
        pad = 0.04 * max(maxx - minx, maxy - miny)
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)
        lat0 = (miny + maxy) / 2
    elif enterprises or hotspots:
        lat0 = sum(e.lat for e in [*enterprises, *hotspots]) / len([*enterprises, *hotspots])
    if lat0 is not None:
        ax.set_aspect(1 / math.cos(math.radians(lat0)))
    for lab in labels:
        if lab.kind == "place":
            ax.text(lab.lon, lab.lat, lab.text, fontsize=9, ha="center", va="center",
                    color="#202020", zorder=2.5, alpha=0.8,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.55,
                          "linewidth": 0})
        else:
            ax.annotate(lab.text, (lab.lon, lab.lat), xytext=(2, 2),
                        textcoords="offset points", fontsize=4.5 if dense else 6,
                        color="#101010", zorder=4)
    # a narrow county leaves little width per tick: few ticks, so the labels never overlap
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.set_xlabel(_label("经度 (°E)", "longitude (°E)"))
    ax.set_ylabel(_label("纬度 (°N)", "latitude (°N)"))
    ax.set_title(title if cjk_font().family else "Hotspots and tasked enterprises", fontsize=11)
    ax.grid(True, linewidth=0.3, alpha=0.5)
    if lat0 is not None:
        _scale_bar(ax, lat0)
    _north_arrow(ax)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=7, framealpha=0.85)
    return fig, 150 if dense else DPI


@dataclass
class AqiDay:
    date: str
    aqi: int
    colour: str


@dataclass
class AqiBand:
    low: int
    high: int | None
    colour: str
    label_zh: str
    label_en: str


def aqi_chart(title: str, days: Sequence[AqiDay], bands: Sequence[AqiBand],
              alert_period: tuple[str, str] | None = None) -> bytes:
    """Daily AQI bars coloured by category over the category bands; the alert period shaded."""
    _setup()
    fig, ax = plt.subplots(figsize=(6.8, 3.4))
    fig.subplots_adjust(left=0.09, right=0.88, bottom=0.2, top=0.88)
    xs = list(range(len(days)))
    top = max([d.aqi for d in days] + [200]) * 1.12
    for b in bands:
        high = b.high if b.high is not None else top
        if b.low >= top:
            continue
        ax.axhspan(b.low, min(high, top), color=b.colour, alpha=0.16, linewidth=0)
        ax.text(1.01, (b.low + min(high, top)) / 2, _label(b.label_zh, b.label_en),
                transform=ax.get_yaxis_transform(), fontsize=7, va="center", ha="left",
                color="#404040")
    if alert_period and days:
        inside = [i for i, d in enumerate(days) if alert_period[0] <= d.date <= alert_period[1]]
        if inside:
            ax.axvspan(inside[0] - 0.5, inside[-1] + 0.5, color="#C00000", alpha=0.08,
                       label=_label("预警期", "alert period"))
    ax.bar(xs, [d.aqi for d in days], color=[d.colour for d in days], edgecolor="#404040",
           linewidth=0.5, width=0.7)
    for x, d in zip(xs, days, strict=True):
        ax.text(x, d.aqi + top * 0.01, str(d.aqi), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(xs)
    ax.set_xticklabels([d.date[5:] for d in days], rotation=45 if len(days) > 8 else 0,
                       fontsize=8)
    ax.set_ylim(0, top)
    ax.set_xlim(-0.6, len(days) - 0.4)
    ax.set_ylabel("AQI")
    ax.set_title(title if cjk_font().family else "Daily AQI forecast", fontsize=11)
    if alert_period and ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=7)
    return _png(fig)
