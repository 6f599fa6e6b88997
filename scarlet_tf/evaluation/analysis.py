"""Feature consistency of one layer's choices: the paper's cosine-similarity observation.

For one batch of images, the supernet runs up to searchable layer ``N`` along a fixed
path (every earlier layer at its first choice, an MBConv; or a path sampled with
``prefix_seed``). Every choice of layer ``N`` is then applied to the same input, and the
cosine similarity of each pair of outputs is computed per example (feature maps
flattened) and averaged over the batch. The skip choice is a plain identity in a
``none`` supernet and a learnable 1x1 stabilizer in a ``learnable`` one; the paper
observes that the stabilizer makes skip's features far more like the other choices'.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from scarlet_tf.errors import ScarletError
from scarlet_tf.plots import figure


def skippable_layer(space, number: int):
    """The LayerSpec of 1-based layer ``number``, which must offer ``skip``."""
    allowed = [layer.number for layer in space.layers if any(c.is_skip for c in layer.choices)]
    if number not in allowed:
        raise ScarletError(f"--layer {number} has no skip choice; layers that can skip: "
                           f"{', '.join(map(str, allowed)) or 'none in this supernet'}")
    return space.layers[number - 1]


def prefix_path(space, number: int, prefix_seed: int | None = None) -> list[int]:
    """Choice indices of layers ``1..number-1``: all 0 (first choice), or seeded random."""
    if prefix_seed is None:
        return [0] * (number - 1)
    return list(space.encode(space.sample(prefix_seed))[:number - 1])


def cosine_matrix(features) -> np.ndarray:
    """Mean over the batch of pairwise cosine similarities.

    ``features``: C arrays ``[B, ...]`` (one per choice); returns float64 ``[C, C]``,
    symmetric with ones on the diagonal (a zero feature map counts as similarity 0).
    """
    flat = np.stack([np.asarray(f, np.float64).reshape(len(f), -1) for f in features], 1)
    norms = np.linalg.norm(flat, axis=-1, keepdims=True)
    unit = flat / np.where(norms > 0, norms, 1.0)  # [B, C, D]
    matrix = np.einsum("bcd,bed->ce", unit, unit) / len(flat)
    matrix = (matrix + matrix.T) / 2
    np.fill_diagonal(matrix, 1.0)
    return matrix


def choice_features(supernet, images, number: int, prefix_seed: int | None = None,
                    evaluator=None) -> list[np.ndarray]:
    """Outputs ``[B, H, W, C]`` of every choice of layer ``number`` on the same input.

    Inference mode. With an :class:`scarlet_tf.evaluation.evaluator.Evaluator`, the BatchNorm
    statistics of the path through each choice (later layers at choice 0) are
    recalibrated first, as when scoring, and restored afterwards.
    """
    space = supernet.space
    layer = skippable_layer(space, number)
    prefix = prefix_path(space, number, prefix_seed)
    outputs = []
    for index in range(len(layer.choices)):
        path = prefix + [index] + [0] * (len(space.layers) - number)
        if evaluator is not None:
            evaluator.recalibrate(tf.constant(path, tf.int32))
        try:
            x = supernet.stem(images, training=False)
            for block, choice in zip(supernet.blocks[:number], path):
                x = block.options[choice](x, training=False)
            outputs.append(np.asarray(x))
        finally:
            if evaluator is not None:
                evaluator.restore()
    return outputs


def feature_consistency(supernet, images, number: int, prefix_seed: int | None = None,
                        evaluator=None) -> dict:
    """The cosine-similarity report of layer ``number`` (1-based, one that can skip).

    Returns ``{"layer", "stabilizer", "prefix_path", "choices": tokens, "matrix": [C][C],
    "skip_vs_others": mean similarity of skip to the other choices, "among_others":
    mean similarity between distinct non-skip choices}``.
    """
    layer = skippable_layer(supernet.space, number)
    matrix = cosine_matrix(choice_features(supernet, images, number, prefix_seed, evaluator))
    tokens = [c.token for c in layer.choices]
    skip = tokens.index("skip")
    others = [i for i in range(len(tokens)) if i != skip]
    pairs = [matrix[i, j] for i in others for j in others if i < j]
    return {"layer": number, "stabilizer": supernet.settings["stabilizer"],
            "prefix_path": prefix_path(supernet.space, number, prefix_seed),
            "choices": tokens, "matrix": matrix.tolist(),
            "skip_vs_others": float(matrix[skip, others].mean()),
            "among_others": float(np.mean(pairs)) if pairs else None}


def heatmap(report: dict, path) -> None:
    """PNG heatmap of ``report["matrix"]`` labelled with the choice tokens."""
    tokens = report["choices"]
    size = 2.5 + 0.45 * len(tokens)
    with figure(path, size=(size, size * 0.85)) as (fig, ax):
        image = ax.imshow(np.array(report["matrix"]), vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_xticks(range(len(tokens)), tokens, rotation=90)
        ax.set_yticks(range(len(tokens)), tokens)
        ax.set_title(f"layer {report['layer']} cosine similarity ({report['stabilizer']})")
        fig.colorbar(image, ax=ax)
