"""``./dev.sh test`` is CI's command: its exit status is the verdict.

A green run once ended with exit 1 because the script's clean-up (its EXIT trap, under
``set -e``) tried to stop a Bolt pass that had already finished. These tests run the script
itself, nested, on a few quick tests, and read its exit status as CI does. The nested run
leaves the Slurm cluster alone (``ECOBRAIN_TEST_SLURM=0``): the outer run's Slurm tests use it.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run_dev_test(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ECOBRAIN_TEST_SLURM="0", ECOBRAIN_TEST_BOLT_PASS="parallel")
    env.pop("ECOBRAIN_TEST_BACKEND", None)
    return subprocess.run(["bash", str(ROOT / "dev.sh"), "test", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def dev_script() -> Path:
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv in the checkout: ./dev.sh test has not set it up here")
    return ROOT / "dev.sh"


def test_passing_tests_give_exit_zero(dev_script: Path) -> None:
    done = _run_dev_test("-q", "-p", "no:cacheprovider",
                         "tests/test_relayout.py::test_new_layout_is_left_alone")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout


def test_a_failing_test_fails_the_run(dev_script: Path, tmp_path: Path) -> None:
    failing = tmp_path / "test_fails.py"
    failing.write_text(textwrap.dedent("""
        def test_fails():
            assert 1 + 1 == 3
    """))
    done = _run_dev_test("-q", "-p", "no:cacheprovider", str(failing))
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 failed" in done.stdout
