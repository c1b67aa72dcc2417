"""The same knowledge and the same sample run give the same decision on both backends.

The session's decided graph (embedded FalkorDB) against a fresh load and decision over Bolt
(the test Bolt server): the same node and relationship counts, the same decision id, and
byte-identical Markdown task lists but for the generation time. Runs in the default pass
(the Bolt pass would compare Bolt with itself).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kb_fixture import Decided, graph_counts, sample_run_dir

from ecobrain.api.documents import task_list as D
from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.run_decision import decide_run

pytestmark = [pytest.mark.neo4j, pytest.mark.falkordb_only]

_GENERATED = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}（北京时间）")


def _markdown(store: GraphStore, decision_id: str, out: Path) -> dict[str, str]:
    docs = D.render_documents(store, decision_id, out, formats=["md"], workers=1)
    texts = {}
    for doc in docs.documents:
        text = (docs.folder / doc.files["md"]).read_text(encoding="utf-8")
        texts[doc.code] = text
    return texts


def test_bolt_decision_is_the_falkordb_decision(decided: Decided, neo4j_store: GraphStore,
                                                tmp_path: Path) -> None:
    if decided.store.dialect.name != "falkordb":
        pytest.skip("compares the embedded FalkorDB with Bolt")
    load_bundled(neo4j_store)
    assert graph_counts(neo4j_store)[0] > 0
    bolt = decide_run(neo4j_store, sample_run_dir())
    assert bolt.decision_id == decided.decision_id
    assert graph_counts(neo4j_store) == graph_counts(decided.store)
    falkor_md = _markdown(decided.store, decided.decision_id, tmp_path / "falkordb")
    bolt_md = _markdown(neo4j_store, bolt.decision_id, tmp_path / "bolt")
    assert sorted(bolt_md) == sorted(falkor_md) and falkor_md
    for code, text in falkor_md.items():
        assert _GENERATED.search(text), code  # the one difference allowed is there
        assert _GENERATED.sub("<generated>", bolt_md[code]) == \
            _GENERATED.sub("<generated>", text), code
