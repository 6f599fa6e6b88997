"""The README's main command, end to end (minutes: opt-in with ``-m slow``)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quickstart_searches_a_supernet_that_learned(tmp_path):
    result = subprocess.run([sys.executable, "-m", "scarlet_tf.cli.main", "quickstart", "--out",
                             str(tmp_path / "qs")], cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("supernet/state.json", "search/pareto.json", "search/best.json", "best.tflite"):
        assert (tmp_path / "qs" / name).is_file(), name
    assert "are too few" not in result.stderr
    front = json.loads((tmp_path / "qs" / "search" / "pareto.json").read_text())
    members = front["front"] if isinstance(front, dict) else front
    assert min(m["accuracy"] for m in members) >= 0.85, members
    trained = json.loads((tmp_path / "qs" / "model" / "result.json").read_text())
    assert trained["test_accuracy"] >= 0.95
    assert "supernet estimate" in result.stdout and "trained alone" in result.stdout
