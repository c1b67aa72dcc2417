"""Gridded reductions as chunked array work: whole variables to region series, on dask.

The adapters never hold a variable in memory: each is read in day blocks
(:meth:`GriddedFile.blocks`), and each block is read with xarray and reduced in one dask task,
on whichever worker runs it (the decoded block never travels between processes), into

* its area-weighted sums over the base units of the region mapper (counties and station cells:
  one sparse matrix product, :meth:`RegionMapper.base_sums`),
* the count and first position of missing values (NaN, fill) in the cells that feed regions,
* the count and minimum of negative values there (sanity warnings).

Only these small results travel back; counties become cities and the province here, in the
caller's process. All variables of a file are one computation, so blocks of different
variables run in parallel (:func:`scheduler.compute` picks threads or a cluster by size).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dask
import numpy as np
import scipy.sparse as sp

from ecobrain.model_adapters.compute import scheduler
from ecobrain.model_adapters.errors import TruncatedFileError
from ecobrain.model_adapters.files.gridfile import FILL_THRESHOLD, GriddedFile
from ecobrain.model_adapters.regions import RegionMapper


@dataclass(frozen=True)
class RegionSeries:
    """One variable averaged into regions: (time, regions) float64, plus what was seen."""

    variable: str
    series: np.ndarray
    negative_count: int
    negative_min: float


@dataclass(frozen=True)
class _Block:
    sums: np.ndarray  # (t, nbase)
    bad_count: int
    first_bad: tuple[int, int, float] | None  # (record in block, cell, value)
    negative_count: int
    negative_min: float


def reduce_block(block: np.ndarray, base: sp.csc_matrix, used: np.ndarray,
                 count_negatives: bool) -> _Block:
    """One block (t, nrows, ncols) -> base sums and checks (runs on a dask worker).

    The block is gathered to the ``used`` cells once; ``base`` holds only their columns,
    column-compressed, so the product works on the gathered block as it lies in memory
    (no transposed copy). The checks cost a minimum and a maximum unless those show a NaN
    (which fails both comparisons below), a fill value or a negative value."""
    x = np.asarray(block).reshape(block.shape[0], -1)
    sub = x[:, used]
    lo, hi = (float(sub.min()), float(sub.max())) if sub.size else (0.0, 0.0)
    nbad, first = 0, None
    if not (lo >= -FILL_THRESHOLD and hi <= FILL_THRESHOLD):
        bad = ~(np.abs(sub) <= FILL_THRESHOLD)
        nbad = int(bad.sum())
        t, j = np.argwhere(bad)[0]
        first = (int(t), int(used[j]), float(sub[t, j]))
    nneg, nmin = 0, 0.0
    if count_negatives and lo < 0:
        neg = sub < 0
        nneg = int(neg.sum())
        nmin = float(sub[neg].min())
    sums = np.asarray(base @ sub.T).T
    return _Block(sums, nbad, first, nneg, nmin)


def read_and_reduce(gfile: GriddedFile, name: str, layer: int, records: slice,
                    base: sp.csr_matrix, used: np.ndarray, count_negatives: bool) -> _Block:
    """Read one block of records (xarray, on the worker that runs this) and reduce it: the
    block is decoded where it is reduced and never travels between processes."""
    return reduce_block(gfile._slab(name, records, layer), base, used, count_negatives)


def region_series(gfile: GriddedFile, variables: Mapping[str, str], mapper: RegionMapper, *,
                  layer: int = 0, check: bool = True,
                  count_negatives: bool = False) -> dict[str, RegionSeries]:
    """Every ``key -> variable`` of the file averaged into the mapper's regions (one dask
    computation for all). With ``check``, a NaN or fill value in a cell that feeds a region is
    a :class:`BadValueError` naming the first one."""
    names = list(dict.fromkeys(variables.values()))
    for v in names:
        gfile.require(v)
    nbytes = sum(gfile.decoded_bytes(v, layer) for v in names)
    # One graph key each for the file (reopened by path on a cluster's workers), the weights
    # and the used cells, shared by every block task; on a cluster the weights and cells go
    # to the workers once, beside the graph rather than inside it.
    file_d = dask.delayed(gfile, pure=False)
    base_d = scheduler.shared(mapper.base_used, nbytes)
    used_d = scheduler.shared(mapper.used_cells, nbytes)
    tasks: list[Any] = []
    spans: dict[str, list[int]] = {}
    for v in names:
        records = gfile.blocks(v, layer)
        spans[v] = [r.start for r in records]
        tasks += [dask.delayed(read_and_reduce, pure=False)(
            file_d, v, layer, r, base_d, used_d, count_negatives) for r in records]
    try:
        results = scheduler.compute(tasks, nbytes)
    except (OSError, RuntimeError, IndexError) as exc:
        raise TruncatedFileError(
            gfile.label, f"could not be read ({exc}); the file may be truncated",
            ", ".join(names)) from exc
    out: dict[str, RegionSeries] = {}
    pos = 0
    for v in names:
        blocks: list[_Block] = results[pos:pos + len(spans[v])]
        pos += len(spans[v])
        if check:
            total_bad = sum(b.bad_count for b in blocks)
            for t0, b in zip(spans[v], blocks, strict=True):
                if b.first_bad is not None:
                    t, cell, value = b.first_bad
                    raise gfile.bad_value_error(v, total_bad, t0 + t, cell, value)
        sums = np.concatenate([b.sums for b in blocks]) if blocks else \
            np.zeros((0, mapper.base.shape[0]))
        series = mapper.combine(sums) if mapper.nregions else np.zeros((len(sums), 0))
        negs = [b for b in blocks if b.negative_count]
        out[v] = RegionSeries(v, series, sum(b.negative_count for b in negs),
                              min((b.negative_min for b in negs), default=0.0))
    return {k: out[v] for k, v in variables.items()}
