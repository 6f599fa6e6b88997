"""The README's main command, end to end (minutes: opt-in with ``-m slow``)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quickstart_runs_the_whole_pipeline(tmp_path):
    result = subprocess.run([sys.executable, "-m", "scarlet_tf.cli.main", "quickstart", "--out",
                             str(tmp_path / "qs")], cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("supernet/state.json", "search/pareto.json", "search/best.json", "best.tflite"):
        assert (tmp_path / "qs" / name).is_file(), name
    assert "Pareto front" in result.stdout and "TFLite latency" in result.stdout
