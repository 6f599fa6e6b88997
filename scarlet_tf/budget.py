"""How many updates each choice of a supernet gets in a run, and when that is too few.

With uniform single-path sampling a layer of C choices trains each of them on about 1/C
of the steps; with the fair sampler every choice is trained once per step (a step is C
paths). A supernet's scores follow the updates its choices received: the curves of
``studies/supernet_law`` (1, 2, 4 and 13 choices per layer, same steps) show recalibrated
paths leaving chance only after about :data:`MIN_UPDATES_PER_CHOICE` updates per choice.
A light module (no TensorFlow): the command line prints the budget before training.
"""

from __future__ import annotations

MIN_UPDATES_PER_CHOICE = 100


def updates_per_choice(steps: int, num_choices, paths_per_step: int = 1) -> float:
    """Expected training steps of one choice of the widest layer over ``steps`` steps.

    ``num_choices``: choices per layer; ``paths_per_step``: 1 for uniform sampling, C for
    the fair sampler (each choice once per step)."""
    widest = max(num_choices)
    return float(steps) if paths_per_step > 1 else steps / widest


def budget_report(steps: int, num_choices, paths_per_step: int = 1) -> tuple[str, str | None]:
    """(one line stating the budget, one warning line or None when it is enough)."""
    updates = updates_per_choice(steps, num_choices, paths_per_step)
    widest = max(num_choices)
    line = (f"budget: {steps} steps, {widest} choices per layer -> about {updates:.0f} "
            f"updates per choice")
    if updates >= MIN_UPDATES_PER_CHOICE:
        return line, None
    needed = MIN_UPDATES_PER_CHOICE * (1 if paths_per_step > 1 else widest)
    return line, (f"{updates:.0f} updates per choice is below the {MIN_UPDATES_PER_CHOICE} at "
                  f"which supernet scores leave chance: train at least {needed} steps, or "
                  f"offer fewer choices (--choices)")
