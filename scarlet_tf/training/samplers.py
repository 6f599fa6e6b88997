"""Path samplers for single-path supernet training (pure numpy, seeded, resumable).

A path is one integer per searchable layer indexing that layer's ``choices``
(:meth:`scarlet_tf.space.spaces.SearchSpace.encode`). A sampler returns, per training step, an
int32 array ``[m, num_layers]`` of the ``m`` paths trained together in one step.
"""

from __future__ import annotations

import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.names import SAMPLERS, registered
from scarlet_tf.space.spaces import SearchSpace


class Sampler:
    """Base: seeded numpy generator whose state can be saved and restored."""

    name = ""

    def __init__(self, space: SearchSpace, seed: int = 0):
        self.num_choices = np.array(space.num_choices)
        self.rng = np.random.default_rng(seed)

    @property
    def paths_per_step(self) -> int:
        raise NotImplementedError

    def sample(self) -> np.ndarray:
        """Paths for one step: int32 ``[paths_per_step, num_layers]``."""
        raise NotImplementedError

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


class UniformSampler(Sampler):
    """SPOS: one path per step, each layer's choice uniform over its own choices."""

    name = "uniform"

    @property
    def paths_per_step(self) -> int:
        return 1

    def sample(self) -> np.ndarray:
        return self.rng.integers(self.num_choices, size=(1, len(self.num_choices)),
                                 dtype=np.int32)


class TiedSampler(UniformSampler):
    """One path per step with the same choice in every layer, uniform over the choices.

    A control for studies of how choices interfere: each choice is trained on 1/C of the
    steps, as with :class:`UniformSampler`, but the path's layer-to-layer pairs are only
    the C "same choice twice" pairs instead of all C x C. Every layer must offer the same
    number of choices (``train_supernet(config, sampler=TiedSampler(space))``).
    """

    name = "tied"

    def __init__(self, space: SearchSpace, seed: int = 0):
        super().__init__(space, seed)
        if len(set(self.num_choices.tolist())) != 1:
            raise ScarletError("the tied sampler needs the same number of choices in every "
                               f"layer; this space has {sorted(set(self.num_choices))}")

    def sample(self) -> np.ndarray:
        choice = self.rng.integers(self.num_choices[0])
        return np.full((1, len(self.num_choices)), choice, np.int32)


class FairSampler(Sampler):
    """FairNAS strict fairness: ``m = max choices`` (13) paths per step.

    Each layer draws a random permutation of its choices, so across the step's paths
    every choice of every layer is used exactly once. Layers with 12 choices (the first
    layer of each stage, where skip is not allowed) fill the 13th path with one extra
    choice drawn uniformly, so one of their choices is updated a second time in that step;
    over many steps every choice is still trained equally often in expectation.
    """

    name = "fair"

    @property
    def paths_per_step(self) -> int:
        return int(self.num_choices.max())

    def sample(self) -> np.ndarray:
        m = self.paths_per_step
        columns = []
        for n in self.num_choices:
            column = self.rng.permutation(n)
            if n < m:
                column = np.concatenate([column, self.rng.integers(n, size=m - n)])
            columns.append(column)
        return np.stack(columns, axis=1).astype(np.int32)


class StageFirstWarmup:
    """The stage-first warm-up around a sampler, by step.

    Before step ``until`` the layers of ``held`` (``{layer index: choice index}``) keep
    that choice in every sampled path; at step ``until`` (> 0) the event ``on_open()``
    fires once, before that step's paths train (with or without a resume): the supernet
    starts the held layers' other choices as copies (``Supernet.match_firsts``).
    """

    def __init__(self, sampler: Sampler, held: dict[int, int], until: int, on_open):
        self.sampler, self.held, self.until, self.on_open = sampler, held, until, on_open

    def paths(self, step: int) -> np.ndarray:
        """The paths of training step ``step``: int32 ``[paths_per_step, num_layers]``."""
        paths = self.sampler.sample()
        if step < self.until:
            paths[:, list(self.held)] = list(self.held.values())
        elif step == self.until > 0:
            self.on_open()
        return paths


def make_sampler(name: str, space: SearchSpace, seed: int = 0) -> Sampler:
    """A sampler by name: ``uniform`` or ``fair`` (:data:`scarlet_tf.names.SAMPLERS`)."""
    return registered("sampler", SAMPLERS, name)(space, seed)


def count_choices(paths: np.ndarray, num_choices) -> list[np.ndarray]:
    """How often each choice of each layer appears in ``paths`` [m, L]: one int array
    [num_choices[l]] per layer."""
    return [np.bincount(paths[:, i], minlength=n) for i, n in enumerate(num_choices)]
