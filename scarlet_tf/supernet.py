"""The stabilized weight-sharing supernet (plain Keras 3).

Each searchable layer is a :class:`ChoiceBlock` holding all of its choices, each MBConv
choice with its own weights and BatchNorm. The path is an integer tensor ``[19]`` and
each block switches on it (``keras.ops.switch``), so one traced graph serves every path
and unselected choices are not computed.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
from keras import layers

from scarlet_tf.blocks import STABILIZER_INITS, Head, MBConv, Stem, stabilizer
from scarlet_tf.errors import ScarletError
from scarlet_tf.models import block_name
from scarlet_tf.space import LayerSpec, SearchSpace, get_space

STABILIZERS = ("learnable", "none")


class ReplicaLocalBatchNorm(layers.BatchNormalization):
    """BatchNorm whose moving statistics are replica-local (``on_read``, ``mean``).

    Each replica updates its own copy inside a choice branch with no cross-replica
    synchronization (which TensorFlow forbids inside control flow); reading them across
    replicas (checkpoints, evaluation) gives the mean over replicas. The evaluator
    recalibrates every path's statistics anyway. Weight names match plain BatchNorm.
    """

    def add_weight(self, *args, name=None, **kwargs):
        if name not in ("moving_mean", "moving_variance"):
            return super().add_weight(*args, name=name, **kwargs)
        with keras.name_scope(self.name, caller=self):
            variable = keras.Variable(initializer=kwargs["initializer"], shape=kwargs["shape"],
                                      dtype=self.variable_dtype, trainable=False,
                                      autocast=False, name=name, synchronization="on_read",
                                      aggregation="mean")
        self._track_variable(variable)
        return variable


def skip_option(layer: LayerSpec, mode: str, init: str) -> layers.Layer:
    """The skip choice: a learnable stabilizer, or a plain identity with ``mode="none"``."""
    if mode == "learnable":
        return stabilizer(layer.out_channels, f"{layer.name}_skip_stabilizer", init)
    return layers.Identity(name=f"{layer.name}_skip")


class ChoiceBlock(layers.Layer):
    """All choices of one searchable layer; ``call(x, index)`` runs choice ``index`` only.

    ``x``: [B, H, W, Cin] -> [B, H/s, W/s, Cout]. ``index`` is a scalar int tensor into
    ``layer.choices`` (the layer's candidates in path order). The skip choice is a learnable stabilizer (1x1 conv, no bias/BN/activation)
    or, with ``stabilizer="none"``, a plain identity.
    """

    def __init__(self, layer: LayerSpec, stabilizer_mode: str = "learnable",
                 stabilizer_init: str = "identity", **kwargs):
        super().__init__(name=layer.name, **kwargs)
        self.spec = layer
        self.options = [MBConv(layer, c, block_name(layer, c), ReplicaLocalBatchNorm)
                        if not c.is_skip
                        else skip_option(layer, stabilizer_mode, stabilizer_init)
                        for c in layer.choices]

    def build_all(self, x):
        """Create every choice's weights with one eager call each; returns choice 0's output."""
        outputs = [option(x, training=False) for option in self.options]
        self.built = True
        return outputs[0]

    def call(self, x, index, training=None):
        branches = [lambda y, o=option: o(y, training=training) for option in self.options]
        return keras.ops.switch(index, branches, x)

    def choice_weights(self, index: int) -> list:
        """Trainable variables of choice ``index``."""
        return self.options[index].trainable_weights


def supernet_settings(space: SearchSpace, stabilizer: str = "learnable",
                      stabilizer_init: str = "identity", dropout: float = 0.0) -> dict:
    """What rebuilds a supernet (stored in a run's ``config.json``)."""
    return {"space": space.describe(), "stabilizer": stabilizer,
            "stabilizer_init": stabilizer_init, "dropout": dropout}


class Supernet(keras.Model):
    """Weight-sharing supernet of a search space: ``call(images, path)`` -> logits.

    images: float [B, S, S, 3] in [-1, 1]; path: int32 [num_layers]; logits [B, classes].
    ``stabilizer``: ``"learnable"`` (default) or ``"none"``; ``stabilizer_init``: one of
    :data:`scarlet_tf.blocks.STABILIZER_INITS`.
    """

    def __init__(self, space: SearchSpace, stabilizer: str = "learnable",
                 stabilizer_init: str = "identity", dropout: float = 0.0, **kwargs):
        if stabilizer not in STABILIZERS:
            raise ScarletError(f"unknown stabilizer {stabilizer!r}; allowed: "
                               f"{', '.join(STABILIZERS)}")
        if stabilizer_init not in STABILIZER_INITS:
            raise ScarletError(f"unknown stabilizer init {stabilizer_init!r}; allowed: "
                               f"{', '.join(STABILIZER_INITS)}")
        super().__init__(name=kwargs.pop("name", "supernet"), **kwargs)
        self.space = space
        self.settings = supernet_settings(space, stabilizer, stabilizer_init, dropout)
        self.stem = Stem(space, bn_class=ReplicaLocalBatchNorm)
        self.blocks = [ChoiceBlock(layer, stabilizer, stabilizer_init) for layer in space.layers]
        self.head = Head(space, dropout, bn_class=ReplicaLocalBatchNorm)
        self._build_all()

    def _build_all(self):
        x = np.zeros((1, self.space.input_size, self.space.input_size, 3), "float32")
        x = self.stem(x, training=False)
        for block in self.blocks:
            x = block.build_all(x)
        self.head(x, training=False)
        self.built = True

    def call(self, images, path, training=None):
        x = self.stem(images, training=training)
        for i, block in enumerate(self.blocks):
            x = block(x, path[i], training=training)
        return self.head(x, training=training)

    def get_config(self) -> dict:
        return dict(self.settings)

    @classmethod
    def from_settings(cls, settings: dict) -> "Supernet":
        """Rebuild from :attr:`settings` (as stored in a run's ``config.json``)."""
        space = get_space(**settings["space"])
        return cls(space, settings["stabilizer"], settings["stabilizer_init"],
                   settings.get("dropout", 0.0))

    @classmethod
    def load(cls, directory) -> "Supernet":
        """Load the latest checkpoint of a ``train-supernet`` output directory."""
        from scarlet_tf.checkpoints import restore_supernet

        return restore_supernet(Path(directory))

    def variable_groups(self) -> tuple[list, list[list[list]]]:
        """Trainable variables split as (shared, per_layer[layer][choice index])."""
        shared = self.stem.trainable_weights + self.head.trainable_weights
        per_layer = [[o.trainable_weights for o in b.options] for b in self.blocks]
        return shared, per_layer


def read_settings(directory) -> dict:
    """The supernet settings stored in ``directory/config.json``."""
    path = Path(directory) / "config.json"
    if not path.is_file():
        raise ScarletError(f"{directory} is not a supernet directory (no config.json); "
                           "give the --out of a train-supernet run")
    return json.loads(path.read_text())["supernet"]
