"""``EvolutionOracle``: NSGA-II over architectures, a client of :class:`ParetoOracle`.

One ``hp.Choice`` per searchable layer (``layer01`` ... ``layer19``, the layer's tokens):
per-layer uniform crossover and mutation are the general categorical operators. What
this class adds: random architectures spread along the constrained costs
(:meth:`SearchProblem.sample`), every proposal repaired into the feasible region
(:meth:`SearchProblem.repair`; none that stays infeasible is evaluated), the analytic
constraints of the problem, and architecture-level records and progress lines.
Generations, the barrier, no duplicates, resume and gRPC are :class:`ParetoOracle`'s.
"""

from __future__ import annotations

import keras_tuner as kt

from scarlet_tf.search.pareto import ParetoOracle
from scarlet_tf.search.problem import SearchProblem, higher_is_better


def layer_hyperparameters(problem: SearchProblem) -> kt.HyperParameters:
    """One ``hp.Choice(layerNN, tokens)`` per searchable layer."""
    hp = kt.HyperParameters()
    for layer in problem.space.layers:
        hp.Choice(layer.name, [c.token for c in layer.choices], ordered=False)
    return hp


class EvolutionOracle(ParetoOracle):
    """Multi-objective evolutionary search (NSGA-II) of ``problem``.

    ``population`` candidates per generation, ``generations`` generations (including the
    random first one: at most ``population * generations`` evaluations); ``seed`` makes
    the proposals reproducible; ``mutation_rate`` is the per-layer probability of a
    mutation, ``crossover_rate`` the probability that a child mixes two parents rather
    than copying one. ``log`` receives one progress line per finished generation.
    Trials report the objectives' metrics (``accuracy`` and the analytic costs).
    """

    def __init__(self, problem: SearchProblem, *, population: int = 50, generations: int = 20,
                 seed: int = 0, mutation_rate: float = 0.1, crossover_rate: float = 0.9,
                 log=print):
        self.problem = problem
        super().__init__([kt.Objective(o.name, o.direction) for o in problem.objectives],
                         layer_hyperparameters(problem), population=population,
                         generations=generations, seed=seed, mutation_rate=mutation_rate,
                         crossover_rate=crossover_rate, weights=problem.weights, log=log,
                         start_from_defaults=False,  # spread along the costs instead
                         surrogate="forest",  # 1000s of trials x 247 one-hot columns
                         allow_new_entries=False, tune_new_entries=False)
        self.verbose = 0

    def settings(self) -> dict:
        return {**super().settings(), "problem": self.problem.describe()}

    def pre_violation(self, values: dict) -> float:
        """Relative violation of the problem's cost limits (0 when feasible)."""
        return self.problem.violation(self.problem.path_of(values))

    def _sample(self, rng):
        path = self.problem.sample(rng)
        return None if path is None else self.problem.values_of(path)

    def _finish(self, values: dict, rng):
        """``values`` repaired into the feasible region (None when that failed)."""
        path = self.problem.repair(self.problem.path_of(values), rng)
        return None if path is None else self.problem.values_of(path)

    def metrics(self, trial) -> dict:
        """Reported metrics of a trial plus its analytic costs (recomputed, exact)."""
        return {**super().metrics(trial), **self.problem.costs(self.path(trial))}

    def path(self, trial) -> tuple[int, ...]:
        return self.problem.path_of(trial.hyperparameters.values)

    def records(self) -> list[dict]:
        """One dict per completed trial: trial id, generation (1 = the random one), arch,
        metrics, feasibility and front membership."""
        front = {t.trial_id for t in self.get_best_trials()}
        return [{"trial": t.trial_id, "generation": self.generation_of(t) + 1,
                 "arch": str(self.problem.space.decode(self.path(t))), **self.metrics(t),
                 "feasible": self.violation(t) == 0, "pareto": t.trial_id in front}
                for t in self.completed_trials()]

    def progress_line(self) -> str:
        """``generation g/G: n evaluated, best feasible score, front size, hypervolume``."""
        metrics = [self.metrics(t) for t in self.completed_trials() if self.violation(t) == 0]
        score = self.problem.score
        pick = max if higher_is_better(score) else min
        best = pick((m.get(score, float("nan")) for m in metrics), default=float("nan"))
        return (f"{self.progress_head()}, best feasible {score} "
                f"{best:.4f}, front {len(self.get_best_trials())}, hypervolume "
                f"{self.problem.hypervolume(metrics):.4f}")
