"""Matched initialization: at the start every path of the supernet computes the same
function (zero-init residual plus matched non-residual choices), and without it they do
not; choices that cannot hold the reference keep their own weights."""

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from scarlet_tf import ScarletError
from scarlet_tf.network.blocks import MBConv
from scarlet_tf.network.matched_init import match_choices
from scarlet_tf.network.supernet import Supernet
from scarlet_tf.space.spaces import get_space
from scarlet_tf.training.configs import SupernetConfig
from scarlet_tf.training.supernet import train_supernet


def logits_of_paths(supernet, paths):
    """Training-mode logits (batch statistics) of each path on the same 4 images."""
    images = tf.random.stateless_uniform((4, 32, 32, 3), (1, 2), -1.0, 1.0)
    run = tf.function(lambda path: supernet(images, path, training=True))  # one trace
    return [np.array(run(tf.constant(p, tf.int32))) for p in paths]


def test_every_path_of_the_full_space_starts_as_the_same_function():
    """All paths agree at initialization (not without matched init), and the stage-first
    choices agree again after their references move and match_firsts copies them."""
    space = get_space("scarlet-cifar", width=0.25)
    rng = np.random.default_rng(0)
    paths = [rng.integers(space.num_choices) for _ in range(3)]
    supernet = Supernet(space)
    matched = logits_of_paths(supernet, paths)
    for other in matched[1:]:
        np.testing.assert_allclose(other, matched[0], rtol=1e-4, atol=1e-4)
    unmatched = logits_of_paths(Supernet(space, matched_init=False), paths)
    assert max(np.abs(u - unmatched[0]).max() for u in unmatched[1:]) > 1e-2
    assert_references_rematch(supernet)  # and again after training moved the references


def test_choices_that_cannot_hold_the_reference_keep_their_weights():
    """e6k3 (kernel 3) is the reference; e3k5 has fewer channels, so it is left alone;
    e6k5se holds it (centred kernel, doubled projection, silent excite)."""
    space = get_space("scarlet-cifar", width=0.5, choices="e3k5,e6k3,e6k5se")
    first = Supernet(space, matched_init=False).blocks[0].options
    before = [np.array(o.expand.kernel) for o in first]
    assert match_choices(first) == 2
    e3k5, e6k3, e6k5se = first
    np.testing.assert_array_equal(np.array(e3k5.expand.kernel), before[0])
    np.testing.assert_array_equal(np.array(e6k5se.expand.kernel), np.array(e6k3.expand.kernel))
    dw = np.array(e6k5se.depthwise.kernel)
    np.testing.assert_array_equal(dw[1:4, 1:4], np.array(e6k3.depthwise.kernel))
    assert not dw[0].any() and not dw[:, 4].any()
    np.testing.assert_allclose(np.array(e6k5se.project.kernel),
                               2 * np.array(e6k3.project.kernel))
    assert not np.array(e6k5se.se.expand.kernel).any()
    assert all(isinstance(o, MBConv) for o in first)


def perturb_references(supernet, seed: int = 0) -> None:
    """Move every stage-first reference choice's weights and statistics, as training does."""
    rng = np.random.default_rng(seed)
    for layer, choice in supernet.first_references().items():
        ref = supernet.blocks[layer].options[choice]
        for v in ref.weights:
            value = np.array(v)
            v.assign(value + rng.normal(0, 0.3, value.shape).astype("float32")
                     * (np.abs(value).mean() + 0.1))
        for bn in (ref.expand_bn, ref.depthwise_bn, ref.project_bn):
            bn.moving_variance.assign(np.abs(np.array(bn.moving_variance)) + 0.5)


def first_layer_variants(space, references, count):
    """``count`` paths that differ only in their stage-first choices (the first holds
    every layer's reference)."""
    rng = np.random.default_rng(1)
    paths = [np.zeros(len(space.layers), np.int32)]
    for layer, choice in references.items():
        paths[0][layer] = choice
    for _ in range(count - 1):
        path = paths[0].copy()
        for layer in references:
            path[layer] = rng.integers(space.num_choices[layer])
        paths.append(path)
    return paths


def assert_references_rematch(supernet):
    """After the references move (trained), match_firsts makes every stage-first choice
    compute its reference's function again, with BatchNorm statistics (inference) and
    batch statistics (training)."""
    space = supernet.space
    perturb_references(supernet)
    paths = first_layer_variants(space, supernet.first_references(), 4)
    images = tf.random.stateless_uniform((4, 32, 32, 3), (1, 2), -1.0, 1.0)
    run = tf.function(lambda path, training: supernet(images, path, training=training))
    logits = lambda training: [np.array(run(tf.constant(p), training)) for p in paths]  # noqa: E731
    moved = logits(False)
    assert max(np.abs(m - moved[0]).max() for m in moved[1:]) > 1e-2
    supernet.match_firsts()
    for training in (False, True):  # inference first: training mode moves the statistics
        after = logits(training)
        for other in after[1:]:
            np.testing.assert_allclose(other, after[0], rtol=1e-4, atol=1e-5)


def test_a_reference_with_squeeze_excite_passes_on_its_gates():
    assert_references_rematch(Supernet(get_space("scarlet-cifar", width=0.25,
                                                 choices="e3k3se,e6k5se,e6k7se")))


def test_stage_first_warmup_trains_the_reference_then_opens_copies(tmp_path):
    """With matched_init off, the first 3 of 4 steps train only each stage-first layer's
    reference (e3k3); at step 3 e6k3 becomes its copy: both halves of its expanded
    channels equal e3k3's (and stay equal, getting equal gradients)."""
    config = SupernetConfig(out=str(tmp_path), width=0.25, choices="e3k3,e6k3", epochs=1,
                            steps_per_epoch=4, batch_size=8, matched_init=False,
                            firsts_warmup=0.75)
    supernet, _ = train_supernet(config, verbose=False)
    counts = json.loads((tmp_path / "choice_counts.json").read_text())
    for layer in supernet.first_references():
        assert counts[layer]["e3k3"] >= 3, counts[layer]
        e3k3, e6k3 = (np.array(o.expand.kernel) for o in supernet.blocks[layer].options)
        half = e3k3.shape[-1]
        np.testing.assert_array_equal(e6k3[..., :half], e6k3[..., half:])


def test_a_run_from_before_matched_init_resumes_without_it(tmp_path):
    """A run directory whose config predates matched_init and the stage-first warm-up
    resumes as matched_init=False, firsts_warmup=0; the defaults are refused with one
    line naming the settings."""
    config = SupernetConfig(out=str(tmp_path), width=0.25, choices="e3k3,skip", epochs=1,
                            steps_per_epoch=1, batch_size=8, matched_init=False,
                            firsts_warmup=0.0)
    train_supernet(config, verbose=False)
    stored = json.loads((tmp_path / "config.json").read_text())
    del stored["config"]["matched_init"], stored["config"]["firsts_warmup"]
    (tmp_path / "config.json").write_text(json.dumps(stored))
    with pytest.raises(ScarletError,
                       match=r"\(firsts_warmup: 0.0 -> 0.5; matched_init: False -> True\)"):
        train_supernet(dataclasses.replace(config, matched_init=True, firsts_warmup=0.5),
                       verbose=False)
    _, history = train_supernet(config, verbose=False)  # finished: nothing left to train
    assert [h["epoch"] for h in history] == [1]
