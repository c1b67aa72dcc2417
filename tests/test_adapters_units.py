"""Units are read from the files and converted at the reference state, never assumed."""

from __future__ import annotations

import pytest

from ecobrain.model_adapters.errors import UnitError
from ecobrain.model_adapters.files.units import (
    canonical_unit,
    emission_to_t_per_day_factor,
    to_aqi_units_factor,
    to_ppb_factor,
)

REF = {"temperature_k": 298.15, "pressure_pa": 101325.0}


@pytest.mark.parametrize(("raw", "canon"), [
    ("ppmV            ", "ppmV"), ("ppmv", "ppmV"), ("ppbV", "ppbV"), ("ppb", "ppbV"),
    ("ug m-3          ", "ug/m3"), ("micrograms/m**3", "ug/m3"), ("µg/m3", "ug/m3"),
    ("μg/m3", "ug/m3"), ("ug/m3", "ug/m3"), ("ug m^-3", "ug/m3"), ("mg/m3", "mg/m3"),
    ("moles/s", "mol/s"), ("mols/s          ", "mol/s"), ("g/s", "g/s"),
    ("kg/m2/s", "kg/m2/s"), ("kg m-2 s-1", "kg/m2/s"), ("mol km^-2 hr^-1", "mol/km2/hr"),
])
def test_spellings_of_model_files_are_recognised(raw, canon):
    assert canonical_unit(raw) == canon


@pytest.mark.parametrize("raw", ["persons/km**2", "DEGREES", "kg/hectare", "furlongs"])
def test_unknown_unit_is_an_error_naming_file_and_variable(raw):
    with pytest.raises(UnitError) as exc:
        canonical_unit(raw, file="aconc.nc", variable="O3")
    assert "aconc.nc" in str(exc.value) and "O3" in str(exc.value) and raw in str(exc.value)


def test_missing_or_empty_units_are_errors():
    with pytest.raises(UnitError, match="no 'units' attribute"):
        canonical_unit(None, file="f.nc", variable="PM25")
    with pytest.raises(UnitError, match="empty"):
        canonical_unit("                ", file="f.nc", variable="PM25")


@pytest.mark.parametrize(("pollutant", "ppb_in_ug"), [
    ("O3", 1.962), ("NO2", 1.880), ("SO2", 2.619)])
def test_ppb_to_ugm3_at_reference_state_matches_formats_md(pollutant, ppb_in_ug):
    # FORMATS.md §3: at 298.15 K / 1013.25 hPa 1 ppb O3 = 1.962 µg/m³, NO2 1.880, SO2 2.619.
    assert to_aqi_units_factor("ppbV", pollutant, **REF) == pytest.approx(ppb_in_ug, abs=5e-4)
    assert to_aqi_units_factor("ppmV", pollutant, **REF) == pytest.approx(1000 * ppb_in_ug,
                                                                          abs=0.5)


def test_co_goes_to_mg_per_m3():
    assert to_aqi_units_factor("ppmV", "CO", **REF) == pytest.approx(1.145, abs=5e-4)
    assert to_aqi_units_factor("ug/m3", "CO", **REF) == pytest.approx(1e-3)


def test_particles_are_mass_only_and_not_state_converted():
    assert to_aqi_units_factor("ug/m3", "PM2_5", **REF) == 1.0
    assert to_aqi_units_factor("mg/m3", "PM10", **REF) == 1000.0
    with pytest.raises(UnitError, match="PM2_5"):
        to_aqi_units_factor("ppmV", "PM2_5", **REF, file="f.nc", variable="PM25")


def test_back_to_ppb_for_molar_ratios():
    assert to_ppb_factor("ppmV", "Formaldehyde", **REF) == 1000.0
    assert to_ppb_factor("ug/m3", "NO2", **REF) == pytest.approx(1 / 1.880, rel=1e-3)


def test_emission_rates_to_tonnes_per_day():
    # 1 mol/s of NO2 = 46.0055 g/s = 3.9749 t/day
    assert emission_to_t_per_day_factor("mol/s", molar_mass=46.0055, cell_area_m2=None) == \
        pytest.approx(46.0055 * 86400 / 1e6)
    assert emission_to_t_per_day_factor("g/s", molar_mass=None, cell_area_m2=None) == \
        pytest.approx(0.0864)
    # 1e-9 kg/m2/s over a 3 km cell = 9e6 m2 * 1e-9 kg/s = 9e-3 kg/s = 0.7776 t/day
    assert emission_to_t_per_day_factor("kg/m2/s", molar_mass=None, cell_area_m2=9e6) * 1e-9 \
        == pytest.approx(0.7776)
    with pytest.raises(UnitError, match="molar mass"):
        emission_to_t_per_day_factor("mol/s", molar_mass=None, cell_area_m2=None,
                                     file="emis.nc", variable="VOC")
