"""Forecast horizon honesty: the level a run establishes, and the higher one it cannot rule
out when its last day's AQI persisted — worked out by hand from the grading tables
(knowledge/standards/alert_grading.yaml)."""

from __future__ import annotations

import datetime as dt

import pytest

from ecobrain.reasoning.decisions.horizon import open_level

D2026 = dt.date(2026, 12, 8)  # 环大气〔2024〕6号: yellow >200 1 d or >150 48 h; orange >200 48 h
#                             or >150 72 h; red >200 72 h and >300 24 h
D2023 = dt.date(2023, 12, 8)  # 2017 grading: blue >200 1 d; yellow >200 48 h; orange >200 72 h
#                             and >300 1 d; red >200 96 h and >300 48 h, or 500 one day


@pytest.mark.parametrize(("series", "on", "now", "open_"), [
    ([310, 310], D2026, "AlertOrange", "AlertRed"),      # the 48 h run at 310
    ([210, 210], D2026, "AlertOrange", None),            # persisting 210 never passes 300
    ([180], D2026, None, "AlertOrange"),                 # 24 h at 180: >150 for 72 h if it lasts
    ([310, 310, 310, 100], D2026, "AlertRed", None),     # ended, and red already
    ([310, 310, 120], D2026, "AlertOrange", None),       # the episode ended inside the run
    ([310, 310], D2023, "AlertYellow", "AlertRed"),      # 2017: red needs 96 h and 48 h > 300
    ([90, 100], D2026, None, None),
])
def test_open_level(series: list[int], on: dt.date, now: str | None, open_: str | None
                    ) -> None:
    assert open_level(series, on) == (now, open_)
