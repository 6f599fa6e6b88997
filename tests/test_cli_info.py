"""`scarlet-tf info` and the CLI's one-line errors, through the installed entry point."""

import json
import subprocess
import sys

import pytest

from scarlet_tf.space.costs import costs


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "scarlet_tf.cli.main", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("name,depth", [("scarlet-a", 19), ("scarlet-b", 17), ("scarlet-c", 16)])
def test_info_json(name, depth):
    result = run_cli("info", name, "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["depth"] == depth and record["space"]["name"] == "scarlet"
    assert record["madds"] == costs(name).madds and record["params"] == costs(name).params


def test_info_table_lists_every_layer(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"arch": "scarlet-c"}))
    result = run_cli("info", str(path), "--space", "scarlet-cifar")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.split()[0].isdigit() for line in lines if line.strip()) == 19
    assert "skip" in result.stdout and "mult-adds:" in result.stdout


@pytest.mark.parametrize("args,message", [
    (["info", "scarlet-q"], "unknown architecture 'scarlet-q'"),
    (["info", "e3k3,e3k3"], "needs 19 comma-separated tokens"),
    (["info", "scarlet-a", "--space", "imagenet"], "'imagenet' is not one of"),
    (["info", "missing.json"], "architecture file not found"),
    (["info", "scarlet-a", "--width", "-1"], "width must be a positive number"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr
