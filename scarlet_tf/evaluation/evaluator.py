"""Scoring architectures on the supernet: BatchNorm recalibration, accuracy, ranking.

``Evaluator(supernet).score(arch)`` recalibrates the BatchNorm statistics of that path
(reset, then the exact average of per-batch statistics over ``recal_batches`` training
batches), scores top-1 accuracy and loss on the ``search`` split in inference mode, and
restores the supernet's stored statistics, so scores never depend on evaluation order.
Both traced functions take the path as a tensor: one trace serves every architecture.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from scarlet_tf import data
from scarlet_tf.names import DEFAULT_RECAL_BATCHES
from scarlet_tf.network.models import nested_layers
from scarlet_tf.space.spaces import resolve_arch


def batch_norms(model) -> list[layers.BatchNormalization]:
    """Every BatchNormalization layer inside ``model`` (nested layers included)."""
    return [layer for layer in nested_layers(model) if isinstance(layer, layers.BatchNormalization)]


class Evaluator:
    """Scores architectures with weights inherited from ``supernet``.

    ``scored`` says what every score is computed on (:func:`scored_images`): the split, its
    image count and the count per class, for reports to record.

    Args:
      supernet: a :class:`scarlet_tf.network.supernet.Supernet`.
      dataset: dataset spec (see :func:`scarlet_tf.data.load`).
      split: ``"search"`` (held out from train) or ``"test"``.
      recal_batches: training batches whose statistics are averaged (no augmentation).
      batch_size: images per batch for recalibration and scoring.
      max_images: score on at most this many images of the split (None: all).
    """

    def __init__(self, supernet, dataset="digits", *, split="search",
                 recal_batches=DEFAULT_RECAL_BATCHES, batch_size=64, max_images=None):
        self.supernet = supernet
        self.space = supernet.space
        size = self.space.input_size
        self.recal, _ = _cached_batches(dataset, "train", batch_size, size, recal_batches)
        limit = None if max_images is None else -(-max_images // batch_size)
        self.eval, info = _cached_batches(dataset, split, batch_size, size, limit, max_images)
        self.scored = scored_images(self.eval, split, info.class_names)
        self.norms = batch_norms(supernet)
        # id -> (BN layer, its moving mean, its moving variance) as they were before
        # recalibrate() changed them, until restore(): snapshots taken when a path is
        # recalibrated, so the supernet may train between scores.
        self.saved = {}
        self.momentum = tf.Variable(0.0, trainable=False)
        images = tf.TensorSpec([None, size, size, 3], tf.float32)
        path = tf.TensorSpec([len(self.space.layers)], tf.int32)
        self._recal_step = tf.function(self._recal_step_fn, input_signature=[images, path])
        self._score_step = tf.function(self._score_step_fn, input_signature=[
            images, tf.TensorSpec([None], tf.int32), path])
        # Traced with each BN's momentum bound to ``self.momentum``: batch i of the
        # recalibration uses momentum i / (i + 1), which makes the moving statistics the
        # exact average of the per-batch statistics (batch 0 resets them).
        with _momentum(self.norms, self.momentum):
            self._recal_step.get_concrete_function()

    def _recal_step_fn(self, images, path):
        self.supernet(images, path, training=True)

    def _score_step_fn(self, images, labels, path):
        logits = self.supernet(images, path, training=False)
        loss = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        correct = tf.cast(tf.argmax(logits, -1, output_type=tf.int32) == labels, tf.float32)
        return loss, correct

    def recalibrate(self, path) -> None:
        """Set the BN statistics of ``path`` (ints ``[num_layers]``) to their average over
        the recalibration batches.

        Only the path's layers run, so only their statistics change (until :meth:`restore`,
        which puts back the values they had here).
        """
        path = tf.constant(path, tf.int32)
        for bn in self._path_norms(path):
            if id(bn) not in self.saved:
                self.saved[id(bn)] = (bn, bn.moving_mean.numpy(), bn.moving_variance.numpy())
        for i, (images, _) in enumerate(self.recal):
            self.momentum.assign(i / (i + 1))
            self._recal_step(images, path)

    def restore(self) -> None:
        """Put back the BN statistics of the layers recalibrated since the last restore,
        as they were before (eagerly: a traced copy of every BN's statistics is slow to
        trace)."""
        for bn, mean, variance in self.saved.values():
            bn.moving_mean.assign(mean)
            bn.moving_variance.assign(variance)
        self.saved = {}

    def _path_norms(self, path) -> list[layers.BatchNormalization]:
        """The BN layers ``path`` (int32 [num_layers]) runs: stem, its choices, head."""
        supernet = self.supernet
        chosen = [block.options[i] for block, i in zip(supernet.blocks, np.asarray(path))]
        return [bn for layer in [supernet.stem, *chosen, supernet.head]
                for bn in batch_norms(layer)]

    def path(self, arch) -> tuple[int, ...]:
        """The path of ``arch`` (Architecture, name or string): one choice index per layer."""
        return self.space.encode(resolve_arch(arch, self.space))

    def score(self, arch) -> dict:
        """``{"accuracy": top-1 in [0, 1], "loss": mean cross-entropy}`` of ``arch``."""
        return self.score_path(self.path(arch))

    def score_path(self, path) -> dict:
        """:meth:`score` of an already parsed path (ints ``[num_layers]``,
        :meth:`SearchSpace.encode`): the search's scorer."""
        outcomes = self.path_outcomes(path)
        return {"accuracy": float(outcomes["correct"].mean()),
                "loss": float(outcomes["loss"].mean())}

    def outcomes(self, arch) -> dict[str, np.ndarray]:
        """Per scored image, in the split's order: ``"correct"`` (float32 [N], 1 or 0) and
        ``"loss"`` (float32 [N], cross-entropy) of ``arch``, BN recalibrated. Scores of
        parts of the images (halves, prefixes) come from one pass."""
        return self.path_outcomes(self.path(arch))

    def path_outcomes(self, path) -> dict[str, np.ndarray]:
        """:meth:`outcomes` of a path (ints ``[num_layers]``)."""
        path = tf.constant(path, tf.int32)
        self.recalibrate(path)
        try:
            steps = [self._score_step(images, labels, path) for images, labels in self.eval]
        finally:
            self.restore()
        return {"loss": np.concatenate([loss.numpy() for loss, _ in steps]),
                "correct": np.concatenate([correct.numpy() for _, correct in steps])}


