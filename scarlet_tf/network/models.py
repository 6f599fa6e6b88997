"""Plain Keras models of one architecture (the supernet is
:mod:`scarlet_tf.network.supernet`)."""

from __future__ import annotations

import keras

from scarlet_tf.network.blocks import Head, MBConv, Projection, Stem, stabilizer
from scarlet_tf.space.spaces import SearchSpace, get_space, resolve_arch


def nested_layers(layer: keras.Layer) -> list[keras.Layer]:
    """Every layer inside ``layer``, depth first (nested layers included, itself not).

    KERAS PRIVATE API, the one place scarlet_tf uses one: Keras 3 has no public
    recursive iterator over the sublayers of a subclassed layer (``Model.layers`` lists
    only the direct children, and plain layers have none), so this wraps
    ``Layer._flatten_layers``; if a Keras release drops it, only this function changes.
    """
    return list(layer._flatten_layers(include_self=False, recursive=True))


def block_name(layer, choice) -> str:
    """Name prefix of a searchable layer's block, e.g. ``layer07_e3k7se``."""
    return f"{layer.name}_{choice.token}"


def build_model(arch, space: str | SearchSpace = "scarlet", num_classes: int | None = None,
                input_shape: tuple | None = None, dropout: float = 0.0, *,
                width: float | None = None,
                stabilizers: bool = False, zero_init_residual: bool = False,
                name: str | None = None) -> keras.Model:
    """Build the plain functional Keras model of ``arch``.

    Args:
      arch: an Architecture, a named model (``"scarlet-a"``), a canonical string or a
        JSON file path.
      space: search-space name (``"scarlet"``, ``"scarlet-cifar"``) or a SearchSpace.
      num_classes: classifier width; defaults to the space's (1000 / 10).
      input_shape: ``(H, W, 3)`` with H == W; defaults to the space's input size.
      dropout: dropout rate before the classifier.
      width: channel multiplier (default 1.0).
        ``num_classes``, ``input_shape`` and ``width`` build the space from its name;
        with a SearchSpace they are an error (the space already fixes them).
      stabilizers: keep each identity skip as an explicit stabilizer 1x1 convolution
        (``layerNN_skip_stabilizer``) instead of adding no layer at all. A skip that
        changes stride or channels is always a projection (``layerNN_skip_project``).
      zero_init_residual: start each residual block as the identity (projection
        BatchNorm gamma 0); helps training from scratch at small budgets.
      name: the Keras model's name (default ``"scarlet"``).

    Returns a model mapping images ``[B, H, W, 3]`` (float, normalized to [-1, 1]) to
    logits ``[B, num_classes]``.
    """
    space = get_space(space, width=width, num_classes=num_classes,
                      input_size=input_shape[0] if input_shape else None)
    arch = resolve_arch(arch, space)
    inputs = keras.Input((space.input_size, space.input_size, 3), name="image")
    x = Stem(space).unroll(inputs)
    for layer, choice in zip(space.layers, arch.choices):
        prefix = block_name(layer, choice)
        if not choice.is_skip:
            x = MBConv(layer, choice, prefix, zero_init_residual=zero_init_residual).unroll(x)
        elif layer.skip_projects:
            x = Projection(layer, prefix).unroll(x)
        elif stabilizers:
            x = stabilizer(layer.out_channels, f"{prefix}_stabilizer")(x)
    outputs = Head(space, dropout).unroll(x)
    return keras.Model(inputs, outputs, name=name or "scarlet")
