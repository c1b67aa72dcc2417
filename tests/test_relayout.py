"""The layout move's rewriter (scripts/relayout.py) on code written against the old flat names,
as a branch started before the move has it, and on code already in the new layout (unchanged)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("relayout", ROOT / "scripts" / "relayout.py")
relayout = importlib.util.module_from_spec(spec)
sys.modules["relayout"] = relayout
spec.loader.exec_module(relayout)

OLD_STYLE = '''\
from ecobrain.api.cli.app import app
from ecobrain.api.cli.app import app as cli_app
from ecobrain.api import documents as D
from ecobrain.reasoning import decision_store, task_status
from ecobrain.reasoning.engine.runner import Engine
from ecobrain.ontology.graph.store import GraphStore
import ecobrain.reasoning.engine.worker

def f(monkeypatch):
    from ecobrain.api import http_cache, auth
    monkeypatch.setattr("ecobrain.api.web.pages.WEBUI_DIR", None)
    return "python -m ecobrain.reasoning.language.schema; see api/cli/commands/decide.py"
'''

NEW_STYLE = '''\
from ecobrain.api.cli.app import app
from ecobrain.api.cli.app import app as cli_app
from ecobrain.api.documents import task_list as D
from ecobrain.reasoning.decisions import store as decision_store, task_status
from ecobrain.reasoning.engine.runner import Engine
from ecobrain.ontology.graph.store import GraphStore
import ecobrain.reasoning.engine.worker

def f(monkeypatch):
    from ecobrain.api.http import cache as http_cache
    from ecobrain.api import auth
    monkeypatch.setattr("ecobrain.api.web.pages.WEBUI_DIR", None)
    return "python -m ecobrain.reasoning.language.schema; see api/cli/commands/decide.py"
'''


def test_old_names_are_rewritten_to_the_new_layout(tmp_path: Path) -> None:
    f = tmp_path / "mod.py"
    f.write_text(OLD_STYLE, encoding="utf-8")
    assert relayout.rewrite_text(f)
    assert f.read_text(encoding="utf-8") == NEW_STYLE


def test_new_layout_is_left_alone(tmp_path: Path) -> None:
    f = tmp_path / "mod.py"
    f.write_text(NEW_STYLE, encoding="utf-8")
    assert not relayout.rewrite_text(f)
    toml = tmp_path / "pyproject.toml"
    toml.write_text('packages = ["ecobrain.api.cli", "ecobrain.reasoning.engine"]\n'
                    'ecobrain = "ecobrain.api.cli.app:app"\n', encoding="utf-8")
    assert not relayout.rewrite_text(toml)


def test_every_old_module_is_gone_and_every_new_one_exists() -> None:
    for old, new in relayout.MOVES.items():
        assert not (ROOT / (old.replace(".", "/") + ".py")).exists(), old
        assert (ROOT / (new.replace(".", "/") + ".py")).exists(), new


def test_a_module_added_to_a_new_package_after_the_move_is_kept(tmp_path: Path) -> None:
    f = tmp_path / "mod.py"
    # api/cli/common.py is in the map; api/cli/commands/serve.py too — and a module only the
    # package has (its __init__) stands for one a branch added after the move
    f.write_text("from ecobrain.api.cli import __init__\n", encoding="utf-8")
    assert not relayout.rewrite_text(f)


def test_a_dotted_name_of_a_module_added_after_the_move_is_kept(tmp_path: Path) -> None:
    f = tmp_path / "mod.py"
    # reasoning/engine/ is the package the old reasoning/engine.py became; a module it has that
    # is not in the map (its __init__ here) must not be read as an attribute of the old module
    f.write_text("import ecobrain.reasoning.engine.__init__\n", encoding="utf-8")
    assert not relayout.rewrite_text(f)
