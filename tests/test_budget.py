"""The supernet budget line and its warning (light: no training, except one CLI run)."""

import subprocess

from scarlet_tf.budget import MIN_UPDATES_PER_CHOICE, budget_report, updates_per_choice
from scarlet_tf.space import get_space


def test_uniform_sampling_splits_the_steps_among_the_widest_layers_choices():
    assert updates_per_choice(1300, [13, 12, 13]) == 100
    assert updates_per_choice(1300, [1, 2]) == 650


def test_the_fair_sampler_trains_every_choice_once_per_step():
    assert updates_per_choice(40, [13, 13], paths_per_step=13) == 40


def test_a_thin_budget_warns_with_the_steps_it_needs():
    line, warning = budget_report(120, get_space("scarlet-cifar").num_choices)
    assert "120 steps, 13 choices per layer -> about 9 updates per choice" in line
    assert f"at least {13 * MIN_UPDATES_PER_CHOICE} steps" in warning


def test_enough_updates_per_choice_do_not_warn():
    line, warning = budget_report(2 * MIN_UPDATES_PER_CHOICE, [2] * 19)
    assert warning is None and f"about {MIN_UPDATES_PER_CHOICE} updates" in line


def test_train_supernet_states_the_budget_and_warns_in_one_line(tmp_path):
    result = subprocess.run(
        ["scarlet-tf", "train-supernet", "--out", str(tmp_path / "run"), "--width", "0.25",
         "--epochs", "2", "--steps-per-epoch", "1", "--batch-size", "8", "--quiet"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "budget: 2 steps, 13 choices per layer -> about 0 updates per choice" in result.stdout
    warnings = [line for line in result.stderr.splitlines()
                if "updates per choice is below" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: "), result.stderr
