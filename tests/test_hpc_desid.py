"""Scaling factors -> CMAQ DESID rules, region definitions and masks; the mapping table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from ecobrain.hpc_jobs import desid
from ecobrain.ontology.concepts import Ontology
from ecobrain.ontology.geography import RegionIndex
from ecobrain.ontology.grid import ZJ3KM

MECH = "cb6r5_ae7_aq"

# A build's chemical-mapping namelist, in DESID's layout (abridged: three default rules).
BASE_CHEM = """\
!------------------------------------------------------------------------------!
! Emission scaling rules of a test build                                        !
!------------------------------------------------------------------------------!
&Desid_ScalingVars
 Desid_Max_Rules = 5
/

&Desid_Scaling
 Desid_Rules_nml =
 ! Region      | Stream Label  |Emission | CMAQ-        |Phase/|Scale |Basis |Op
   'EVERYWHERE', 'ALL'         ,'NO2'    ,'NO2'         ,'GAS'  ,1.  ,'UNIT','a',
   'EVERYWHERE', 'ALL'         ,'NO'     ,'NO'          ,'GAS'  ,1.  ,'UNIT','a',
   'EVERYWHERE', 'ALL'         ,'PSO4'   ,'ASO4'        ,'FINE' ,1.  ,'UNIT','a',
/
"""

BASE_CTRL = """\
&Desid_Options
 Desid_MaxLays = 0
/

&Desid_RegionDefVars
 Desid_Max_Reg    = 2
 Desid_N_Reg_Fams = 0
 Desid_Max_Reg_Fam_Members = 100
/

&Desid_RegionDef
 Desid_Reg_nml  =
 !            Region Label   | File_Label  | Variable on File
               'EVERYWHERE'  ,'N/A'        ,'N/A',
 !<Example>    'WATER'       ,'CMAQ_MASKS' ,'OPEN',
/

