"""Building blocks in plain Keras 3 (``keras.layers`` / ``keras.ops`` only).

Each block is a Keras layer that owns named sublayers. ``block(x)`` runs it as one
layer (the supernet does this); ``block.unroll(x)`` applies the sublayers one by one,
so a functional model built on symbolic tensors records each convolution as its own
node (the plain-model builder does this). Sublayer names carry the block's prefix,
e.g. ``layer07_e3k7se_expand``, so a supernet choice and the plain model's block share
weight names.

Feature maps are NHWC: ``[batch, height, width, channels]``.
"""

from __future__ import annotations

import keras
from keras import layers

from scarlet_tf.space.choices import Choice
from scarlet_tf.space.costs import se_channels
from scarlet_tf.space.spaces import LayerSpec, SearchSpace

BN_MOMENTUM = 0.99
BN_EPSILON = 1e-3
ACTIVATION_NAMES = {"hard_swish": "hswish", "relu": "relu", "relu6": "relu6"}  # name suffixes


def frame_activation(kind: str, name: str) -> layers.Layer:
    """The stem's or head's activation: ``"relu6"`` (SCARLET) or ``"relu"``."""
    return layers.ReLU(6.0 if kind == "relu6" else None, name=f"{name}_{kind}")


def batch_norm(name: str, cls=layers.BatchNormalization,
               gamma_initializer: str = "ones") -> layers.BatchNormalization:
    """BatchNorm with the paper's momentum; ``cls`` lets the supernet use its own subclass."""
    return cls(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, gamma_initializer=gamma_initializer,
               name=name)


class Block(layers.Layer):
    """A layer defined by :meth:`unroll` over its own sublayers (built on first call)."""

    def build(self, input_shape):
        pass  # the sublayers build themselves on the first call

    def call(self, x, training=None):
        return self.unroll(x, training=training)

    def unroll(self, x, training=None):
        raise NotImplementedError


