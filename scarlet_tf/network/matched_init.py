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
- squeeze-excite starts input-independent: its excite kernel and bias are zero, so the
  gate is hard_sigmoid(0) = 0.5 on every channel, and the projection is doubled to undo it.

BatchNorm statistics of copied channels are the copies' statistics, so with the fresh
BatchNorm parameters every choice computes the reference's output, in training and in
inference. A choice that cannot hold the reference (a smaller kernel or fewer channels)
keeps its own initialization.
"""

from __future__ import annotations

import numpy as np

from scarlet_tf.network.blocks import MBConv

SE_GATE_AT_ZERO = 0.5  # hard_sigmoid(0) = relu6(0 + 3) / 6


def reference(blocks: list[MBConv]) -> MBConv:
    """The choice the others copy: smallest kernel, then fewest expanded channels."""
    return min(blocks, key=lambda b: (b.depthwise.kernel_size[0], b.expand.filters))


def can_hold(block: MBConv, ref: MBConv) -> bool:
    """True when ``block`` has at least the reference's kernel size and channels."""
    return (block.depthwise.kernel_size[0] >= ref.depthwise.kernel_size[0]
            and block.expand.filters >= ref.expand.filters)


def copy_reference(block: MBConv, ref: MBConv, expand, depthwise, project) -> None:
    """Set ``block``'s kernels from the reference's (numpy): expand [1, 1, Cin, h_ref],
    depthwise [k, k, h_ref, 1], project [1, 1, h_ref, Cout]."""
    hidden, ref_hidden = block.expand.filters, ref.expand.filters
    source = np.arange(hidden) % ref_hidden  # reference channel of each expanded channel
    copies = np.bincount(source, minlength=ref_hidden)
    kernel, ref_kernel = block.depthwise.kernel_size[0], ref.depthwise.kernel_size[0]
    pad = (kernel - ref_kernel) // 2
    dw = np.zeros((kernel, kernel, hidden, 1), depthwise.dtype)
    dw[pad:pad + ref_kernel, pad:pad + ref_kernel] = depthwise[:, :, source]
    gain = 1.0 / SE_GATE_AT_ZERO if block.se is not None else 1.0
    block.expand.kernel.assign(expand[:, :, :, source])
    block.depthwise.kernel.assign(dw)
    block.project.kernel.assign(project[:, :, source] * (gain / copies[source])[:, None])
    if block.se is not None:
        block.se.expand.kernel.assign(np.zeros(block.se.expand.kernel.shape, "float32"))
        block.se.expand.bias.assign(np.zeros(block.se.expand.bias.shape, "float32"))


def match_choices(options: list) -> int:
    """Start the MBConv ``options`` of one non-residual layer as the same function (module
    docstring); built blocks. Returns how many were matched (the reference included)."""
    blocks = [o for o in options if isinstance(o, MBConv)]
    if not blocks:
        return 0
    ref = reference(blocks)
    kernels = [np.array(v) for v in (ref.expand.kernel, ref.depthwise.kernel, ref.project.kernel)]
    matched = [b for b in blocks if can_hold(b, ref)]
    for block in matched:
        copy_reference(block, ref, *kernels)
    return len(matched)
