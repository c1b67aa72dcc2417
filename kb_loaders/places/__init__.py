"""Loaders of regions, grid cells, sites, stations and enterprises."""
