"""The ids and partition names durable_rules sees: chosen so that no two of them hash alike.

durable_rules 2.0.28 tells facts apart within one engine state (one ruleset, one ``sid``)
by the 32-bit FNV-1a hash of their ``id`` text only, and engine states by the hash of their
``sid``: a fact whose id hashes like one already stored is taken for it and dropped, never
matched (``state.c`` ``storeMessage`` → ``ERR_EVENT_OBSERVED``; reproduced by
``scripts/durable_rules_collisions.py``). Fact ids of real runs collide by the birthday
bound — about n²/2³³ pairs in a state of n facts: the 6 firings issue 18 saw lost with
100,000 facts in one partition came from two such pairs.

So the engine never gives durable_rules its own ids. Each fact (and each partition) of a run
gets the next number of :data:`KEYS`, an increasing sequence of integers whose decimal texts
have pairwise different FNV-1a hashes (a number whose hash an earlier one has is skipped:
the decimal texts of 0..10⁶ hold 4 such pairs). Distinct hashes make a lost fact impossible
by construction, whatever the state's size; the short numbers are also cheaper to write,
parse and hash than the long textual ids.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 16777619
_CHUNK = 1 << 18


def fnv1a_32(text: str) -> int:
    """durable_rules' ``fnv1Hash32`` of a text: FNV-1a over its UTF-8 bytes, each read as a
    signed ``char`` (gcc on x86-64), so a byte ≥ 0x80 is XORed sign-extended."""
    h = FNV_OFFSET
    for b in text.encode("utf-8"):
        h ^= b if b < 0x80 else (b - 0x100) & 0xFFFFFFFF
        h = (h * FNV_PRIME) & 0xFFFFFFFF
    return h


def fnv1a_32_texts(texts: Sequence[str]) -> np.ndarray:
    """:func:`fnv1a_32` of many texts at once (to count the collisions raw ids would have)."""
    raw = [t.encode("utf-8") for t in texts]
    if not raw:
        return np.empty(0, dtype=np.uint32)
    lengths = np.fromiter((len(b) for b in raw), dtype=np.int64, count=len(raw))
    width = max(int(lengths.max()), 1)
    matrix = np.array(raw, dtype=f"S{width}").view(np.uint8).reshape(len(raw), width)
    h = np.full(len(raw), FNV_OFFSET, dtype=np.uint32)
    for j in range(width):
        live = lengths > j
        col = matrix[live, j].astype(np.uint32)
        col[col >= 0x80] |= np.uint32(0xFFFFFF00)  # a signed char, sign-extended
        h[live] = (h[live] ^ col) * np.uint32(FNV_PRIME)
    return h


def fnv1a_32_decimal(numbers: np.ndarray) -> np.ndarray:
    """FNV-1a of the decimal texts of non-negative integers, vectorised (digits are ASCII)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    out = np.empty(numbers.shape, dtype=np.uint32)
    digits = np.ones(numbers.shape, dtype=np.int64)
    for k in range(1, 19):
        digits += numbers >= 10 ** k
    for n_digits in np.unique(digits):
        sel = digits == n_digits
        x = numbers[sel]
        h = np.full(x.shape, FNV_OFFSET, dtype=np.uint32)
        for pos in range(int(n_digits) - 1, -1, -1):
            h ^= ((x // 10 ** pos) % 10 + 48).astype(np.uint32)
            h *= np.uint32(FNV_PRIME)
        out[sel] = h
    return out


class KeySequence:
    """Increasing integers whose decimal texts have pairwise different FNV-1a hashes.

    Grown in chunks on demand and shared by every run of the process (thread-safe); the
    i-th key never changes once made.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: list[int] = []
        self._hashes = np.empty(0, dtype=np.uint32)  # sorted, every hash taken so far
        self._next = 0  # the next candidate number

    def __len__(self) -> int:
        return len(self._keys)

    def first(self, n: int) -> list[int]:
        """The first `n` keys (a list the caller may keep: later growth does not change it)."""
        if len(self._keys) < n:
            with self._lock:
                while len(self._keys) < n:
                    self._grow()
        return self._keys[:n]

    def _grow(self) -> None:
        candidates = np.arange(self._next, self._next + _CHUNK, dtype=np.int64)
        self._next += _CHUNK
        hashes = fnv1a_32_decimal(candidates)
        _, first = np.unique(hashes, return_index=True)  # the first number of each hash
        first.sort()
        taken = self._hashes
        at = np.searchsorted(taken, hashes[first]).clip(max=max(len(taken) - 1, 0))
        fresh = first if not len(taken) else first[taken[at] != hashes[first]]
        self._keys.extend(candidates[fresh].tolist())
        merged = np.concatenate((taken, hashes[fresh]))
        merged.sort()
        self._hashes = merged


KEYS = KeySequence()
