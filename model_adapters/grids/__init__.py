"""Geometry on a run's own grid: placing sites into its cells, cells onto counties.

A run's grid is whatever its files declare (IOAPI Lambert / polar / Mercator / lat-lon, CF
grid mappings); the knowledge graph's 3 km grid is only the graph's reference grid. These
modules join sites and regions to a run's cells by geometry — projected coordinates and
polygon areas — never by equality of cell ids.
"""

from ecobrain.model_adapters.grids.overlap import CountyShare, county_shares
from ecobrain.model_adapters.grids.placement import Placement, place_points

__all__ = ["CountyShare", "Placement", "county_shares", "place_points"]
