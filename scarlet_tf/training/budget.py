"""How long a supernet must train before its scores mean something, stated before training.

With uniform single-path sampling a layer of C choices trains each of them on about 1/C
of the steps. The curves of ``studies/supernet_law`` (digits, the default space at width
1.0) show that updates per choice alone do not predict learning: what slows a supernet
is the number W of choices *with weights* competing in a layer (``skip`` has none). One
path, or one block choice beside ``skip``, leaves chance within 100 steps; two weighted
choices need about 400; three did not within 800. The rule stated here,
``STEPS_PER_WEIGHTED_CHOICE_SQUARED * W**2`` steps, matches those points; a fair step
(one path per choice) counts as that many uniform steps. A light module (no TensorFlow).
"""

from __future__ import annotations

STEPS_PER_WEIGHTED_CHOICE_SQUARED = 100


def weighted_choices(space) -> int:
    """The most choices with weights (not ``skip``) any layer of ``space`` offers."""
    return max(sum(not c.is_skip for c in layer.choices) for layer in space.layers)


def steps_needed(space) -> int:
    """Uniform steps after which the supernet's scores leave chance (the module's rule)."""
    return STEPS_PER_WEIGHTED_CHOICE_SQUARED * weighted_choices(space) ** 2


def budget_report(steps: int, space, paths_per_step: int = 1) -> tuple[str, str | None]:
    """(one line stating the budget, one warning line or None when it is enough).

    ``steps``: the run's training steps; ``paths_per_step``: 1 for uniform sampling, the
    widest layer's choice count for the fair sampler."""
    widest = max(space.num_choices)
    weighted, needed = weighted_choices(space), steps_needed(space)
    per_choice = steps if paths_per_step > 1 else steps / widest
    line = (f"budget: {steps} steps, {widest} choices per layer ({weighted} with weights) -> "
            f"about {per_choice:.0f} updates per choice; supernet scores leave chance after "
            f"about {needed} steps")
    if steps * paths_per_step >= needed:
        return line, None
    choices = "choice" if weighted == 1 else "choices"
    return line, (f"{steps} steps are too few for {weighted} weighted {choices} per layer: "
                  f"scores stay near chance until about {needed} steps "
                  f"({STEPS_PER_WEIGHTED_CHOICE_SQUARED} x {weighted}^2, studies/supernet_law); "
                  f"train longer or offer fewer choices (--choices)")
