"""The supernet budget line and its warning (light: no training, except one CLI run)."""

import subprocess

from scarlet_tf.space.spaces import get_space
from scarlet_tf.training.budget import budget_report, steps_needed, weighted_choices


def test_skip_has_no_weights_so_it_does_not_count():
    assert weighted_choices(get_space("scarlet-cifar")) == 12
    assert weighted_choices(get_space("scarlet-cifar", choices="e3k3,skip")) == 1
    assert steps_needed(get_space("scarlet-cifar", choices="e3k3,e6k5se,skip")) == 400


def test_the_old_quickstart_budget_warns_with_the_steps_it_needs():
    line, warning = budget_report(120, get_space("scarlet-cifar"))
    assert line.startswith("budget: 120 steps, 13 choices per layer (12 with weights) -> about "
                           "9 updates per choice")
    assert "until about 14400 steps" in warning


def test_a_depth_search_of_200_steps_is_enough():
    assert budget_report(200, get_space("scarlet-cifar", choices="e3k3,skip"))[1] is None


def test_a_fair_step_counts_as_one_uniform_step_per_path():
    space = get_space("scarlet-cifar", choices="e3k3,e6k5se")
    assert budget_report(200, space, paths_per_step=2)[1] is None
    assert budget_report(200, space)[1] is not None


def test_train_supernet_states_the_budget_and_warns_in_one_line(tmp_path):
    result = subprocess.run(
        ["scarlet-tf", "train-supernet", "--out", str(tmp_path / "run"), "--width", "0.25",
         "--epochs", "2", "--steps-per-epoch", "1", "--batch-size", "8", "--quiet"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "budget: 2 steps, 13 choices per layer (12 with weights)" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "are too few" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: "), result.stderr
