"""SupernetRun: the one reader of a train-supernet run directory (space, dataset,
supernet, evaluator, recalibrated and folded subnet)."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY_CHOICES

from scarlet_tf import Architecture, ScarletError, get_space
from scarlet_tf.evaluation.evaluator import batch_norms
from scarlet_tf.evaluation.runs import SupernetRun


@pytest.fixture(scope="module")
def run(tiny_supernet_dir):
    return SupernetRun(tiny_supernet_dir)


def test_space_dataset_and_settings_come_from_config_without_loading(tiny_supernet_dir):
    run = SupernetRun(tiny_supernet_dir)
    assert run.space == get_space("scarlet-cifar", width=0.25, choices=TINY_CHOICES)
    assert run.dataset == "digits" and run.settings["stabilizer"] == "learnable"
    assert run.config["steps_per_epoch"] == 3
    assert "supernet" not in vars(run)  # weights are loaded on first use only


def test_supernet_holds_the_newest_checkpoint_and_loads_once(run, tiny_supernet_dir):
    supernet = run.supernet
    assert run.supernet is supernet and supernet.space == run.space
    state = json.loads((tiny_supernet_dir / "state.json").read_text())
    reader = tf.train.load_checkpoint(str(tiny_supernet_dir / "checkpoints" /
                                          state["checkpoint"]))
    variable = supernet.head.classifier.kernel
    key = variable.path.replace("/", ".").replace(".", "..")
    np.testing.assert_array_equal(
        np.array(variable), reader.get_tensor(f"weights/{key}/.ATTRIBUTES/VARIABLE_VALUE"))


def test_subnet_is_recalibrated_folded_and_leaves_the_supernet_alone(run):
    arch = run.space.sample(3)
    assert any(c.is_skip for c in arch.choices)
    stored = [np.array(bn.moving_mean) for bn in batch_norms(run.supernet)]
    model = run.subnet(arch, recal_batches=2)
    assert not [layer.name for layer in model.layers if "stabilizer" in layer.name]
    assert all(np.array_equal(np.array(bn.moving_mean), mean)
               for bn, mean in zip(batch_norms(run.supernet), stored))
    # The same path in the supernet, recalibrated the same way, gives the same logits.
    evaluator = run.evaluator(recal_batches=2, max_images=1)
    images = evaluator.recal[0][0][:8]
    path = evaluator.path(arch)
    evaluator.recalibrate(path)
    try:
        reference = run.supernet(images, tf.constant(path), training=False).numpy()
    finally:
        evaluator.restore()
    gap = np.abs(model(images, training=False).numpy() - reference).max()
    assert gap <= 1e-4 * max(1.0, np.abs(reference).max())


def test_evaluator_defaults_to_the_run_dataset(run):
    evaluator = run.evaluator(recal_batches=1, batch_size=16, max_images=16, split="test")
    assert evaluator.supernet is run.supernet
    score = evaluator.score(run.space.sample(0))
    assert 0 <= score["accuracy"] <= 1 and score["loss"] > 0


def test_arch_outside_the_space_fails_before_any_loading(tiny_supernet_dir):
    run = SupernetRun(tiny_supernet_dir)
    with pytest.raises(ScarletError, match="layer 1: 'e3k7' is not a choice of this space"):
        run.subnet(Architecture.parse("scarlet-a"))
    assert "supernet" not in vars(run)


def test_what_is_not_a_supernet_run_is_one_clear_error(tiny_supernet_dir, tmp_path):
    with pytest.raises(ScarletError, match="is not a supernet run directory \\(no config.json\\)"):
        SupernetRun(tmp_path)
    (tmp_path / "config.json").write_text('{"config": {"arch": "scarlet-a"}}')  # train-subnet
    with pytest.raises(ScarletError, match="not a supernet run's config.json"):
        SupernetRun(tmp_path)
    (tmp_path / "config.json").write_text('{"config": ')
    with pytest.raises(ScarletError, match="cannot read .*config.json"):
        SupernetRun(tmp_path)
    shutil.copy(tiny_supernet_dir / "config.json", tmp_path / "config.json")
    with pytest.raises(ScarletError, match="has no finished checkpoint yet"):
        _ = SupernetRun(tmp_path).supernet


def test_export_takes_the_run_and_its_space(run, tmp_path):
    """export-tflite --supernet exports the path in the run's space (32 px, 10 classes),
    with the command's default --space scarlet (224 px, 1000 classes)."""
    from click.testing import CliRunner
    from scarlet_tf.cli.main import cli

    arch, out = str(run.space.sample(1)), tmp_path / "path.tflite"
    result = CliRunner().invoke(cli, ["export-tflite", arch, "--supernet", str(run.directory),
                                      "--parity-images", "8", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "path.tflite.json").read_text())
    assert report["space"] == run.space.describe() and report["arch"] == arch
    assert report["parity"]["images"] == 8
