"""Units as the files state them, and the conversions the findings need.

Model files spell the same unit many ways (CMAQ ``ppmV``, WRF ``ppmv``, ISAM
``micrograms/m**3``, ELMO ``ug m-3``, emission files ``moles/s`` / ``mols/s``). Each spelling is
normalised to one canonical unit; an unknown spelling is an error, never a guess, because a
wrong factor of 1000 is worse than no finding. All conversions are linear, so each is returned
as a factor (scalar, or an array broadcastable over rows for per-cell areas) and applied once.

Reference state: gases in the Chinese AQI are reported at 298.15 K / 1013.25 hPa (GB 3095-2012
amendment 2018; FACTS.md §2.A). The state is data in ``knowledge/standards/hj633.yaml`` and is
passed in by the caller, not fixed here.
"""

from __future__ import annotations

import re

import numpy as np

from ecobrain.model_adapters.errors import UnitError

R_GAS = 8.314462618  # J mol-1 K-1 (CODATA 2018, exact)

# g/mol (FORMATS.md §3; HCHO from its formula CH2O)
MOLAR_MASS = {
    "O3": 48.00,
    "NO2": 46.0055,
    "SO2": 64.066,
    "CO": 28.010,
    "Formaldehyde": 30.026,
    "CH4": 16.043,
}

# Pollutant kinds: which can be a mixing ratio, which are particles (mass only).
GASES = frozenset({"O3", "NO2", "SO2", "CO", "Formaldehyde", "NOx", "CH4"})
PARTICLES = frozenset({"PM2_5", "PM10"})

# canonical unit -> (quantity, factor to the quantity's base unit)
#   mixing ratio base: ppmV;  mass concentration base: ug/m3;
#   emission rate per cell base: g/s (or mol/s);  flux per area base: kg/m2/s (or mol/m2/s)
_CANONICAL: dict[str, tuple[str, float]] = {
    "ppmV": ("mixing", 1.0),
    "ppbV": ("mixing", 1e-3),
    "pptV": ("mixing", 1e-6),
    "mol/mol": ("mixing", 1e6),
    "ug/m3": ("mass_conc", 1.0),
    "mg/m3": ("mass_conc", 1e3),
    "ng/m3": ("mass_conc", 1e-3),
    "mol/s": ("molar_rate", 1.0),
    "g/s": ("mass_rate", 1.0),
    "kg/s": ("mass_rate", 1e3),
    "t/day": ("mass_rate", 1e6 / 86400.0),
    "kg/day": ("mass_rate", 1e3 / 86400.0),
    "kg/m2/s": ("mass_flux", 1.0),
    "g/m2/s": ("mass_flux", 1e-3),
    "mol/m2/s": ("molar_flux", 1.0),
    "mol/km2/hr": ("molar_flux", 1.0 / (1e6 * 3600.0)),
    "1": ("dimensionless", 1.0),
}

# spelling (after _squash) -> canonical
_SPELLINGS: dict[str, str] = {
    "ppmv": "ppmV", "ppm": "ppmV", "ppmvol": "ppmV",
    "ppbv": "ppbV", "ppb": "ppbV",
    "pptv": "pptV", "ppt": "pptV",
    "mol/mol": "mol/mol", "molmol-1": "mol/mol", "mole/mole": "mol/mol",
    "ug/m3": "ug/m3", "ugm-3": "ug/m3", "ug/m^3": "ug/m3", "ug/m-3": "ug/m3",
    "mg/m3": "mg/m3", "mgm-3": "mg/m3",
    "ng/m3": "ng/m3", "ngm-3": "ng/m3",
    "mol/s": "mol/s", "moles/s": "mol/s", "mols/s": "mol/s", "mole/s": "mol/s",
    "mols-1": "mol/s", "moless-1": "mol/s",
    "g/s": "g/s", "gs-1": "g/s", "grams/s": "g/s",
    "kg/s": "kg/s", "kgs-1": "kg/s",
    "t/day": "t/day", "t/d": "t/day", "ton/day": "t/day", "tons/day": "t/day",
    "kg/day": "kg/day", "kg/d": "kg/day",
    "kg/m2/s": "kg/m2/s", "kgm-2s-1": "kg/m2/s", "kg/m2s": "kg/m2/s",
    "g/m2/s": "g/m2/s", "gm-2s-1": "g/m2/s",
    "mol/m2/s": "mol/m2/s", "molm-2s-1": "mol/m2/s",
    "molkm-2hr-1": "mol/km2/hr", "mol/km2/hr": "mol/km2/hr", "molkm-2h-1": "mol/km2/hr",
    "1": "1", "fraction": "1", "ratio": "1",
}


