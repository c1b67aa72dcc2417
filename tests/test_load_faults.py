"""Bad text never reaches the graph half-way (issue 14, finding 2).

The reported cases: an enterprise file of 5,002 new rows whose last name holds a NUL byte
returned an error *and* left 5,000 enterprises (+13,795 EMITS) in the graph — the NUL made
the server refuse the last batch after the earlier batches of the same MULTI block were
applied; a statute folder with a NUL left a Regulation without its articles. Both files are
now refused before the first write, naming the line, and the graph is exactly as before.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from kb_fixture import graph_counts

from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.legal.statutes import bundled_statutes_dir, load_regulations
from ecobrain.kb_loaders.places.enterprises import bundled_path, load_enterprises
from ecobrain.ontology.graph.store import GraphStore


def _enterprise_file(tmp_path: Path, rows: int, bad_name: str) -> Path:
    with open(bundled_path(), encoding="utf-8") as fh:
        template = list(csv.DictReader(fh))
    path = tmp_path / "enterprises.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(template[0]))
        writer.writeheader()
        for i in range(rows):
            row = dict(template[i % len(template)])
            row["id"] = f"NEW-E-{i:05d}"
            row["name"] = bad_name if i == rows - 1 else f"新企业{i}"
            writer.writerow(row)
    return path


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m", "\x85"])
def test_enterprise_file_with_a_control_character_writes_nothing(
        module_kb: GraphStore, tmp_path: Path, bad: str) -> None:
    before = graph_counts(module_kb)
    path = _enterprise_file(tmp_path, 5002, f"坏名称{bad}有限公司")
    with pytest.raises(LoadError) as exc:
        load_enterprises(module_kb, path)
    # the header is line 1, so the 5,002nd row is line 5,003; the character is the 4th
    assert f"enterprises.csv:5003 [text]: control character U+{ord(bad[0]):04X} at column " \
           in str(exc.value)
    assert graph_counts(module_kb) == before
    assert module_kb.read_one(
        "MATCH (e:Enterprise) WHERE e.id STARTS WITH 'NEW-E-' RETURN count(e) AS n") == {"n": 0}


def test_statute_folder_with_a_nul_writes_nothing(module_kb: GraphStore, tmp_path: Path) -> None:
    folder = tmp_path / "statutes"
    shutil.copytree(bundled_statutes_dir(), folder)
    law = folder / "环境保护法-2014.md"
    meta = folder / "环境保护法-2014.meta.yaml"
    # the same law as a new regulation id, so a half-written load would be visible
    meta.write_text(meta.read_text(encoding="utf-8").replace(
        "id: cn.ep-law.2014", "id: cn.ep-law.test-copy"), encoding="utf-8")
    lines = law.read_text(encoding="utf-8").splitlines(keepends=True)
    target = next(i for i, line in enumerate(lines) if "<b>第七十条</b>" in line)
    lines[target] = lines[target].rstrip("\n") + "\x00\n"
    law.write_text("".join(lines), encoding="utf-8")
    before = graph_counts(module_kb)
    with pytest.raises(LoadError) as exc:
        load_regulations(module_kb, folder)
    assert f"环境保护法-2014.md:{target + 1} [text]: control character U+0000" in str(exc.value)
    assert graph_counts(module_kb) == before
    assert module_kb.read_one("MATCH (r:Regulation {id: 'cn.ep-law.test-copy'}) "
                              "RETURN count(r) AS n") == {"n": 0}
