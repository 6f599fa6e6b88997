"""``EvolutionOracle``: NSGA-II over architectures as a keras-tuner Oracle.

One ``hp.Choice`` per searchable layer (``layer01`` ... ``layer19``, the layer's tokens).
The first generation is ``population`` random feasible architectures; each later one is
``population`` children (binary tournament, per-layer uniform crossover, per-layer
mutation, repair into the feasible region) of the survivors of the previous ones. A
generation is a barrier: ``populate_space`` answers IDLE while any member is still being
evaluated, so the result does not depend on how many workers run trials or in which
order they finish. No architecture is evaluated twice. The whole state (generation,
queue of proposed children, survivors) is part of keras-tuner's ``oracle.json``, so a
killed search resumes where it stopped, and the chief/worker gRPC mode works unchanged.
"""

from __future__ import annotations

import json

import keras_tuner as kt
import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.search import nsga2
from scarlet_tf.search.problem import SearchProblem

RUNNING, IDLE, STOPPED, COMPLETED = (kt.engine.trial.TrialStatus.RUNNING,
                                     kt.engine.trial.TrialStatus.IDLE,
                                     kt.engine.trial.TrialStatus.STOPPED,
                                     kt.engine.trial.TrialStatus.COMPLETED)


def layer_hyperparameters(problem: SearchProblem) -> kt.HyperParameters:
    """One ``hp.Choice(layerNN, tokens)`` per searchable layer."""
    hp = kt.HyperParameters()
    for layer in problem.space.layers:
        hp.Choice(layer.name, [c.token for c in layer.choices], ordered=False)
    return hp


