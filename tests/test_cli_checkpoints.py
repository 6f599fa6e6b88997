"""Damaged run directories: fall back to the newest checkpoint that loads, with one
warning line, or fail with one error line; never a traceback."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from scarlet_tf import ScarletError
from scarlet_tf.evaluation.runs import SupernetRun
from scarlet_tf.network.supernet import Supernet
from scarlet_tf.training.checkpoints import RunCheckpoint, weight_map

SCRIPT = str(Path(sys.executable).with_name("scarlet-tf"))
TRAIN = ["--width", "0.25", "--choices", "e3k3se,skip", "--epochs", "2", "--steps-per-epoch",
         "1", "--batch-size", "16"]
ARCH = ",".join(["e3k3se"] * 19)


def scarlet_tf(*args):
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished two-epoch supernet run: checkpoints ckpt-1 and ckpt-2."""
    out = tmp_path_factory.mktemp("run") / "run"
    result = scarlet_tf("train-supernet", "--out", str(out), *TRAIN)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def run(finished_run, tmp_path):
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


def truncate(run, name):
    data = run / "checkpoints" / f"{name}.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:1000])


def saved_weights(run, name):
    reader = tf.train.load_checkpoint(str(run / "checkpoints" / name))
    # tf.train escapes the dots of object names as ".."
    return lambda key: reader.get_tensor(f"weights/{key.replace('.', '..')}/.ATTRIBUTES/"
                                         "VARIABLE_VALUE")


def test_truncated_newest_checkpoint_loads_the_previous_one(run):
    truncate(run, "ckpt-2")
    with pytest.warns(UserWarning, match=r"damaged checkpoint .*ckpt-2 .*loaded ckpt-1"):
        supernet = SupernetRun(run).supernet
    expected = saved_weights(run, "ckpt-1")
    for key, variable in weight_map(supernet).items():
        assert np.array_equal(np.array(variable), expected(key)), key


def test_resume_state_follows_the_checkpoint_it_loads(run):
    truncate(run, "ckpt-2")
    supernet = Supernet.from_settings(SupernetRun(run).settings)
    checkpoint = RunCheckpoint(run, weights=weight_map(supernet))
    with pytest.warns(UserWarning, match="damaged checkpoint"):
        state = checkpoint.restore()
    assert state["checkpoint"] == "ckpt-1" and state["step"] == 1


def test_no_loadable_checkpoint_is_an_error(run):
    truncate(run, "ckpt-1")
    truncate(run, "ckpt-2")
    with pytest.raises(ScarletError, match="no loadable checkpoint in .*ckpt-2 .*ckpt-1"):
        _ = SupernetRun(run).supernet


def test_damaged_state_file_uses_the_newest_checkpoint(run):
    """Both readers skip the garbled state.json: the supernet holds ckpt-2's weights (not
    ckpt-1's, which differ), and a resume takes ckpt-2's own state (step 2)."""
    (run / "state.json").write_text('{"step": 2, "check')
    with pytest.warns(UserWarning, match="damaged run state"):
        supernet = SupernetRun(run).supernet
    newest, previous = saved_weights(run, "ckpt-2"), saved_weights(run, "ckpt-1")
    weights = weight_map(supernet)
    for key, variable in weights.items():
        assert np.array_equal(np.array(variable), newest(key)), key
    assert any(not np.array_equal(newest(key), previous(key)) for key in weights)
    fresh = Supernet.from_settings(SupernetRun(run).settings)
    with pytest.warns(UserWarning, match="damaged run state"):
        state = RunCheckpoint(run, weights=weight_map(fresh)).restore()
    assert state["checkpoint"] == "ckpt-2" and state["step"] == 2


def test_eval_cli_warns_once_and_scores(run):
    truncate(run, "ckpt-2")
    result = scarlet_tf("eval", ARCH, "--supernet", str(run), "--recal-batches", "1", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("warning: damaged checkpoint") and \
        result.stderr.count("\n") == 1, result.stderr
    assert 0 <= json.loads(result.stdout)["accuracy"] <= 1


def test_eval_cli_fails_with_one_line_when_nothing_loads(run):
    truncate(run, "ckpt-1")
    truncate(run, "ckpt-2")
    result = scarlet_tf("eval", ARCH, "--supernet", str(run), "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: no loadable checkpoint") and \
        result.stderr.count("\n") == 1, result.stderr


def test_damaged_checkpoint_index_is_rebuilt_on_resume(run):
    (run / "checkpoints" / "checkpoint").write_text("garbage {{{\n")
    result = scarlet_tf("train-supernet", "--out", str(run), *TRAIN)
    assert result.returncode == 0, result.stderr
    # besides the budget warning of a run this short: one line about the index
    lines = [line for line in result.stderr.splitlines() if "are too few" not in line]
    assert len(lines) == 1 and lines[0].startswith("warning: damaged checkpoint index"), \
        result.stderr
    state = tf.train.get_checkpoint_state(str(run / "checkpoints"))
    assert [Path(p).name for p in state.all_model_checkpoint_paths] == ["ckpt-1", "ckpt-2"]
