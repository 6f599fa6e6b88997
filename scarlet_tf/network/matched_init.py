"""Matched initialization: every MBConv choice of a layer without a residual starts as the
same function.

A residual layer's choices all start as the identity (zero-init residual), so whatever
choice the sampler picks there, the next layer sees the same features. A layer that
changes stride or channels (each stage's first) has no identity: independently
initialized choices hand the next layer unrelated features, every choice downstream must
learn to read all of them, and the supernet learns far slower per step
(``studies/supernet_law``). Here each such layer's choices copy one reference choice, the
one with the smallest kernel and fewest expanded channels:

- expanded channel ``j`` of a choice with ``h`` channels copies reference channel
  ``j mod h_ref`` (1x1 expand kernel and depthwise kernel, the reference's kxk kernel in
  the centre of a larger kernel, zeros around it);
- the projection divides each copied channel's row by the number of its copies, so the
  copies sum to the reference's projection;
- squeeze-excite copying a reference without it starts input-independent: its excite
  kernel and bias are zero, so the gate is hard_sigmoid(0) = 0.5 on every channel, and
  the projection is doubled to undo it; copying a reference with it, each channel gets
  the gate of its source channel.

BatchNorm parameters and moving statistics are copied channel by channel too, and batch
statistics of copied channels are the copies' statistics, so every choice computes the
reference's output, in training and in inference. A choice that cannot hold the
reference (a smaller kernel, fewer channels, or no squeeze-excite where the reference has
it) keeps its own weights.

The same copy ends the stage-first warm-up (``SupernetConfig.firsts_warmup``): those
layers first train only their reference, then every other choice starts from the trained
reference, so a downstream layer meets the features it learned on whichever is sampled.
"""

from __future__ import annotations

import numpy as np

from scarlet_tf.network.blocks import MBConv

SE_GATE_AT_ZERO = 0.5  # hard_sigmoid(0) = relu6(0 + 3) / 6


def reference(blocks: list[MBConv]) -> MBConv:
    """The choice the others copy: smallest kernel, then fewest expanded channels."""
    return min(blocks, key=lambda b: (b.depthwise.kernel_size[0], b.expand.filters))


def can_hold(block: MBConv, ref: MBConv) -> bool:
    """True when ``block`` has at least the reference's kernel size and channels, and
    squeeze-excite if the reference has it."""
    return (block.depthwise.kernel_size[0] >= ref.depthwise.kernel_size[0]
            and block.expand.filters >= ref.expand.filters
            and (ref.se is None or block.se is not None))


def copy_reference(block: MBConv, ref: MBConv) -> None:
    """Set ``block``'s kernels, squeeze-excite and BatchNorm so that it computes ``ref``'s
    function (module docstring)."""
    hidden, ref_hidden = block.expand.filters, ref.expand.filters
    source = np.arange(hidden) % ref_hidden  # reference channel of each expanded channel
    share = 1.0 / np.bincount(source, minlength=ref_hidden)[source]  # [hidden]
    kernel, ref_kernel = block.depthwise.kernel_size[0], ref.depthwise.kernel_size[0]
    pad = (kernel - ref_kernel) // 2
    dw = np.zeros((kernel, kernel, hidden, 1), "float32")
    dw[pad:pad + ref_kernel, pad:pad + ref_kernel] = np.asarray(ref.depthwise.kernel)[:, :, source]
    gain = 1.0
    if block.se is not None and ref.se is None:  # a silent excite: gate 0.5 on every channel
        block.se.expand.kernel.assign(np.zeros(block.se.expand.kernel.shape, "float32"))
        block.se.expand.bias.assign(np.zeros(block.se.expand.bias.shape, "float32"))
        gain = 1.0 / SE_GATE_AT_ZERO
    elif block.se is not None:
        copy_squeeze_excite(block.se, ref.se, source, share)
    block.expand.kernel.assign(np.asarray(ref.expand.kernel)[:, :, :, source])
    block.depthwise.kernel.assign(dw)
    block.project.kernel.assign(np.asarray(ref.project.kernel)[:, :, source]
                                * (gain * share)[:, None])
    for name, index in (("expand_bn", source), ("depthwise_bn", source),
                        ("project_bn", slice(None))):
        for mine, theirs in zip(getattr(block, name).weights, getattr(ref, name).weights):
            mine.assign(np.asarray(theirs)[index])  # gamma, beta, moving mean and variance


def copy_squeeze_excite(se, ref, source: np.ndarray, share: np.ndarray) -> None:
    """Give expanded channel j of ``se`` the gate of ``ref``'s channel ``source[j]``: its
    first reduced units sum the copies' pooled values (``share`` each), the rest stay 0."""
    units = ref.reduce.filters
    reduce = np.zeros(se.reduce.kernel.shape, "float32")  # [1, 1, hidden, r]
    reduce[:, :, :, :units] = np.asarray(ref.reduce.kernel)[:, :, source] * share[:, None]
    bias = np.zeros(se.reduce.bias.shape, "float32")
    bias[:units] = np.asarray(ref.reduce.bias)
    excite = np.zeros(se.expand.kernel.shape, "float32")  # [1, 1, r, hidden]
    excite[:, :, :units] = np.asarray(ref.expand.kernel)[:, :, :, source]
    se.reduce.kernel.assign(reduce)
    se.reduce.bias.assign(bias)
    se.expand.kernel.assign(excite)
    se.expand.bias.assign(np.asarray(ref.expand.bias)[source])


def match_choices(options: list) -> int:
    """Set the MBConv ``options`` of one non-residual layer to compute the reference's
    function (module docstring), fresh at initialization or trained (at the end of the
    stage-first warm-up); built blocks. Returns how many match (the reference included)."""
    blocks = [o for o in options if isinstance(o, MBConv)]
    if not blocks:
        return 0
    ref = reference(blocks)
    matched = [b for b in blocks if can_hold(b, ref)]
    for block in matched:
        if block is not ref:
            copy_reference(block, ref)
    return len(matched)


def reference_index(options: list) -> int | None:
    """Index in ``options`` of the reference choice (None when none is an MBConv)."""
    blocks = [o for o in options if isinstance(o, MBConv)]
    return options.index(reference(blocks)) if blocks else None
