"""The supernet budget line and its warning (light: no training, except one CLI run)."""

import json
import subprocess

from scarlet_tf.space.spaces import get_space
from scarlet_tf.training.budget import budget_report, steps_needed, weighted_choices


def test_skip_has_no_weights_so_it_does_not_count():
    assert weighted_choices(get_space("scarlet-cifar")) == 12
    assert weighted_choices(get_space("scarlet-cifar", choices="e3k3,skip")) == 1
    space = get_space("scarlet-cifar", choices="e3k3,e6k5se,skip")
    assert steps_needed(space) == 40 and steps_needed(space, matched_init=False) == 80


def test_the_old_quickstart_budget_warns_with_the_steps_it_needs():
    line, warning = budget_report(120, get_space("scarlet-cifar"))
    assert line == ("budget: 120 steps, 13 choices per layer (12 with weights) -> about 9 "
                    "updates per choice; supernet scores leave chance after about 240 steps "
                    "and approach one path's after about 960")
    assert "until about 240 steps (20 x 12, studies/supernet_law)" in warning
    line, warning = budget_report(240, get_space("scarlet-cifar"), matched_init=False)
    assert "until about 2880 steps (20 x 12^2, studies/supernet_law)" in warning
    assert "approach" not in line  # measured with matched initialization only


def test_a_depth_search_of_160_steps_is_enough():
    assert budget_report(160, get_space("scarlet-cifar", choices="e3k3,skip"))[1] is None


def test_a_fair_step_counts_as_one_uniform_step_per_path():
    space = get_space("scarlet-cifar", choices="e3k3,e6k5se")
    assert budget_report(40, space, paths_per_step=2, matched_init=False)[1] is None
    assert budget_report(40, space, matched_init=False)[1] is not None


def test_train_supernet_states_the_budget_and_warns_in_one_line(tmp_path):
    """Through the installed script, with --no-matched-init: the flag reaches the run's
    configuration and the warning quotes the rule without matched initialization."""
    out = tmp_path / "run"
    result = subprocess.run(
        ["scarlet-tf", "train-supernet", "--out", str(out), "--width", "0.25",
         "--epochs", "2", "--steps-per-epoch", "1", "--batch-size", "8", "--quiet",
         "--no-matched-init"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "budget: 2 steps, 13 choices per layer (12 with weights)" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "are too few" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: "), result.stderr
    assert "until about 2880 steps (20 x 12^2," in warnings[0]
    assert json.loads((out / "config.json").read_text())["supernet"]["matched_init"] is False
