"""Gridded work on dask: where it runs (threads or a cluster) and the reductions it does."""
