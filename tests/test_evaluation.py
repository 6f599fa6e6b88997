"""Evaluator (exact BN recalibration, order-independent scores, flat memory, one trace)
and subnet extraction with exactly folded stabilizers."""

import warnings

import numpy as np
import pytest

from scarlet_tf import Architecture, get_space

SPACE = dict(width=0.25, choices="e3k3se,e6k5,skip")
# Consecutive skips, skips before residual blocks, skip runs ending at a stage boundary.
ARCHS = [
    "e3k3se,skip,e6k5,skip,skip,skip,e3k3se,skip,e6k5,skip,"
    "e3k3se,skip,skip,e6k5,e6k5,skip,skip,skip,e3k3se",
    "e6k5,skip,e3k3se,skip,e6k5,e6k5,e3k3se,e6k5,skip,e3k3se,"
    "e6k5,e6k5,skip,e3k3se,e6k5,skip,e6k5,skip,e3k3se",
]


@pytest.fixture(scope="module")
def supernet():
    """Random weights, random BN statistics, stabilizers = identity + noise."""
    import keras

    from scarlet_tf.evaluation.evaluator import batch_norms
    from scarlet_tf.network.supernet import Supernet

    keras.utils.set_random_seed(1)
    net = Supernet(get_space("scarlet-cifar", **SPACE), matched_init=False)
    rng = np.random.default_rng(0)
    for bn in batch_norms(net):
        n = bn.moving_mean.shape[0]
        bn.moving_mean.assign(rng.normal(size=n) * 0.3)
        bn.moving_variance.assign(rng.uniform(0.5, 2.0, size=n))
        bn.gamma.assign(rng.uniform(0.5, 1.5, size=n))
        bn.beta.assign(rng.normal(size=n) * 0.2)
    for block in net.blocks:
        if block.spec.can_skip:
            kernel = block.options[-1].kernel
            c = kernel.shape[-1]
            kernel.assign((np.eye(c) + rng.normal(size=(c, c)) * 0.05)[None, None])
    return net


@pytest.fixture(scope="module")
def evaluator(supernet):
    from scarlet_tf.evaluation.evaluator import Evaluator

    return Evaluator(supernet, recal_batches=2, batch_size=32, max_images=64)


def logits_gap(supernet, model, arch, images):
    import tensorflow as tf

    path = tf.constant(supernet.space.encode(arch), tf.int32)
    reference = supernet(images, path, training=False).numpy()
    return np.abs(model(images, training=False).numpy() - reference).max() / \
        np.abs(reference).max()


@pytest.mark.parametrize("text", ARCHS)
def test_folded_subnet_matches_supernet_path(supernet, text):
    from scarlet_tf.evaluation.folding import extract_subnet
    from scarlet_tf.network.models import build_model

    arch = Architecture.parse(text)
    images = np.random.default_rng(2).normal(size=(4, 32, 32, 3)).astype("float32")
    folded = extract_subnet(supernet, arch, fold_stabilizers=True)
    plain = build_model(arch, supernet.space)
    assert [layer.name for layer in folded.layers] == [layer.name for layer in plain.layers]
    assert not any("stabilizer" in layer.name for layer in folded.layers)
    assert logits_gap(supernet, folded, arch, images) <= 1e-4
    kept = extract_subnet(supernet, arch, fold_stabilizers=False)
    assert sum("stabilizer" in layer.name for layer in kept.layers) == text.count("skip")
    assert logits_gap(supernet, kept, arch, images) <= 1e-5


def test_ill_conditioned_stabilizer_is_kept_with_a_warning(supernet):
    from scarlet_tf.evaluation.folding import extract_subnet

    kernel = supernet.blocks[7].options[-1].kernel  # layer 8's stabilizer
    saved = kernel.numpy()
    singular = saved.copy()
    singular[0, 0, :, 0] = singular[0, 0, :, 1] * (1 + 1e-9)
    kernel.assign(singular)
    try:
        arch = Architecture.parse(ARCHS[0])  # layer 8 skips, residual layer 9 needs M^-1
        with pytest.warns(UserWarning, match="before layer 9 are too ill-conditioned"):
            model = extract_subnet(supernet, arch, fold_stabilizers=True)
        assert any("stabilizer" in layer.name for layer in model.layers)
        images = np.random.default_rng(3).normal(size=(2, 32, 32, 3)).astype("float32")
        assert logits_gap(supernet, model, arch, images) <= 1e-5
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # layer 8 does not skip here: nothing to invert
            extract_subnet(supernet, Architecture.parse(ARCHS[1]), fold_stabilizers=True)
    finally:
        kernel.assign(saved)


