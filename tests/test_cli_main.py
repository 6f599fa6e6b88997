"""The installed ``scarlet-tf`` script: quiet output, one-line errors, a light start."""

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from scarlet_tf.cli.main import COMMANDS, cli

SCRIPT = str(Path(sys.executable).with_name("scarlet-tf"))


def scarlet_tf(*args, log_level=None):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    if log_level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = log_level
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=300, env=env,
                          check=False)


def test_script_is_the_namespaced_entry_point():
    script, = entry_points(group="console_scripts", name="scarlet-tf")
    assert script.value == "scarlet_tf.cli.main:main"


def test_every_registered_command_resolves_to_itself():
    for name in COMMANDS:
        assert cli.get_command(None, name).name == name


@pytest.mark.parametrize("args", [["info", "scarlet-a", "--json"], ["info", "--help"]])
def test_success_prints_only_its_output(args):
    result = scarlet_tf(*args)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.strip()


@pytest.mark.parametrize("args,message", [
    (["info", "e3k9" + ",e3k3" * 18], "layer 1: unknown token 'e3k9'"),
    (["info", "scarlet-a", "--width", "x"], "Invalid value for '--width'"),
    (["info", "scarlet-a", "--depth", "3"], "No such option '--depth'"),
    (["nosuch"], "No such command 'nosuch'"),
    (["benchmark", "missing.tflite"], "model file not found"),
])
def test_bad_input_is_one_error_line(args, message):
    result = scarlet_tf(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("log_level", [None, "0", "3"])
def test_tensorflow_loads_quietly_whatever_its_log_level(log_level, tmp_path):
    """A missing run directory is found after TensorFlow has loaded."""
    result = scarlet_tf("eval", "scarlet-a", "--supernet", str(tmp_path / "none"),
                        log_level=log_level)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "no config.json" in result.stderr


LIGHT = """
import sys
from scarlet_tf.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted({"tensorflow", "keras", "ai_edge_litert"} & set(sys.modules))
print(heavy, file=sys.stderr)
"""


def heavy_modules(*args):
    result = subprocess.run([sys.executable, "-c", LIGHT, *args], capture_output=True,
                            text=True, timeout=120, check=False)
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("args", [
    ["info", "scarlet-a"], ["info", "scarlet-a", "--json"], ["info", "--help"],
    ["info", "scarlet-a", "--width", "x"], ["info", "e3k9"], ["nosuch"],
    ["export-tflite", "--help"], ["benchmark", "--help"], ["latency-table", "--help"],
])
def test_parsing_and_info_leave_tensorflow_unloaded(args):
    assert heavy_modules(*args) == "[]"


@pytest.mark.parametrize("args", [
    ["--help"], ["eval", "--help"], ["search", "--help"], ["train-supernet", "--help"],
    ["train-subnet", "--help"],
])
def test_help_of_training_commands_leaves_tensorflow_unloaded(args):
    assert heavy_modules(*args) == "[]"


def test_grappler_stays_on_unless_a_command_opts_out():
    """Scoring a supernet from Python leaves Grappler on; a command decorated with
    ``fast_first_trace`` turns it off before it runs."""
    code = """
import tensorflow as tf
from scarlet_tf import Evaluator, Supernet, get_space
from scarlet_tf.cli.options import fast_first_trace

off = lambda: tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
space = get_space("scarlet-cifar", width=0.25, num_classes=10, choices="e3k3se,skip")
Evaluator(Supernet(space), "digits", recal_batches=1, max_images=8).score(",".join(["e3k3se"] * 19))
print(off(), fast_first_trace(off)())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True"]
