"""Stand-alone training: schedule, resume after a real kill, result files, refusals,
and starting from a supernet's weights."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from scarlet_tf.space.spaces import SKIPPABLE

ROOT = Path(__file__).resolve().parents[1]
# Six MBConvs (the first layer of each stage), every other layer skipped: fast to trace.
SHALLOW = ",".join("skip" if s else "e3k3" for s in SKIPPABLE)


def test_schedule_warms_up_then_decays():
    from scarlet_tf.training.configs import SubnetConfig
    from scarlet_tf.training.schedule import WarmupDecay, plan_steps

    cosine = WarmupDecay(0.1, total=20, warmup=4)
    expected = [0.1 * (step + 1) / 4 for step in range(4)] + [
        0.05 * (1 + np.cos(np.pi * (step - 4) / 16)) for step in range(4, 20)]
    assert np.allclose([float(cosine(step)) for step in range(20)], expected, atol=1e-6)
    assert float(cosine(12)) == pytest.approx(0.05)  # half-way through the decay
    steps = plan_steps(SubnetConfig(arch="scarlet-a", out="x", batch_size=64, epochs=3,
                                    warmup_epochs=1.0), train_examples=1000)
    assert (steps.per_epoch, steps.total, steps.warmup) == (15, 45, 15)
    capped = plan_steps(SubnetConfig(arch="scarlet-a", out="x", steps_per_epoch=2, epochs=3,
                                     warmup_epochs=5.0), train_examples=1000)
    assert (capped.per_epoch, capped.total, capped.warmup) == (2, 6, 3)
    exponential = WarmupDecay(0.1, total=20, warmup=4, decay="exponential", decay_steps=2.0)
    assert float(exponential(3)) == pytest.approx(0.1)
    assert float(exponential(8)) == pytest.approx(0.1 * 0.97 ** 2)


def cli(*args):
    return [sys.executable, "-m", "scarlet_tf.cli.main", "train-subnet", SHALLOW, *args]


def test_resume_after_kill_result_and_refused_change(tmp_path):
    out = tmp_path / "run"
    args = ["--out", str(out), "--width", "0.25", "--epochs", "3", "--steps-per-epoch", "2",
            "--batch-size", "16", "--quiet"]
    process = subprocess.Popen(cli(*args), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    finished = out / "history.json"  # written after the epoch's backup
    deadline = time.time() + 400
    while time.time() < deadline and process.poll() is None and not finished.is_file():
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed = json.loads((out / "history.json").read_text())
    assert 1 <= len(killed) < 3 and not (out / "result.json").exists()

    resumed = subprocess.run(cli(*args), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[:len(killed)] == killed  # finished epochs were not trained again
    result = json.loads((out / "result.json").read_text())
    assert result["arch"] == SHALLOW and result["madds"] > 0 and result["params"] > 0
    assert 0 <= result["search_accuracy"] <= 1 and 0 <= result["test_accuracy"] <= 1
    assert not (out / "backup").exists()

    import keras

    from scarlet_tf.training.schedule import WarmupDecay  # the saved optimizer's schedule

    model = keras.saving.load_model(out / "model.keras",
                                    custom_objects={"WarmupDecay": WarmupDecay})
    assert int(model.optimizer.iterations) == 6  # 3 epochs x 2 steps, across the kill

    changed = subprocess.run(cli(*args, "--lr", "0.2"), cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    assert changed.returncode == 2 and "was made with other settings (lr: " in changed.stderr


def test_init_from_supernet_starts_from_its_weights(tiny_supernet_dir, tmp_path):
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.standalone.training import SubnetRun
    from scarlet_tf.training.configs import SubnetConfig

    arch = SHALLOW.replace("e3k3", "e3k3se")
    run = SubnetRun(SubnetConfig(arch=arch, out=str(tmp_path), width=1.0,
                                 init_from_supernet=str(tiny_supernet_dir)))
    supernet = SupernetRun(tiny_supernet_dir).supernet
    assert run.space == supernet.space  # width 0.25 and choices from the supernet
    model = run.build()
    inherited = model.get_layer("classifier").get_weights()
    for ours, theirs in zip(inherited, supernet.head.classifier.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