class SqueezeExcite(Block):
    """Squeeze-excite on ``channels``: pool, 1x1 to C/4 (ReLU), 1x1 back (h-sigmoid), scale."""

    def __init__(self, channels: int, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")
        self.reduce = layers.Conv2D(se_channels(channels), 1, activation="relu",
                                    name=f"{name}_reduce")
        self.expand = layers.Conv2D(channels, 1, activation="hard_sigmoid",
                                    name=f"{name}_expand")
        self.scale = layers.Multiply(name=f"{name}_scale")

    def build(self, input_shape):
        """Create the weights for inputs [B, H, W, C] without running the block."""
        self.reduce.build((None, 1, 1, input_shape[-1]))
        self.expand.build((None, 1, 1, self.reduce.filters))

    def unroll(self, x, training=None):
        return self.scale([x, self.expand(self.reduce(self.pool(x)))])


class MBConv(Block):
    """Inverted bottleneck of ``choice`` at ``layer``: [B, H, W, Cin] -> [B, H/s, W/s, Cout].

    1x1 expand (BN, the layer's activation: h-swish or ReLU), kxk depthwise with the
    layer's stride (BN, activation),
    optional squeeze-excite, 1x1 linear projection (BN), residual add when the layer
    keeps stride 1 and channels. ``zero_init_residual`` initializes the projection BN's
    gamma to 0 in residual blocks, so the block starts as the identity (the "zero-init
    last BN" of ResNet/timm training; in a supernet all paths then agree at the start).
    """

    def __init__(self, layer: LayerSpec, choice: Choice, name: str,
                 bn_class=layers.BatchNormalization, zero_init_residual: bool = False,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        hidden = layer.in_channels * choice.expansion
        self.expand = layers.Conv2D(hidden, 1, use_bias=False, name=f"{name}_expand")
        self.expand_bn = batch_norm(f"{name}_expand_bn", bn_class)
        act, short = layer.activation, ACTIVATION_NAMES[layer.activation]
        self.expand_act = layers.Activation(act, name=f"{name}_expand_{short}")
        self.depthwise = layers.DepthwiseConv2D(choice.kernel, layer.stride, padding="same",
                                                use_bias=False, name=f"{name}_dw")
        self.depthwise_bn = batch_norm(f"{name}_dw_bn", bn_class)
        self.depthwise_act = layers.Activation(act, name=f"{name}_dw_{short}")
        self.se = SqueezeExcite(hidden, f"{name}_se") if choice.se else None
        self.project = layers.Conv2D(layer.out_channels, 1, use_bias=False,
                                     name=f"{name}_project")
        zero = zero_init_residual and layer.residual
        self.project_bn = batch_norm(f"{name}_project_bn", bn_class, "zeros" if zero else "ones")
        self.add = layers.Add(name=f"{name}_add") if layer.residual else None

    def build(self, input_shape):
        """Create the weights for inputs [B, H, W, Cin] without running the block."""
        hidden = (None, None, None, self.expand.filters)
        self.expand.build(input_shape)
        for layer in (self.expand_bn, self.depthwise, self.depthwise_bn, self.project):
            layer.build(hidden)
        if self.se is not None:
            self.se.build(hidden)
        self.project_bn.build((None, None, None, self.project.filters))

    def unroll(self, x, training=None):
        y = self.expand_act(self.expand_bn(self.expand(x), training=training))
        y = self.depthwise_act(self.depthwise_bn(self.depthwise(y), training=training))
        if self.se is not None:
            y = self.se.unroll(y)
        y = self.project_bn(self.project(y), training=training)
        return self.add([y, x]) if self.add is not None else y


class Projection(Block):
    """The ``skip`` choice of a layer that changes stride or channels: 1x1 conv with the
    layer's stride (no bias), BN, no activation. [B, H, W, Cin] -> [B, H/s, W/s, Cout]."""

    def __init__(self, layer: LayerSpec, name: str, bn_class=layers.BatchNormalization,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.project = layers.Conv2D(layer.out_channels, 1, layer.stride, padding="same",
                                     use_bias=False, name=f"{name}_project")
        self.project_bn = batch_norm(f"{name}_project_bn", bn_class)

    def build(self, input_shape):
        """Create the weights for inputs [B, H, W, Cin] without running the block."""
        self.project.build(input_shape)
        self.project_bn.build((None, None, None, self.project.filters))

    def unroll(self, x, training=None):
        return self.project_bn(self.project(x), training=training)


class IdentityInitializer(keras.initializers.Initializer):
    """Identity matrix for a 1x1 convolution kernel of shape ``[1, 1, C, C]``."""

    def __call__(self, shape, dtype=None):
        return keras.ops.reshape(keras.ops.eye(shape[-1], dtype=dtype), shape)


def stabilizer(channels: int, name: str, init: str = "identity") -> layers.Conv2D:
    """Learnable stabilizer for a skip choice: 1x1 conv, no bias, no BN, no activation.

    ``init="identity"`` (default) starts every stabilized skip as an exact identity, so
    a fresh stabilized supernet computes what the unstabilized one does and the map
    starts well conditioned for folding; the other inits are Keras initializer names.
    """
    initializer = IdentityInitializer() if init == "identity" else init
    return layers.Conv2D(channels, 1, use_bias=False, kernel_initializer=initializer,
                         name=name)


class Stem(Block):
    """3x3 conv (BN, ReLU6 or the space's frame activation), then in the SCARLET spaces
    the fixed separable block: 3x3 depthwise (BN, ReLU6), linear 1x1 to
    ``space.sep_channels`` (BN). [B, S, S, 3] -> [B, S/s, S/s, space.stem_out_channels]."""

    def __init__(self, space: SearchSpace, name: str = "stem",
                 bn_class=layers.BatchNormalization, **kwargs):
        super().__init__(name=name, **kwargs)
        self.conv = layers.Conv2D(space.stem_channels, 3, space.stem_stride, padding="same",
                                  use_bias=False, name="stem_conv")
        self.bn = batch_norm("stem_bn", bn_class)
        self.act = frame_activation(space.frame_activation, "stem")
        self.separable = bool(space.sep_channels)
        if self.separable:
            self.depthwise = layers.DepthwiseConv2D(3, padding="same", use_bias=False,
                                                    name="sep_dw")
            self.depthwise_bn = batch_norm("sep_dw_bn", bn_class)
            self.depthwise_act = frame_activation(space.frame_activation, "sep")
            self.project = layers.Conv2D(space.sep_channels, 1, use_bias=False,
                                         name="sep_project")
            self.project_bn = batch_norm("sep_project_bn", bn_class)

    def unroll(self, x, training=None):
        x = self.act(self.bn(self.conv(x), training=training))
        if not self.separable:
            return x
        x = self.depthwise_act(self.depthwise_bn(self.depthwise(x), training=training))
        return self.project_bn(self.project(x), training=training)


class Head(Block):
    """1x1 conv to ``space.head_channels`` (BN, the space's frame activation), global
    average pool, optional dropout, fully-connected classifier. [B, H, W, C] -> logits
    [B, num_classes]."""

    def __init__(self, space: SearchSpace, dropout: float = 0.0, name: str = "head",
                 bn_class=layers.BatchNormalization, **kwargs):
        super().__init__(name=name, **kwargs)
        self.conv = layers.Conv2D(space.head_channels, 1, use_bias=False, name="head_conv")
        self.bn = batch_norm("head_bn", bn_class)
        self.act = frame_activation(space.frame_activation, "head")
        self.pool = layers.GlobalAveragePooling2D(name="head_pool")
        self.dropout = layers.Dropout(dropout, name="head_dropout") if dropout else None
        self.classifier = layers.Dense(space.num_classes, name="classifier")

    def unroll(self, x, training=None):
        x = self.pool(self.act(self.bn(self.conv(x), training=training)))
        if self.dropout is not None:
            x = self.dropout(x, training=training)
        return self.classifier(x)

