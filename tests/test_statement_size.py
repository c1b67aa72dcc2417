"""Writes cut by encoded size, so every message fits a Bolt server's limit (issue 13).

The Bolt stand-in (ArcadeDB) refuses a message over 16 MiB and leaves the client waiting; the
15-day sample run's decision save sent its 1,900 tasks as one 17 MB batch. Sizes below are
worked out by hand from PackStream's rules (marker byte, then 1/2/4 length bytes for strings,
lists and maps of 16+/256+/65,536+ items; UTF-8 bytes, not characters).
"""

from __future__ import annotations

from datetime import date

import pytest

from ecobrain.ontology.graph.statement_size import (
    MAX_STATEMENT_BYTES,
    MIB,
    encoded_size,
    row_batches,
    size_bound,
    statement_size,
)
from ecobrain.ontology.graph.store import GraphStore, GraphStoreError

# 350,000 CJK characters: 1,050,000 UTF-8 bytes (a size counted in characters would be a third)
CJK_ROW_TEXT = "空气质量" * 87_500


@pytest.mark.parametrize(("value", "size"), [
    (None, 1), (True, 1), (0, 1), (127, 1), (-16, 1), (-17, 2), (-128, 2), (128, 3),
    (-129, 3), (32_767, 3), (32_768, 5), (2**31 - 1, 5), (2**31, 9), (-(2**40), 9), (0.5, 9),
    ("", 1), ("abc", 4), ("空", 4),            # tiny string: marker + UTF-8 bytes (3 for 空)
    ("a" * 15, 16), ("a" * 16, 18),            # 16 bytes: marker + 1 length byte
    ("a" * 256, 259), ("a" * 65_536, 65_541),  # 2 and 4 length bytes
    ([], 1), ([1, 2], 3), (list(range(16)), 18), ((1, "a"), 4),
    ({"a": 1}, 4), ({"id": "e1", "v": 0.5}, 1 + 3 + 3 + 2 + 9),
    (b"\x00\x01", 4),                          # bytes always carry a length byte
])
def test_encoded_size_follows_packstream(value: object, size: int) -> None:
    assert encoded_size(value) == size


@pytest.mark.parametrize("value", [
    None, True, 0, 127, 2**31, -(2**40), 0.5, float("nan"), "", "abc", "空", "😀", "a" * 16,
    [], [0.5, 0.5], (1, "a"), {"a": 1}, {"id": "e1", "v": 0.5}, b"\x00\x01", {1, 2},
    date(2024, 1, 22), {"k": [0.0] * 100}, {1: 0.5},
])
def test_size_bound_is_never_below_the_encoded_size(value: object) -> None:
    assert size_bound(value) >= encoded_size(value)


def test_the_bound_cuts_the_same_batches_as_the_walk() -> None:
    # 3 x JSON of the first 4 rows ({"s": "0xxx…"}: 1,009 characters, ", " between, "[]")
    # = 3 x 4,044 > 5,000: the walk decides from the first batch, as before
    rows = [{"s": f"{i}" + "x" * 999} for i in range(10)]
    assert [len(b) for b in row_batches(rows, max_rows=4, max_bytes=5000)] == [4, 4, 2]
    # a float list: JSON "0.0" (3) against PackStream 9 — the bound still cuts no later
    floats = [{"v": [0.0] * 100} for _ in range(7)]  # each 1 + 2 + 2 + 900 = 905 B
    assert [len(b) for b in row_batches(floats, max_rows=5, max_bytes=2000)] == [2, 2, 2, 1]
    # not a list (a generator): the same batches
    assert [len(b) for b in row_batches((r for r in rows), max_rows=3)] == [3, 3, 3, 1]


def test_statement_size_counts_the_query_and_its_parameters() -> None:
    # "RETURN $x" 9+1; params {"x": 1}: 1 + 2 + 1
    assert statement_size("RETURN $x", {"x": 1}) == 10 + 4
    assert statement_size("RETURN 1", None) == 9 + 1


