"""How long a supernet must train before its scores mean something, stated before training.

With uniform single-path sampling a layer of C choices trains each of them on about 1/C
of the steps. The curves of ``studies/supernet_law`` (digits, the default space at width
1.0, batch 64) count the W choices *with weights* per layer (``skip`` has none and costs
no steps):

- with matched initialization (the default: every choice of a stage's first layer
  starts as the same function), scores leave chance after about 20 updates per weighted
  choice, ``20 * W`` steps, and approach one path's after about four times that;
- without it, every choice must first learn to read the unrelated features of every
  choice before it, and the steps grow with ``W**2``: ``20 * W**2`` (20 for one
  weighted choice, 80 for two, more than 160 for three).

A fair step (one path per choice) counts as that many uniform steps. The rule says when
scores leave chance, not when they rank architectures as stand-alone training does;
that takes far longer (studies/nas_bench_macro: on its space the ranking still improved
from 3 to 10 and from 10 to 30 epochs of CIFAR-10, about 50, 175 and 530 times the
images the rule asks for).
A light module (no TensorFlow).
"""

from __future__ import annotations

UPDATES_TO_LEAVE_CHANCE = 20  # per weighted choice, at batch 64 (the rule's constant)
TO_APPROACH_ONE_PATH = 4  # times those steps, with matched initialization


def weighted_choices(space) -> int:
    """The most choices with weights (not ``skip``) any layer of ``space`` offers."""
    return max(sum(not c.is_skip for c in layer.choices) for layer in space.layers)


def rule(space, matched_init: bool = True) -> str:
    """The rule's formula for ``space``, e.g. ``"20 x 12"`` or ``"20 x 12^2"``."""
    power = "" if matched_init else "^2"
    return f"{UPDATES_TO_LEAVE_CHANCE} x {weighted_choices(space)}{power}"


def steps_needed(space, matched_init: bool = True) -> int:
    """Uniform steps after which the supernet's scores leave chance (the module's rule)."""
    weighted = weighted_choices(space)
    return UPDATES_TO_LEAVE_CHANCE * weighted ** (1 if matched_init else 2)


def budget_report(steps: int, space, paths_per_step: int = 1,
                  matched_init: bool = True) -> tuple[str, str | None]:
    """(one line stating the budget, one warning line or None when it is enough).

    ``steps``: the run's training steps; ``paths_per_step``: 1 for uniform sampling, the
    widest layer's choice count for the fair sampler."""
    widest = max(space.num_choices)
    weighted, needed = weighted_choices(space), steps_needed(space, matched_init)
    per_choice = steps if paths_per_step > 1 else steps / widest
    line = (f"budget: {steps} steps, {widest} choices per layer ({weighted} with weights) -> "
            f"about {per_choice:.0f} updates per choice; supernet scores leave chance after "
            f"about {needed} steps")
    if matched_init:
        line += f" and approach one path's after about {TO_APPROACH_ONE_PATH * needed}"
    if steps * paths_per_step >= needed:
        return line, None
    choices = "choice" if weighted == 1 else "choices"
    return line, (f"{steps} steps are too few for {weighted} weighted {choices} per layer: "
                  f"scores stay near chance until about {needed} steps "
                  f"({rule(space, matched_init)}, studies/supernet_law); "
                  f"train longer or offer fewer choices (--choices)")
