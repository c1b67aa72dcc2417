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

CJK_FAMILIES = ("WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK SC",
                "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "SimHei",
                "Microsoft YaHei", "PingFang SC")
_FILE_HINTS = ("wqy-zenhei", "wqy-microhei", "notosanscjk", "sourcehansans", "simhei")

# Priority bands of tasks on the map (the rule base's priorities run 0-100).
PRIORITY_BANDS = ((90, "#C00000", "≥90"), (80, "#FF6600", "80–89"), (70, "#E6B800", "70–79"),
                  (0, "#1F6FB2", "<70"))
DPI = 100


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


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
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


@dataclass
class MapEnterprise:
    lon: float
    lat: float
    priority: int
    name: str


def region_map(title: str, boundary: Any, inner: Sequence[Any], hotspots: Sequence[MapHotspot],
               enterprises: Sequence[MapEnterprise]) -> bytes:
    """The region's outline (and its counties'), hotspot cells as squares, tasked enterprises
    as points coloured by priority."""
    _setup()
    # fixed margins: a layout engine would draw the figure several times (~2x slower)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.09, top=0.93)
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
        import math

        ax.set_aspect(1 / math.cos(math.radians(lat0)))
    # a narrow county leaves little width per tick: few ticks, so the labels never overlap
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.set_xlabel(_label("经度 (°E)", "longitude (°E)"))
    ax.set_ylabel(_label("纬度 (°N)", "latitude (°N)"))
    ax.set_title(title if cjk_font().family else "Hotspots and tasked enterprises", fontsize=11)
    ax.grid(True, linewidth=0.3, alpha=0.5)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=7, framealpha=0.85)
    return _png(fig)


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