def test_scores_do_not_depend_on_order_and_restore_statistics(supernet, evaluator):
    from scarlet_tf.evaluation.evaluator import batch_norms

    stored = [np.array(bn.moving_mean) for bn in batch_norms(supernet)]
    a, b = (Architecture.parse(t) for t in ARCHS)
    first, other, again = evaluator.score(a), evaluator.score(b), evaluator.score(a)
    assert first == again and first != other
    assert 0.0 <= first["accuracy"] <= 1.0 and first["loss"] > 0
    assert all(np.array_equal(s, np.array(bn.moving_mean))
               for s, bn in zip(stored, batch_norms(supernet)))



def test_restore_keeps_statistics_that_changed_after_construction(supernet, evaluator):
    """Training between scores (e.g. in an epoch-end callback) moves the statistics; a
    score must restore those, not the ones the Evaluator saw when it was built."""
    from scarlet_tf.evaluation.evaluator import batch_norms

    norms = batch_norms(supernet)
    before = [np.array(bn.moving_mean) for bn in norms]
    try:
        for bn in norms:
            bn.moving_mean.assign(bn.moving_mean + 0.5)
        moved = [np.array(bn.moving_mean) for bn in norms]
        evaluator.score(Architecture.parse(ARCHS[0]))
        assert all(np.array_equal(m, np.array(bn.moving_mean)) for m, bn in zip(moved, norms))
    finally:
        for value, bn in zip(before, norms):
            bn.moving_mean.assign(value)

def test_recalibration_is_the_exact_average_of_batch_statistics(supernet, evaluator):
    import tensorflow as tf

    arch = Architecture.parse(ARCHS[0])
    path = tf.constant(supernet.space.encode(arch), tf.int32)
    conv = supernet.stem.conv
    means = [np.mean(conv(images).numpy(), axis=(0, 1, 2)) for images, _ in evaluator.recal]
    variances = [np.var(conv(images).numpy(), axis=(0, 1, 2)) for images, _ in evaluator.recal]
    evaluator.recalibrate(path)
    try:
        bn = supernet.stem.bn
        np.testing.assert_allclose(bn.moving_mean.numpy(), np.mean(means, 0), rtol=1e-4,
                                   atol=1e-5)
        np.testing.assert_allclose(bn.moving_variance.numpy(), np.mean(variances, 0),
                                   rtol=1e-3, atol=1e-5)
    finally:
        evaluator.restore()


def test_one_trace_and_flat_memory_over_many_candidates(supernet):
    from scarlet_tf.evaluation.evaluator import Evaluator

    evaluator = Evaluator(supernet, recal_batches=1, batch_size=16, max_images=16)
    space = supernet.space

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    for seed in range(20):
        evaluator.score(space.sample(seed))
    after_20 = rss_mb()
    for seed in range(20, 80):
        evaluator.score(space.sample(seed))
    assert rss_mb() - after_20 < 30
    assert evaluator._recal_step.experimental_get_tracing_count() == 1
    assert evaluator._score_step.experimental_get_tracing_count() == 1


def test_max_images_of_a_class_ordered_folder_scores_every_class(supernet,
                                                                  class_ordered_folder):
    from scarlet_tf.evaluation.evaluator import Evaluator, describe_scored

    evaluator = Evaluator(supernet, class_ordered_folder, recal_batches=1, batch_size=16,
                          max_images=50)
    labels = np.concatenate([y.numpy() for _, y in evaluator.eval])
    assert len(labels) == 50 and set(labels) == set(range(10))
    assert evaluator.scored == {"split": "search", "images": 50,
                                "per_class": {f"d{i}": 5 for i in range(10)}}
    assert describe_scored(evaluator.scored) == "50 search images, 10 of 10 classes, 5 each"
    outcomes, score = evaluator.outcomes(ARCHS[0]), evaluator.score(ARCHS[0])
    assert outcomes["correct"].shape == outcomes["loss"].shape == (50,)
    assert set(outcomes["correct"]) <= {0.0, 1.0} and np.all(outcomes["loss"] > 0)
    assert score["accuracy"] == pytest.approx(outcomes["correct"].mean(), abs=1e-6)
    assert score["loss"] == pytest.approx(outcomes["loss"].mean(), rel=1e-5)


def test_eval_command_json(tiny_supernet_dir, class_ordered_folder):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from conftest import TINY_CHOICES

    space = get_space("scarlet-cifar", width=0.25, choices=TINY_CHOICES)
    arch = space.sample(0)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("scarlet-tf")), "eval", str(arch), "--supernet",
         str(tiny_supernet_dir), "--recal-batches", "2", "--json",
         "--dataset", str(class_ordered_folder)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(result.stdout)
    assert record["arch"] == str(arch) and 0 <= record["accuracy"] <= 1
    assert record["madds"] > 0 and record["loss"] > 0
    assert record["scored"] == {"split": "search", "images": 110,
                                "per_class": {f"d{i}": 11 for i in range(10)}}
    bad = subprocess.run([sys.executable, "-m", "scarlet_tf.cli.main", "eval", "scarlet-a",
                          "--supernet", str(tiny_supernet_dir)],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "is not a choice of this space" in bad.stderr
