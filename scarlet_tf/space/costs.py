"""Analytic cost model: mult-adds and parameters without building a model.

Counting convention (the paper's):
- mult-adds (MAdds) count the multiply-accumulates of every convolution and of the
  fully-connected classifier, squeeze-excite's two 1x1 convolutions included:
  ``H_out * W_out * k * k * C_in * C_out / groups`` per convolution, ``C_in * C_out``
  for the classifier. Bias adds, BatchNorm, activations, pooling, residual adds and
  SE's rescaling multiply are not counted (``madds_with_se_scaling`` adds SE's pooling
  and rescaling, the paper's second figure).
- params count trainable parameters: convolution kernels, BatchNorm gamma and beta,
  SE and classifier weights and biases. BatchNorm moving statistics are not parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from scarlet_tf.errors import ScarletError
from scarlet_tf.space.choices import Choice
from scarlet_tf.space.spaces import LayerSpec, SearchSpace, get_space, resolve_arch


def se_channels(hidden: int) -> int:
    """Squeeze width of squeeze-excite on ``hidden`` expanded channels: C/4."""
    return max(1, hidden // 4)


@dataclass(frozen=True)
class Cost:
    """Mult-adds and trainable parameters of one part of the network (integers)."""

    madds: int = 0
    params: int = 0
    se_scaling: int = 0  # SE pooling adds + rescaling multiplies, outside the convention

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.madds + other.madds, self.params + other.params,
                    self.se_scaling + other.se_scaling)


def conv_cost(out_side: int, kernel: int, c_in: int, c_out: int, *, depthwise=False,
              bn=True, bias=False) -> Cost:
    """Cost of one square convolution producing an ``out_side`` x ``out_side`` map."""
    weights = kernel * kernel * (c_in if depthwise else c_in * c_out)
    params = weights + (2 * c_out if bn else 0) + (c_out if bias else 0)
    return Cost(out_side * out_side * weights, params)


def choice_cost(layer: LayerSpec, choice: Choice) -> Cost:
    """Cost of ``choice`` at ``layer``: an MBConv, or skip (zero for an identity, a
    strided 1x1 conv with BN where the layer changes stride or channels)."""
    if choice.is_skip:
        if not layer.skip_projects:
            return Cost()
        return conv_cost(layer.out_resolution, 1, layer.in_channels, layer.out_channels)
    hidden = layer.in_channels * choice.expansion
    side_in, side_out = layer.resolution, layer.out_resolution
    cost = conv_cost(side_in, 1, layer.in_channels, hidden)
    cost += conv_cost(side_out, choice.kernel, hidden, hidden, depthwise=True)
    if choice.se:
        squeeze = se_channels(hidden)
        cost += conv_cost(1, 1, hidden, squeeze, bn=False, bias=True)
        cost += conv_cost(1, 1, squeeze, hidden, bn=False, bias=True)
        cost += Cost(se_scaling=2 * side_out * side_out * hidden)
    return cost + conv_cost(side_out, 1, hidden, layer.out_channels)


def stem_cost(space: SearchSpace) -> Cost:
    """Stem conv (3x3, stride 2 or 1) and, where the space has it, the separable block."""
    side = space.stem_resolution
    cost = conv_cost(side, 3, 3, space.stem_channels)
    if not space.sep_channels:
        return cost
    return (cost + conv_cost(side, 3, space.stem_channels, space.stem_channels, depthwise=True)
            + conv_cost(side, 1, space.stem_channels, space.sep_channels))


def head_cost(space: SearchSpace) -> Cost:
    """Head 1x1 conv and the fully-connected classifier (with bias)."""
    last = space.layers[-1]
    return (conv_cost(space.head_resolution, 1, last.out_channels, space.head_channels)
            + conv_cost(1, 1, space.head_channels, space.num_classes, bn=False, bias=True))


@dataclass(frozen=True)
class ModelCosts:
    """Costs of a whole architecture. ``layers`` holds one :class:`Cost` per layer."""

    madds: int
    params: int
    madds_with_se_scaling: int
    stem: Cost
    layers: tuple[Cost, ...]
    head: Cost
    # predicted by a latency table, when one was given: the latency `benchmark` reports
    latency_ms: float | None = None


def costs(arch, space: str | SearchSpace = "scarlet", latency_table=None,
          **space_kwargs) -> ModelCosts:
    """Mult-adds and trainable parameters of ``arch`` (name, string, digit code or
    Architecture).

    ``latency_table``: a loaded :class:`scarlet_tf.latency.table.LatencyTable`
    (``LatencyTable.load(path)``; or any object with its ``predict(arch, space)``) of the
    same space (ScarletError for a table of another space, width, classes or input size);
    adds the predicted latency in ms (the fastest run over fresh interpreters, as
    ``scarlet-tf benchmark`` reports it).
    ``space_kwargs`` (width, num_classes, input_size) go to :func:`get_space`.
    """
    space = get_space(space, **space_kwargs)
    arch = resolve_arch(arch, space)
    per_layer = tuple(choice_cost(layer, c) for layer, c in zip(space.layers, arch.choices))
    stem, head = stem_cost(space), head_cost(space)
    total = sum(per_layer, stem + head)
    latency = None if latency_table is None else _table(latency_table).predict(arch, space)
    return ModelCosts(total.madds, total.params, total.madds + total.se_scaling, stem,
                      per_layer, head, latency)


def _table(table):
    """``table`` when it predicts latency; a clear error for anything else (a path too)."""
    if not hasattr(table, "predict"):
        raise ScarletError(f"latency_table must be a loaded LatencyTable "
                           f"(LatencyTable.load(path)), got {type(table).__name__}")
    return table