&Desid_RegionFam
/
"""


@dataclass
class F:
    region: str
    sector: str
    species: str
    factor: float


def _descendants(*sectors: str) -> dict[str, list[str]]:
    onto = Ontology()
    return {s: onto.descendants(s) for s in sectors}


def test_one_multiply_rule_per_stream_and_target() -> None:
    m = desid.load_mapping()
    rules = desid.rules_for_factors([F("330200", "Petrochemical", "NOx", 0.8)], m, MECH)
    assert [(r.region, r.stream, r.emission, r.cmaq, r.phase, r.factor, r.basis, r.op)
            for r in rules] == [
        ("R330200", "PT_PETROCHEM", "All", "NO", "GAS", 0.8, "UNIT", "m"),
        ("R330200", "PT_PETROCHEM", "All", "NO2", "GAS", 0.8, "UNIT", "m"),
        ("R330200", "PT_PETROCHEM", "All", "HONO", "GAS", 0.8, "UNIT", "m"),
    ]


def test_parent_sector_uses_its_sub_sectors_streams() -> None:
    m = desid.load_mapping()
    rules = desid.rules_for_factors([F("330100", "VOCsKeyIndustry", "Toluene", 0.5)], m, MECH,
                                    _descendants("VOCsKeyIndustry"))
    streams = {r.stream for r in rules}
    assert {"PT_PETROCHEM", "PT_CHEMICAL", "GR_COATING", "GR_PRINTING"} <= streams
    assert "PT_POWER" not in streams
    assert {r.cmaq for r in rules} == {"TOL"}


def test_pm25_targets_fine_mode_and_semivolatile_primary_organics() -> None:
    m = desid.load_mapping()
    rules = desid.rules_for_factors([F("330000", "Power", "PM2_5", 0.0)], m, MECH)
    assert {(r.emission, r.cmaq, r.phase) for r in rules} == {
        ("All", "All", "FINE"), ("POC", "All", "GAS"), ("PNCOM", "All", "GAS")}
    assert all(r.factor == 0.0 and r.region == "R330000" for r in rules)


def test_render_and_parse_round_trip() -> None:
    m = desid.load_mapping()
    factors = [F("330200", "Petrochemical", "VOCs", 0.8), F("330100", "Power", "SO2", 0.7)]
    rules = desid.rules_for_factors(factors, m, MECH)
    text = desid.render_chem_namelist(rules, "test scenario")
    assert "&Desid_ScalingVars" in text and "&Desid_Scaling" in text
    assert "   'R330200', 'PT_PETROCHEM', 'All', 'TOL', 'GAS', 0.8, 'UNIT', 'm'," in text
    assert "! VOCs from Petrochemical in 330200 x 0.8" in text
    assert desid.parse_rules(text) == rules


def test_merge_appends_after_the_default_rules_and_grows_the_limit() -> None:
    m = desid.load_mapping()
    rules = desid.rules_for_factors([F("330200", "Petrochemical", "NOx", 0.8)], m, MECH)
    merged = desid.merge_chem_namelist(BASE_CHEM, rules, "scenario X")
    parsed = desid.parse_rules(merged)
    assert [r.op for r in parsed] == ["a", "a", "a", "m", "m", "m"]
    assert parsed[:3] == desid.parse_rules(BASE_CHEM)
    assert "Desid_Max_Rules = 16" in merged  # 3 + 3 + 10 spare (was 5)
    assert merged.index("scenario X") < merged.rindex("/")


def test_merge_region_definitions() -> None:
    m = desid.load_mapping()
    defs = desid.region_defs(["330200", "330100", "330200"], m)
    assert [(d.label, d.file_label, d.variable) for d in defs] == [
        ("R330100", "ECOBRAIN_REGIONS", "R330100"), ("R330200", "ECOBRAIN_REGIONS", "R330200")]
    merged = desid.merge_ctrl_namelist(BASE_CTRL, defs)
    assert [d.label for d in desid.parse_region_defs(merged)] == [
        "EVERYWHERE", "R330100", "R330200"]
    assert "Desid_Max_Reg    = 4" in merged
    with pytest.raises(desid.DesidError, match="already defined"):
        desid.merge_ctrl_namelist(merged, defs)
    standalone = desid.render_region_namelist(defs, "t")
    assert [d.label for d in desid.parse_region_defs(standalone)] == [
        "EVERYWHERE", "R330100", "R330200"]


def test_namelist_errors() -> None:
    with pytest.raises(desid.DesidError, match="no &Desid_Scaling group"):
        desid.parse_rules("&Desid_Options\n x = 1\n/\n")
    with pytest.raises(desid.DesidError, match="no closing"):
        desid.parse_rules("&Desid_Scaling\n Desid_Rules_nml = 'A', 'B',\n")
    with pytest.raises(desid.DesidError, match="not a multiple of 8"):
        desid.parse_rules("&Desid_Scaling\n Desid_Rules_nml = 'A', 'B', 'C',\n/\n")
    with pytest.raises(desid.DesidError, match="factor 'x' is not a number"):
        desid.parse_rules("&Desid_Scaling\n Desid_Rules_nml =\n"
                          " 'E','ALL','NO','NO','GAS', x ,'UNIT','m',\n/\n")


def test_mapping_table_errors_name_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("streams:\n  Power: []\n", encoding="utf-8")
    with pytest.raises(desid.DesidError, match=r"m.yaml: streams.Power: must be a non-empty"):
        desid.load_mapping(bad)
    # YAML 1.2 (ecobrain.yaml12): an unquoted NO is the species NO, not false ...
    bad.write_text("mechanisms:\n  cb6:\n    NOx:\n      - {emission: All, cmaq: NO, "
                   "phase: GAS}\n", encoding="utf-8")
    assert desid.load_mapping(bad).mechanisms["cb6"]["NOx"][0].cmaq == "NO"
    # ... and a real boolean is still refused, naming the key
    bad.write_text("mechanisms:\n  cb6:\n    NOx:\n      - {emission: All, cmaq: false, "
                   "phase: GAS}\n", encoding="utf-8")
    with pytest.raises(desid.DesidError, match=r"NOx\[0\].cmaq.*not a species"):
        desid.load_mapping(bad)
    bad.write_text("colour: red\n", encoding="utf-8")
    with pytest.raises(desid.DesidError, match="colour: unknown key"):
        desid.load_mapping(bad)


def test_every_mapped_sector_and_species_is_in_the_ontology() -> None:
    onto = Ontology()
    m = desid.load_mapping()
    for sector in m.streams:
        assert onto.concepts[sector].kinds & {"Sector", "SourceCategory"}, sector
    for species in m.mechanisms[MECH]:
        assert "Pollutant" in onto.concepts[species].kinds, species


def test_region_fractions_follow_the_boundary() -> None:
    frac = desid.region_fractions(ZJ3KM, "330200")
    assert frac.shape == (ZJ3KM.nrows, ZJ3KM.ncols)
    assert frac.min() == 0.0 and frac.max() == 1.0
    # A cell whose centre is inside Ningbo, far from its border, is (almost) all inside.
    lon, lat = ZJ3KM.cell_centers_lonlat()
    county = RegionIndex.counties().locate(lon, lat)
    inside = np.array([c is not None and c.startswith("3302") for c in county.ravel()]
                      ).reshape(county.shape)
    assert frac[inside].mean() > 0.9
    assert frac[~inside].mean() < 0.02
    area_km2 = frac.sum() * ZJ3KM.xcell * ZJ3KM.ycell / 1e6
    assert 9000 < area_km2 < 11500  # Ningbo: ~9,800 km² of land plus coastal water


def test_region_masks_file_is_ioapi(tmp_path: Path) -> None:
    m = desid.load_mapping()
    path = desid.write_region_masks(tmp_path / "masks.nc", ZJ3KM, ["330200", "330102"], m,
                                    subsample=2)
    with netCDF4.Dataset(path) as nc:
        names = "".join(nc.getncattr("VAR-LIST")).split()
        assert names == ["R330102", "R330200"]
        assert nc.variables["R330200"].shape == (1, 1, ZJ3KM.nrows, ZJ3KM.ncols)
        assert nc.variables["R330200"].units.strip() == "fraction"
        assert float(nc.variables["R330102"][:].max()) == 1.0
    with pytest.raises(desid.DesidError, match="not a known GB/T 2260"):
        desid.region_fractions(ZJ3KM, "999999")
