"""The switched block's operations on tensors read from handles: Keras' hard swish,
squeeze-excite and BatchNorm written as plain TensorFlow ops (the tests hold them equal
to the Keras layers), so one generic block runs whichever choice a path picks.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from scarlet_tf.network.blocks import BN_EPSILON
from scarlet_tf.network.handles import constant, read_handle


@tf.custom_gradient
def hard_swish(x):
    """Keras' hard swish, ``x * relu6(x + 3) / 6``, with its gradient in one expression:
    on tensors of unknown shape (the switched block's) the chain rule through the product
    and quotient takes 19 graph ops, three of them sums over the whole tensor (gradients
    of the constants 3 and 6); this takes 10, none of them a sum (counted)."""
    def grad(upstream):
        inner = tf.where(x >= constant(3.0), constant(1.0), x * constant(1 / 3) + constant(0.5))
        return upstream * tf.where(x <= constant(-3.0), constant(0.0), inner)
    return keras.activations.hard_swish(x), grad


def conv1x1(x, kernel):
    """A 1x1 convolution, stride 1: [B, H, W, Cin] x [1, 1, Cin, Cout] -> [B, H, W, Cout]."""
    return tf.nn.conv2d(x, kernel, 1, "SAME")


def squeeze_excite_gate(y, reads):
    """Per-channel gate [B, 1, 1, C] of ``y`` [B, H, W, C] (Keras' SqueezeExcite)."""
    s = tf.reduce_mean(y, axis=[1, 2], keepdims=True)
    s = tf.nn.relu(tf.nn.bias_add(conv1x1(s, reads["se_reduce"]), reads["se_reduce_bias"]))
    return keras.activations.hard_sigmoid(
        tf.nn.bias_add(conv1x1(s, reads["se_expand"]), reads["se_expand_bias"]))


def switched_batch_norm(x, reads, handles, prefix, momentum):
    """Keras' BatchNormalization over [B, H, W, C] as one fused op: batch statistics and
    a moving-average update through the handles when ``momentum`` is given (training),
    else the moving statistics."""
    mean_handle, var_handle = handles[f"{prefix}_mean"], handles[f"{prefix}_var"]
    gamma, beta = reads[f"{prefix}_gamma"], reads[f"{prefix}_beta"]
    if momentum is None:
        y, _, _ = tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, read_handle(mean_handle, x.dtype), read_handle(var_handle, x.dtype),
            epsilon=BN_EPSILON, is_training=False)
        return y
    # Version 1 of the op: the gradient tape lets its unused outputs have no gradient,
    # where V3's get a ZerosLike each (five per BatchNorm, dead ops in every trace).
    y, mean, variance, *_ = tf.raw_ops.FusedBatchNorm(
        x=x, scale=gamma, offset=beta, mean=constant(()), variance=constant(()),
        epsilon=BN_EPSILON, is_training=True)
    variance = variance * _biased(x)  # the op returns the unbiased variance
    keep, update = constant(momentum), constant(1.0 - momentum)
    for handle, value in ((mean_handle, mean), (var_handle, variance)):
        moving = read_handle(handle, x.dtype)
        tf.raw_ops.AssignVariableOp(resource=handle, value=moving * keep + value * update)
    return y


def _biased(x):
    """(n - 1) / n for the n = B * H * W values per channel of ``x``: a constant where
    the shape is static (the traced step's), else computed."""
    count = x.shape[:3].num_elements()
    if count is None:
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:3]), x.dtype)
        return (count - 1) / count
    return constant((count - 1) / count)