def recalibrate_batch_norms(model, batches) -> None:
    """Set every BN layer's moving statistics of a plain ``model`` to the exact average
    of its per-batch statistics over ``batches`` (images [B, S, S, 3] tensors)."""
    norms = batch_norms(model)
    momentum = tf.Variable(0.0, trainable=False)
    with _momentum(norms, momentum):
        step = tf.function(lambda images: model(images, training=True))
        for i, images in enumerate(batches):
            momentum.assign(i / (i + 1))
            step(images)


class _momentum:
    """Temporarily set every BN layer's momentum (read when a function is traced)."""


    def __init__(self, norms, value):
        self.norms, self.value = norms, value

    def __enter__(self):
        self.saved = [bn.momentum for bn in self.norms]
        for bn in self.norms:
            bn.momentum = self.value

    def __exit__(self, *exc):
        for bn, momentum in zip(self.norms, self.saved):
            bn.momentum = momentum


def scored_images(batches, split, class_names) -> dict:
    """``{"split", "images", "per_class": {class name: count}}`` of ``(images, labels)``
    batches: what a score was computed on, so a skewed sample shows at a glance."""
    labels = np.concatenate([y.numpy() for _, y in batches]) if batches else np.zeros(0, int)
    counts = np.bincount(labels, minlength=len(class_names))
    return {"split": split, "images": int(counts.sum()),
            "per_class": {name: int(n) for name, n in zip(class_names, counts)}}


def describe_scored(scored: dict) -> str:
    """One line on :func:`scored_images`: '512 search images, 10 classes, 50-53 each'."""
    counts = [n for n in scored["per_class"].values() if n]
    spread = f"{min(counts)}-{max(counts)}" if min(counts) < max(counts) else f"{counts[0]}"
    return (f"{scored['images']} {scored['split']} images, {len(counts)} of "
            f"{len(scored['per_class'])} classes, {spread} each") if counts else "no images"


def _cached_batches(dataset, split, batch_size, size, limit, max_images=None):
    """The first ``limit`` batches of a split (no augmentation, its stored order; see
    :mod:`scarlet_tf.data`) as tensors, and the dataset's info."""
    ds, info = data.load(dataset, split, batch_size=batch_size, image_size=size, augment=False,
                      shuffle=split == "train", seed=0, drop_remainder=split == "train")
    batches = [(tf.constant(x), tf.constant(y)) for x, y in ds.take(limit or -1)]
    if max_images is not None and batches:
        keep = max_images - sum(int(y.shape[0]) for _, y in batches[:-1])
        batches[-1] = (batches[-1][0][:keep], batches[-1][1][:keep])
    return batches, info
