"""The stabilized weight-sharing supernet (plain Keras 3).

Each searchable layer is a :class:`ChoiceBlock` holding all of its choices, each MBConv
choice with its own weights and BatchNorm (the weight store; names match the plain
model's). The path is an integer tensor ``[num_layers]``;
:mod:`scarlet_tf.network.switching` picks the
chosen choices' variables by handle, so one small traced graph serves every path and
unselected choices are neither computed nor held in the graph.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from scarlet_tf.names import STABILIZER_INITS, STABILIZERS, checked
from scarlet_tf.network.blocks import Head, MBConv, Projection, Stem, stabilizer
from scarlet_tf.network.matched_init import match_choices, reference_index
from scarlet_tf.network.models import block_name
from scarlet_tf.network.switching import LayerSwitch, unnamed_variables
from scarlet_tf.space.choices import SKIP
from scarlet_tf.space.spaces import LayerSpec, SearchSpace, get_space


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
        # Keras private API, used only here: Layer.add_weight takes no `synchronization`,
        # so the variable is made directly and registered with Layer._track_variable.
        self._track_variable(variable)
        return variable


def skip_option(layer: LayerSpec, mode: str, init: str) -> layers.Layer:
    """The skip choice: a learnable stabilizer, or a plain identity with ``mode="none"``;
    where the layer changes stride or channels, a projection with its own weights."""
    if layer.skip_projects:
        return Projection(layer, block_name(layer, SKIP), ReplicaLocalBatchNorm)
    if mode == "learnable":
        return stabilizer(layer.out_channels, f"{layer.name}_skip_stabilizer", init)
    return layers.Identity(name=f"{layer.name}_skip")


class ChoiceBlock(layers.Layer):
    """All choices of one searchable layer (their sublayers and weights).

    ``options[i]`` is choice ``layer.choices[i]``: an :class:`MBConv`, or for the skip
    choice a learnable stabilizer (1x1 conv, no bias/BN/activation) or, with
    ``stabilizer="none"``, a plain identity; a projection where the layer changes
    stride or channels. The supernet runs one of them per step
    through :class:`scarlet_tf.network.switching.LayerSwitch`.
    """

    def __init__(self, layer: LayerSpec, stabilizer_mode: str = "learnable",
                 stabilizer_init: str = "identity", zero_init_residual: bool = True,
                 **kwargs):
        super().__init__(name=layer.name, **kwargs)
        self.spec = layer
        self.options = [MBConv(layer, c, block_name(layer, c), ReplicaLocalBatchNorm,
                               zero_init_residual)
                        if not c.is_skip
                        else skip_option(layer, stabilizer_mode, stabilizer_init)
                        for c in layer.choices]

    def build_all(self, input_shape):
        """Create every choice's weights for inputs of ``input_shape`` [B, H, W, Cin]
        (no computation); returns the output shape."""
        for option in self.options:
            option.build(input_shape)
        self.built = True
        stride = self.spec.stride
        return (input_shape[0], *(-(-d // stride) for d in input_shape[1:3]),
                self.spec.out_channels)


def supernet_settings(space: SearchSpace, stabilizer: str = "learnable",
                      stabilizer_init: str = "identity", dropout: float = 0.0,
                      zero_init_residual: bool = True, matched_init: bool = True) -> dict:
    """What rebuilds a supernet (stored in a run's ``config.json``)."""
    return {"space": space.describe(), "stabilizer": stabilizer,
            "stabilizer_init": stabilizer_init, "dropout": dropout,
            "zero_init_residual": zero_init_residual, "matched_init": matched_init}


class Supernet(keras.Model):
    """Weight-sharing supernet of a search space: ``call(images, path)`` -> logits.

    images: float [B, S, S, 3] in [-1, 1]; path: int32 [num_layers]; logits [B, classes].
    ``stabilizer``: ``"learnable"`` (default) or ``"none"``; ``stabilizer_init``: one of
    :data:`scarlet_tf.network.blocks.STABILIZER_INITS`; ``zero_init_residual`` starts every
    residual MBConv as the identity (projection BatchNorm gamma 0) and ``matched_init``
    every MBConv choice of a layer without a residual as the same function
    (:mod:`scarlet_tf.network.matched_init`), so all paths agree at initialization.
    """

    def __init__(self, space: SearchSpace, stabilizer: str = "learnable",
                 stabilizer_init: str = "identity", dropout: float = 0.0,
                 zero_init_residual: bool = True, matched_init: bool = True, **kwargs):
        checked("stabilizer", stabilizer, STABILIZERS)
        checked("stabilizer init", stabilizer_init, STABILIZER_INITS)
        super().__init__(name=kwargs.pop("name", "supernet"), **kwargs)
        self.space = space
        self.settings = supernet_settings(space, stabilizer, stabilizer_init, dropout,
                                          zero_init_residual, matched_init)
        self.stem = Stem(space, bn_class=ReplicaLocalBatchNorm)
        self.blocks = [ChoiceBlock(layer, stabilizer, stabilizer_init, zero_init_residual)
                       for layer in space.layers]
        self.head = Head(space, dropout, bn_class=ReplicaLocalBatchNorm)
        with unnamed_variables():
            self._build_all()
            if matched_init:
                self.match_firsts()
            self.switches = [LayerSwitch(block) for block in self.blocks]

    def _build_all(self):
        # Choices are built by shape; only the stem and head run, on a small image
        # (weights do not depend on the image size).
        size = min(self.space.input_size, 16)
        x = np.zeros((1, size, size, 3), "float32")
        shape = self.stem(x, training=False).shape
        for block in self.blocks:
            shape = block.build_all(shape)
        self.head(np.zeros(shape, "float32"), training=False)
        self.built = True

    def call(self, images, path, training=None):
        return self.run_path(images, path, training=training)[0]

    def run_path(self, images, path, training=None, watch=None, slots=None):
        """Logits [B, classes] of ``path`` (int32 [num_layers]), with per layer the
        picked handles and the tensors read from them (see
        :meth:`scarlet_tf.network.switching.LayerSwitch.forward`). Traced, one graph serves
        every path; ``watch`` is called on every read trainable tensor."""
        x = self.stem(images, training=training)
        picks, reads = [], []
        for i, switch in enumerate(self.switches):
            picks.append(switch.pick(path[i], slots))
            x, read = switch.forward(x, picks[-1], bool(training), watch)
            reads.append(read)
        return self.head(x, training=training), picks, reads

    def get_config(self) -> dict:
        return dict(self.settings)

    @classmethod
    def from_settings(cls, settings: dict) -> Supernet:
        """Rebuild from :attr:`settings` (as stored in a run's ``config.json``)."""
        space = get_space(**settings["space"])
        return cls(space, settings["stabilizer"], settings["stabilizer_init"],
                   settings.get("dropout", 0.0), settings.get("zero_init_residual", False),
                   settings.get("matched_init", False))

    def match_firsts(self) -> None:
        """Set every MBConv choice of each layer without a residual to compute its
        reference choice's current function (:mod:`scarlet_tf.network.matched_init`)."""
        for block in self.blocks:
            if not block.spec.residual:
                match_choices(block.options)

    def first_references(self) -> dict[int, int]:
        """{layer index: its reference choice} for each layer without a residual that
        offers an MBConv (the choice :meth:`match_firsts` copies)."""
        found = {b.spec.index: reference_index(b.options) for b in self.blocks
                 if not b.spec.residual}
        return {layer: choice for layer, choice in found.items() if choice is not None}

    def shared_weights(self) -> list:
        """Trainable variables every path uses (stem and head)."""
        return self.stem.trainable_weights + self.head.trainable_weights

