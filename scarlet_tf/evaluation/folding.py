"""Subnet extraction from a supernet, with the learnable stabilizers folded away exactly.

A stabilizer at a skip layer is a linear map ``y = x @ W`` (a 1x1 conv, no bias). The
running product ``M`` of consecutive stabilizers maps the plain model's feature stream
to the supernet's. It is merged into the next 1x1 convolution (``W_expand <- M @
W_expand``, or the head's conv). When that block is residual, its output also joins
the stream, so the block's projection (with its BatchNorm folded in) is multiplied by
``M^-1`` and ``M`` is carried on to the next non-residual block. The plain model then
has true identities at skip layers and computes the same logits (up to float error).
"""

from __future__ import annotations

import warnings

import numpy as np

from scarlet_tf.network.models import block_name, build_model, nested_layers
from scarlet_tf.space.spaces import resolve_arch

MAX_CONDITION = 1e4  # stabilizer products worse than this are kept, not inverted


class FoldingError(ValueError):
    """A stabilizer product too ill-conditioned to invert."""


def extract_subnet(supernet, arch, fold_stabilizers: bool = True, *, evaluator=None,
                   name: str | None = None):
    """A plain functional Keras model of ``arch`` carrying the supernet's weights.

    Args:
      supernet: a :class:`scarlet_tf.network.supernet.Supernet`.
      arch: Architecture, name, canonical string or JSON path.
      fold_stabilizers: fold the learnable stabilizers into the following layers (true
        identities at skip layers); False keeps each as an explicit 1x1 convolution
        (``layerNN_skip_stabilizer``). An ill-conditioned stabilizer product falls back
        to keeping them, with a warning.
      evaluator: an :class:`scarlet_tf.evaluation.evaluator.Evaluator`; when given, the path's
        BatchNorm statistics are recalibrated first (the supernet's stored ones are
        restored afterwards). Otherwise the stored statistics are copied.
      name: the Keras model's name (default ``"scarlet"``).

    Returns a ``keras.Model`` with the same structure :func:`scarlet_tf.build_model` makes.
    """
    arch = resolve_arch(arch, supernet.space)
    if evaluator is not None:
        evaluator.recalibrate(evaluator.path(arch))
    try:
        return _extract(supernet, arch, fold_stabilizers, name)
    finally:
        if evaluator is not None:
            evaluator.restore()


def _extract(supernet, arch, fold, name):
    learnable = supernet.settings["stabilizer"] == "learnable"
    space = supernet.space
    space.encode(arch)  # clear error if arch is outside the supernet's choices
    if fold and learnable:
        model = build_model(arch, space, stabilizers=False, name=name)
        _copy_weights(supernet, model)
        try:
            _fold(supernet, model, arch)
            return model
        except FoldingError as err:
            warnings.warn(f"{err}; keeping the stabilizers as explicit 1x1 convolutions",
                          stacklevel=3)
    model = build_model(arch, space, stabilizers=learnable, name=name)
    _copy_weights(supernet, model)
    return model


def _copy_weights(supernet, model) -> None:
    """Copy every weighted layer of ``model`` from the supernet layer of the same name."""
    source = {layer.name: layer for layer in nested_layers(supernet)}
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(source[layer.name].get_weights())


def _fold(supernet, model, arch) -> None:
    """Merge stabilizer products into the plain model's weights (see module docstring)."""
    carried = None  # M: [C, C] float64, None for identity
    for spec, choice, block in zip(supernet.space.layers, arch.choices, supernet.blocks):
        if choice.is_skip and not spec.skip_projects:
            kernel = block.options[spec.choices.index(choice)].kernel.numpy()[0, 0]
            carried = kernel.astype(np.float64) if carried is None else carried @ kernel
            continue
        if carried is None:
            continue
        prefix = block_name(spec, choice)
        first = "project" if choice.is_skip else "expand"  # a projection or an MBConv
        _premultiply(model.get_layer(f"{prefix}_{first}"), carried)
        if spec.residual:
            _postmultiply_projection(model, prefix, _inverse(carried, spec.number))
        else:
            carried = None
    if carried is not None:
        _premultiply(model.get_layer("head_conv"), carried)


def _inverse(matrix, layer_number):
    condition = np.linalg.cond(matrix)
    if not np.isfinite(condition) or condition > MAX_CONDITION:
        raise FoldingError(f"the stabilizers before layer {layer_number} are too "
                           f"ill-conditioned to fold (condition number {condition:.3g})")
    return np.linalg.inv(matrix)


def _premultiply(conv, matrix) -> None:
    """1x1 conv kernel [1, 1, Cin, Cout] <- matrix [Cin, Cin] @ kernel."""
    kernel = conv.kernel.numpy()
    kernel[0, 0] = matrix @ kernel[0, 0].astype(np.float64)
    conv.kernel.assign(kernel)


def _postmultiply_projection(model, prefix, inverse) -> None:
    """Projection conv + BN (inference) followed by ``@ inverse``, as conv + bias-only BN."""
    conv, bn = model.get_layer(f"{prefix}_project"), model.get_layer(f"{prefix}_project_bn")
    gamma, beta, mean, variance = (w.astype(np.float64) for w in bn.get_weights())
    scale = gamma / np.sqrt(variance + bn.epsilon)
    kernel = conv.kernel.numpy()
    kernel[0, 0] = (kernel[0, 0] * scale) @ inverse
    conv.kernel.assign(kernel)
    bias = (beta - mean * scale) @ inverse
    channels = bias.shape[0]
    bn.set_weights([np.ones(channels), bias, np.zeros(channels),
                    np.full(channels, 1.0 - bn.epsilon)])