def _squash(raw: str) -> str:
    s = raw.strip().replace("µ", "u").replace("μ", "u")
    s = re.sub(r"micrograms?", "ug", s, flags=re.IGNORECASE)
    s = re.sub(r"milligrams?", "mg", s, flags=re.IGNORECASE)
    s = s.replace("**", "").replace("^", "")
    s = s.lower()
    s = re.sub(r"\s+", "", s)
    return s


def canonical_unit(raw: str | None, *, file: str | None = None,
                   variable: str | None = None) -> str:
    """The canonical spelling of a unit string from a file; UnitError if unknown."""
    if raw is None:
        raise UnitError(file, "has no 'units' attribute; units are never assumed", variable)
    key = _squash(str(raw))
    if key == "":
        raise UnitError(file, "has an empty 'units' attribute; units are never assumed", variable)
    canon = _SPELLINGS.get(key)
    if canon is None:
        raise UnitError(file, f"unknown units {str(raw).strip()!r}", variable)
    return canon


def quantity(canon: str) -> str:
    return _CANONICAL[canon][0]


def molar_volume_factor(temperature_k: float, pressure_pa: float) -> float:
    """mol/m³ of air at (T, P): P / (R T)."""
    return pressure_pa / (R_GAS * temperature_k)


def aqi_unit(pollutant: str) -> str:
    """The unit the AQI tables use: mg/m³ for CO, µg/m³ for everything else."""
    return "mg/m3" if pollutant == "CO" else "ug/m3"


def to_aqi_units_factor(canon: str, pollutant: str, *, temperature_k: float,
                        pressure_pa: float, file: str | None = None,
                        variable: str | None = None) -> float:
    """Factor from ``canon`` to the AQI unit of ``pollutant`` (µg/m³; CO mg/m³).

    Mixing ratios of gases become mass concentrations at (T, P) — the reference state the
    standard prescribes; mass concentrations are only rescaled (no state conversion: a model's
    µg/m³ is taken as given). Particles given as mixing ratios are an error.
    """
    q, f = _CANONICAL[canon]
    out_scale = 1e-3 if pollutant == "CO" else 1.0  # ug/m3 -> mg/m3 for CO
    if q == "mass_conc":
        return f * out_scale
    if q == "mixing":
        if pollutant not in MOLAR_MASS:
            raise UnitError(
                file, f"{canon} cannot be converted for {pollutant} (not a gas with a known "
                "molar mass)", variable,
            )
        ppm = f
        ugm3_per_ppm = MOLAR_MASS[pollutant] * molar_volume_factor(temperature_k, pressure_pa)
        return ppm * ugm3_per_ppm * out_scale
    raise UnitError(file, f"{canon} is not a concentration ({q})", variable)


def to_ppb_factor(canon: str, pollutant: str, *, temperature_k: float, pressure_pa: float,
                  file: str | None = None, variable: str | None = None) -> float:
    """Factor from ``canon`` to ppbV (for molar ratios such as HCHO/NO2)."""
    q, f = _CANONICAL[canon]
    if q == "mixing":
        return f * 1e3
    if q == "mass_conc" and pollutant in MOLAR_MASS:
        ugm3_per_ppb = MOLAR_MASS[pollutant] * molar_volume_factor(temperature_k, pressure_pa)
        return f / (ugm3_per_ppb * 1e-3)
    raise UnitError(file, f"{canon} cannot be converted to ppbV for {pollutant}", variable)


def emission_to_t_per_day_factor(canon: str, *, molar_mass: float | None,
                                 cell_area_m2: float | np.ndarray | None,
                                 file: str | None = None,
                                 variable: str | None = None) -> float | np.ndarray:
    """Factor from an emission rate (per cell) or flux (per m²) to tonnes per day per cell.

    Molar rates need the species' molar mass (NOx counts as NO2, by convention); fluxes need
    the cell's true area (an array per row on lat/lon grids).
    """
    q, f = _CANONICAL[canon]
    g_per_s_to_t_per_day = 86400.0 / 1e6
    if q == "mass_rate":
        return f * g_per_s_to_t_per_day
    if q in ("molar_rate", "molar_flux") and molar_mass is None:
        raise UnitError(
            file, f"{canon} needs a molar mass to become a mass; set molar_mass_g_mol for this "
            "species in knowledge/config/hotspots.yaml", variable,
        )
    if q == "molar_rate":
        assert molar_mass is not None
        return f * molar_mass * g_per_s_to_t_per_day
    if q in ("mass_flux", "molar_flux"):
        if cell_area_m2 is None:
            raise UnitError(file, f"{canon} is per area and the grid's cell area is unknown",
                            variable)
        if q == "mass_flux":
            return f * 1e3 * np.asarray(cell_area_m2) * g_per_s_to_t_per_day
        assert molar_mass is not None
        return f * molar_mass * np.asarray(cell_area_m2) * g_per_s_to_t_per_day
    raise UnitError(file, f"{canon} is not an emission rate or flux ({q})", variable)