class EvolutionOracle(kt.Oracle):
    """Multi-objective evolutionary search (NSGA-II) of ``problem``.

    ``population`` candidates per generation, ``generations`` generations (including the
    random first one: at most ``population * generations`` evaluations); ``seed`` makes
    the proposals reproducible; ``mutation_rate`` is the per-layer probability of a
    mutation, ``crossover_rate`` the probability that a child mixes two parents rather
    than copying one. ``log`` receives one progress line per finished generation.
    Trials report the objectives' metrics (``accuracy``; costs are recomputed here).
    """

    def __init__(self, problem: SearchProblem, *, population: int = 50, generations: int = 20,
                 seed: int = 0, mutation_rate: float = 0.1, crossover_rate: float = 0.9,
                 log=print):
        if population < 2 or generations < 1:
            raise ScarletError(f"need population >= 2 and generations >= 1, got "
                               f"{population} and {generations}")
        super().__init__(objective=[kt.Objective(o.name, o.direction)
                                    for o in problem.objectives],
                         hyperparameters=layer_hyperparameters(problem),
                         allow_new_entries=False, tune_new_entries=False,
                         seed=seed + 1)  # keras-tuner draws a random seed for 0; unused here
        self.verbose = 0
        self.problem, self.population, self.generations = problem, population, generations
        self.search_seed, self.log = seed, log
        self.mutation_rate, self.crossover_rate = mutation_rate, crossover_rate
        self._generation, self._closed = 0, False
        self._survivors: list[str] = []
        self._generation_of: dict[str, int] = {}
        self._queue = self._propose(self._random_child)

    # --- keras-tuner hooks -------------------------------------------------------------

    def populate_space(self, trial_id):
        """Next proposed member; IDLE while the generation is evaluated; STOPPED at the end."""
        while True:
            if self._queue:
                self._generation_of[trial_id] = self._generation
                return {"status": RUNNING, "values": self.problem.values_of(self._queue.pop(0))}
            if self.ongoing_trials:
                return {"status": IDLE}
            if not self._closed:
                self._close_generation()
            if self._generation + 1 >= self.generations:
                return {"status": STOPPED}
            self._open_generation()

    def get_best_trials(self, num_trials=None):
        """The Pareto front of the feasible completed trials, most accurate (or best in the
        first objective) first; with ``num_trials``, that many by (front, first objective)."""
        trials = self.completed_trials()
        vectors = self._vectors(trials)
        rank, _ = nsga2.rank_and_crowding(vectors, self._violations(trials))
        first = vectors[:, 0]
        order = sorted(range(len(trials)), key=lambda i: (rank[i], first[i]))
        if not num_trials:
            order = [i for i in order if rank[i] == 0 and self._feasible(trials[i])]
        return [trials[i] for i in order[:num_trials or None]]

    def get_state(self):
        state = super().get_state()
        state["evolution"] = {
            "settings": self.settings(), "generation": self._generation,
            "closed": self._closed, "queue": self._queue, "survivors": self._survivors,
            "generation_of": self._generation_of}
        return state

    def set_state(self, state):
        super().set_state(state)
        saved = state["evolution"]
        changed = _differences(saved["settings"], self.settings())
        if changed:
            raise ScarletError(f"the search in {self._project_dir} was started with other "
                               f"settings ({changed}); resume it with the same ones or "
                               "overwrite it")
        self._generation, self._closed = saved["generation"], saved["closed"]
        self._queue = saved["queue"]
        self._survivors, self._generation_of = saved["survivors"], saved["generation_of"]

    # --- search state ------------------------------------------------------------------

    def settings(self) -> dict:
        """What defines the search (everything but ``generations``, which may grow)."""
        return json.loads(json.dumps({
            "problem": self.problem.describe(), "population": self.population,
            "seed": self.search_seed, "mutation_rate": self.mutation_rate,
            "crossover_rate": self.crossover_rate}))

    def completed_trials(self, generation=None) -> list:
        """Completed trials in trial order, optionally of one generation only."""
        return [self.trials[t] for t in sorted(self.trials, key=int)
                if self.trials[t].status == COMPLETED
                and generation in (None, self._generation_of.get(t))]

    def metrics(self, trial) -> dict:
        """Reported metrics of a trial (last values) plus its analytic costs."""
        reported = {name: trial.metrics.get_last_value(name)
                    for name in trial.metrics.metrics if name != "multi_objective"}
        return {**reported, **self.problem.costs(self.path(trial))}

    def path(self, trial) -> tuple[int, ...]:
        return self.problem.path_of(trial.hyperparameters.values)

    def records(self) -> list[dict]:
        """One dict per completed trial: trial id, generation (1 = the random one), arch,
        metrics, feasibility and front membership."""
        front = {t.trial_id for t in self.get_best_trials()}
        return [{"trial": t.trial_id, "generation": self._generation_of.get(t.trial_id, -1) + 1,
                 "arch": str(self.problem.space.decode(self.path(t))), **self.metrics(t),
                 "feasible": self._feasible(t), "pareto": t.trial_id in front}
                for t in self.completed_trials()]

    def _vectors(self, trials) -> np.ndarray:
        return self.problem.vectors([self.metrics(t) for t in trials])

    def _violations(self, trials) -> np.ndarray:
        return np.array([self.problem.violation(self.path(t)) for t in trials])

    def _feasible(self, trial) -> bool:
        return self.problem.violation(self.path(trial)) == 0

    # --- generations -------------------------------------------------------------------

    def _close_generation(self):
        """Select the survivors among the previous ones and this generation; log progress."""
        pool = self._survivors + [t.trial_id for t in self.completed_trials(self._generation)]
        trials = [self.trials[t] for t in pool]
        keep = nsga2.select(self._vectors(trials), self._violations(trials), self.population,
                            self.problem.weights)
        self._survivors = [pool[i] for i in sorted(keep)]
        self._closed = True
        self.log(self.progress_line())

    def _open_generation(self):
        """Propose the next generation: children of the survivors."""
        self._generation += 1
        self._queue = self._propose(self._breeder())
        self._closed = False

    def progress_line(self) -> str:
        """``generation g/G: n evaluated, best feasible accuracy, front size, hypervolume``."""
        done = self.completed_trials()
        metrics = [self.metrics(t) for t in done if self._feasible(t)]
        best = max((m.get("accuracy", float("nan")) for m in metrics), default=float("nan"))
        return (f"generation {self._generation + 1}/{self.generations}: "
                f"{len(self.completed_trials(self._generation))} evaluated ({len(done)} in "
                f"all), best feasible accuracy {best:.4f}, front "
                f"{len(self.get_best_trials())}, hypervolume "
                f"{self.problem.hypervolume(metrics):.4f}")

    def _propose(self, make_child) -> list[list[int]]:
        """Up to ``population`` new feasible paths from ``make_child(rng)``, never one
        already tried or proposed; seeded by (seed, generation)."""
        rng = np.random.default_rng([self.search_seed, self._generation])
        children, seen = [], set()
        for _ in range(50 * self.population):
            if len(children) == self.population:
                break
            child = make_child(rng)
            if child is None or tuple(child) in seen:
                continue
            seen.add(tuple(child))
            if not self._duplicate(self.problem.values_of(child)):
                children.append([int(i) for i in child])
        return children

    def _random_child(self, rng):
        return self.problem.sample(rng)

    def _breeder(self):
        """``rng -> child``: tournament-selected survivors -> crossover -> mutation -> repair."""
        parents = [self.trials[t] for t in self._survivors]
        if not parents:
            return self._random_child
        paths = [self.path(t) for t in parents]
        rank, crowd = nsga2.rank_and_crowding(self._vectors(parents), self._violations(parents),
                                              self.problem.weights)

        def child(rng):
            path = paths[nsga2.tournament(rank, crowd, rng)]
            if rng.random() < self.crossover_rate:
                path = nsga2.crossover(path, paths[nsga2.tournament(rank, crowd, rng)], rng)
            path = nsga2.mutate(path, self.problem.space.num_choices, rng, self.mutation_rate)
            return self.problem.repair(path, rng)

        return child


def _differences(saved: dict, current: dict) -> str:
    """``key: saved -> current`` for every differing setting (one level into dicts)."""
    changes = []
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changes += [f"{key}.{change}" for change in _differences(old, new).split("; ")
                        if change]
        elif old != new:
            changes.append(f"{key}: {old} -> {new}")
    return "; ".join(changes)