def test_row_batches_cut_by_count_and_by_size() -> None:
    rows = [{"s": f"{i}" + "x" * 999} for i in range(10)]  # each 1 + 2 + (3 + 1000) = 1006 B
    assert {encoded_size(r) for r in rows} == {1006}
    # by size: 5 (list header) + 4 x 1006 = 4029 fits 5000; a fifth row would make 5035
    by_size = list(row_batches(rows, max_rows=100, max_bytes=5000))
    assert [len(b) for b in by_size] == [4, 4, 2]
    # by count, the size limit far away
    assert [len(b) for b in row_batches(rows, max_rows=3)] == [3, 3, 3, 1]
    # every row once, in order
    assert [r for b in by_size for r in b] == rows
    assert list(row_batches([], max_rows=5)) == []
    with pytest.raises(ValueError, match="max_rows"):
        list(row_batches(rows, max_rows=0))


def test_a_row_larger_than_the_limit_is_a_batch_of_its_own() -> None:
    rows = [{"s": "a"}, {"s": "x" * 6000}, {"s": "b"}]
    assert [len(b) for b in row_batches(rows, max_rows=10, max_bytes=5000)] == [1, 1, 1]


def _big_rows() -> list[dict[str, str]]:
    """20 rows of 1,050,017 encoded bytes each (map header 1, "id" 3, "r0" 3, "text" 5,
    string header 5 + 1,050,000 bytes; r10..r19 one byte more): ~21 MB, more than the
    stand-in's 16 MiB message limit as one batch."""
    return [{"id": f"r{i}", "text": CJK_ROW_TEXT} for i in range(20)]


def _write_and_check(store: GraphStore) -> None:
    rows = _big_rows()
    assert sum(encoded_size(r) for r in rows) > 20 * MIB
    summary = store.write_rows("UNWIND $rows AS r CREATE (a:Article {id: r.id, text: r.text})",
                               rows)
    # 8 MiB per batch: 7 rows fit (5 + 7 x 1,050,018 = 7,350,131 <= 8,388,608), 8 do not
    assert MAX_STATEMENT_BYTES == 8 * MIB
    assert (summary.rows, summary.statements, summary.nodes_created) == (20, 3, 20)
    got = store.read("MATCH (a:Article) RETURN a.id AS id, size(a.text) AS n ORDER BY a.id")
    assert got == [{"id": f"r{i}", "n": 350_000} for i in sorted(range(20), key=str)]


def test_a_write_larger_than_a_bolt_message_lands_in_batches(store: GraphStore) -> None:
    """On each backend of the run (FalkorDB; in the Bolt pass, the Bolt server)."""
    _write_and_check(store)


def test_a_write_larger_than_a_bolt_message_lands_over_bolt(neo4j_store: GraphStore) -> None:
    """Over Bolt in every run: one 21 MB batch would leave the client waiting on the stand-in."""
    _write_and_check(neo4j_store)


def test_a_statement_over_the_stand_ins_message_limit_is_refused_before_sending(
        neo4j_store: GraphStore) -> None:
    if not getattr(neo4j_store, "stand_in", False):
        pytest.skip("stand-in difference: only ArcadeDB limits a Bolt message (16 MiB)")
    huge = "空气质量" * 1_500_000  # 18,000,000 UTF-8 bytes in one value: no batching can cut it
    with pytest.raises(GraphStoreError, match=r"17\.2 MiB does not fit one message"):
        neo4j_store.write_all([("CREATE (:Article {id: 'small'})", None),
                               ("CREATE (:Article {id: 'big', text: $t})", {"t": huge})])
    with pytest.raises(GraphStoreError, match="does not fit"):
        neo4j_store.read("RETURN size($t) AS n", {"t": huge})
    # nothing of the unit was sent, and the connection still answers
    assert neo4j_store.read("MATCH (a:Article) RETURN count(a) AS n") == [{"n": 0}]
