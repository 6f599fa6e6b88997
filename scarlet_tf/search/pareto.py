"""``ParetoOracle``: NSGA-II for any keras-tuner HyperModel, as a ``keras_tuner.Oracle``.

The first generation is the space's default candidate (the user's best guess; optional)
and random candidates of the hyperparameter space, ``population`` in all; each later one
is ``population`` children (binary tournament, crossover, mutation; see
:mod:`scarlet_tf.search.genome`) of the survivors of the previous ones (non-dominated
sorting with constraint-domination, crowding distance). A generation is a barrier:
``populate_space`` answers IDLE while any member is still being evaluated, so results
do not depend on how many workers run trials or in which order they finish. No
candidate is proposed twice (active values compared). The whole state is part of
keras-tuner's ``oracle.json``: a killed search resumes where it stopped (settings
compared), and keras-tuner's chief/worker gRPC mode works unchanged.

Constraints: ``limits`` bound reported metrics (known after the trial; infeasible
trials lose to feasible ones, Deb's constraint-domination); ``constraint`` is a
function of the hyperparameter values known before training (e.g. a size limit),
``values -> violation`` (0 or ``True``: feasible); candidates it rejects are never
evaluated.

A ``run_trial`` that returns a dict must include keras-tuner's ``multi_objective`` (the
summed form, ``oracle.objective.get_value(metrics)``), as for any list of objectives;
the stock ``Tuner`` (``model.fit``) adds it itself.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import keras_tuner as kt
import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.files import refuse_other_settings
from scarlet_tf.search import front, nsga2, surrogate
from scarlet_tf.search.genome import Genome, key

_STATUS = kt.engine.trial.TrialStatus
RUNNING, IDLE, STOPPED, COMPLETED = (_STATUS.RUNNING, _STATUS.IDLE, _STATUS.STOPPED,
                                     _STATUS.COMPLETED)
TRIES_PER_MEMBER = 50  # candidate draws per wanted member before a generation is cut short


@dataclass(frozen=True)
class Limit:
    """A bound on a reported metric: ``metric <= max`` and/or ``metric >= min``.

    Violation is relative to the bound (``value / max - 1``), absolute for a bound of 0.
    """

    metric: str
    max: float | None = None
    min: float | None = None

    def __post_init__(self):
        if self.max is None and self.min is None:
            raise ScarletError(f"Limit({self.metric!r}) needs max= and/or min=")

    def violation(self, value: float) -> float:
        """0 when ``value`` is within the bounds, else how far outside (> 0)."""
        over = 0.0 if self.max is None else max(0.0, value - self.max) / (abs(self.max) or 1)
        under = 0.0 if self.min is None else max(0.0, self.min - value) / (abs(self.min) or 1)
        return over + under


class ParetoOracle(kt.Oracle):
    """NSGA-II over ``hyperparameters`` (or the space the HyperModel declares).

    ``objective``: list of ``kt.Objective`` (any number, each min or max).
    ``population`` candidates per generation, ``generations`` generations (the random
    first one included: at most ``population * generations`` trials); ``seed`` makes the
    proposals reproducible. ``limits``: :class:`Limit` s on reported metrics;
    ``constraint``: ``values -> violation`` before training. ``crossover_rate``: the
    probability that a child mixes two parents rather than copying one;
    ``mutation_rate``: per hyperparameter (default 1 / the number of varying ones active
    in the child: one mutation per child on average).
    ``weights`` ``[M]``: preferences in the crowding distance (see ``nsga2``). ``log``
    gets one line per finished generation. ``start_from_defaults``: the first generation
    opens with the hyperparameters' ``default`` values (if they meet ``constraint``).

    ``surrogate`` (``"gp"``, ``"forest"`` or None): after the first generation, breed
    ``screening`` times more children than are evaluated and evaluate the ``population``
    that NSGA-II would keep by their optimistic predicted objectives, ``rounds`` rounds of
    breed-and-screen per generation (:mod:`scarlet_tf.search.surrogate`); None breeds
    ``population`` children and evaluates them all (plain NSGA-II). ``"gp"`` (a Gaussian
    process per objective) finds the best fronts in a few hundred trials; its fit grows
    with the cube of the trials and with the number of features, so for thousands of
    trials or hundreds of one-hot columns ``"forest"`` (extra-trees) is the cheaper choice.
    """

    def __init__(self, objective, hyperparameters=None, *, population: int = 20,
                 generations: int = 10, seed: int = 0, limits=(), constraint=None,
                 crossover_rate: float = 0.9, mutation_rate: float | None = None,
                 weights=None, surrogate: str | None = "gp", screening: int = 30,
                 rounds: int = 1, start_from_defaults: bool = True, log=None,
                 **oracle_kwargs):
        objectives = front.objectives_of(objective)
        _check(population, generations, limits, constraint, crossover_rate, mutation_rate,
               weights, len(objectives))
        _check_surrogate(surrogate, screening)
        super().__init__(objective=objectives, hyperparameters=hyperparameters,
                         seed=seed + 1, **oracle_kwargs)  # keras-tuner draws a seed for 0
        self.objectives, self.limits = objectives, tuple(limits)
        self.population, self.generations, self.search_seed = population, generations, seed
        self.constraint, self.weights, self.log = constraint, weights, log
        self.crossover_rate, self.mutation_rate = crossover_rate, mutation_rate
        self.surrogate, self.screening, self.rounds = surrogate, screening, rounds
        self.start_from_defaults = start_from_defaults
        self._given_space = hyperparameters.get_config()["space"] if hyperparameters else None
        self._generation, self._closed, self._queue = 0, False, None
        self._survivors: list[str] = []
        self._generation_of: dict[str, int] = {}
        self._scored: dict[str, tuple] = {}  # trial id -> (objective vector, violation)

    # --- keras-tuner hooks -------------------------------------------------------------

    def populate_space(self, trial_id):
        """Next proposed member; IDLE while the generation is evaluated; STOPPED at the end."""
        while True:
            if self._queue is None:  # the space is complete only once the tuner declared it
                self._queue = self._first_generation()
            if self._queue:
                self._generation_of[trial_id] = self._generation
                return {"status": RUNNING, "values": self._queue.pop(0)}
            if self.ongoing_trials:
                return {"status": IDLE}
            if not self._closed:
                self._close_generation()
            if self._generation + 1 >= self.generations:
                return {"status": STOPPED}
            self._open_generation()

    @kt.synchronized
    def end_trial(self, trial):
        """keras-tuner's end_trial, then one more save: keras-tuner saves before it drops
        the trial from the ongoing ones, so a gRPC chief's last oracle.json would send the
        finished last trial back for a retry on resume."""
        super().end_trial(trial)
        self.save()

    def score_trial(self, trial):
        """keras-tuner's score (the summed form), computed when ``multi_objective`` is
        missing (a tuner that reported the objectives through ``update_trial``)."""
        if trial.metrics.exists(front.SCORE):
            return super().score_trial(trial)
        trial.score = self.objective.get_value(front.trial_metrics(trial))

    def get_best_trials(self, num_trials=None):
        """The feasible Pareto front of the completed trials, best first objective first;
        with ``num_trials``, that many trials by (front, first objective)."""
        trials = self.completed_trials()
        F, violation = self._scores(trials)
        rank, _ = nsga2.rank_and_crowding(F, violation)
        order = sorted(range(len(trials)), key=lambda i: (rank[i], F[i, 0]))
        if not num_trials:
            order = [i for i in order if rank[i] == 0 and violation[i] == 0]
        return [trials[i] for i in order[:num_trials or None]]

    def get_state(self):
        state = super().get_state()
        state["pareto"] = {
            "settings": self.settings(), "generation": self._generation,
            "closed": self._closed, "queue": self._queue, "survivors": self._survivors,
            "generation_of": self._generation_of}
        return state

    def set_state(self, state):
        super().set_state(state)
        if "pareto" not in state:
            raise ScarletError(f"the search in {project_dir(self)} was not written by a "
                               "ParetoOracle; overwrite it or choose another project_name")
        saved = state["pareto"]
        refuse_other_settings(f"the search in {project_dir(self)}", saved["settings"],
                              self.settings(), "resume it with the same ones or overwrite it")
        self._generation, self._closed = saved["generation"], saved["closed"]
        self._queue, self._survivors = saved["queue"], saved["survivors"]
        self._generation_of, self._scored = saved["generation_of"], {}

    # --- search state ------------------------------------------------------------------

    def settings(self) -> dict:
        """What defines the search (everything but ``generations``, which may grow)."""
        constraint = getattr(self.constraint, "__qualname__", None) if self.constraint else None
        return json.loads(json.dumps({
            "objectives": [f"{o.name}:{o.direction}" for o in self.objectives],
            "hyperparameters": self._given_space, "population": self.population,
            "seed": self.search_seed, "mutation_rate": self.mutation_rate,
            "crossover_rate": self.crossover_rate, "weights": self.weights,
            "limits": [asdict(limit) for limit in self.limits], "constraint": constraint,
            "surrogate": self.surrogate, "screening": self.screening,
            "rounds": self.rounds, "start_from_defaults": self.start_from_defaults}))

    @property
    def generation(self) -> int:
        """The current generation (0 = the random one)."""
        return self._generation

    def completed_trials(self, generation=None) -> list:
        """Completed trials in trial order, optionally of one generation only."""
        return [self.trials[t] for t in sorted(self.trials, key=int)
                if self.trials[t].status == COMPLETED
                and generation in (None, self._generation_of.get(t))]

    def generation_of(self, trial) -> int:
        """The generation (0 = the random one) that proposed ``trial``; -1 if none."""
        return self._generation_of.get(trial.trial_id, -1)

    def metrics(self, trial) -> dict:
        """``{metric: float}`` the trial reported (at its best step)."""
        return front.trial_metrics(trial)

    def violation(self, trial) -> float:
        """Total violation of the limits and the constraint; 0 when feasible."""
        return float(self._scores([trial])[1][0])

    def pre_violation(self, values: dict) -> float:
        """Violation of ``constraint`` by hyperparameter values (0: feasible)."""
        if self.constraint is None:
            return 0.0
        found = self.constraint(values)
        return float(not found) if isinstance(found, (bool, np.bool_)) else float(found)

    def _scores(self, trials) -> tuple[np.ndarray, np.ndarray]:
        """Objective vectors float ``[N, M]`` (minimized) and violations ``[N]``, cached."""
        for trial in trials:
            if trial.trial_id not in self._scored:
                metrics = self.metrics(trial)
                missing = sorted({limit.metric for limit in self.limits} - set(metrics))
                if missing:
                    raise ScarletError(f"trial {trial.trial_id} reported no {missing} (a "
                                       f"limit's metric); it reported {sorted(metrics)}")
                violation = self.pre_violation(trial.hyperparameters.values) + sum(
                    limit.violation(metrics[limit.metric]) for limit in self.limits)
                self._scored[trial.trial_id] = (front.vector(metrics, self.objectives),
                                                violation)
        scored = [self._scored[t.trial_id] for t in trials]
        return (np.array([s[0] for s in scored], float).reshape(-1, len(self.objectives)),
                np.array([s[1] for s in scored], float))

    # --- generations -------------------------------------------------------------------

    def _first_generation(self) -> list[dict]:
        first = [self.genome().defaults()] if self.start_from_defaults else []
        queue = self._propose(lambda rng: first.pop() if first else self._sample(rng),
                              self.population, np.random.default_rng([self.search_seed, 0]))
        if not queue and not self.trials:
            raise ScarletError(f"no candidate met the constraint in "
                               f"{TRIES_PER_MEMBER * self.population} random draws; relax it")
        return queue

    def _close_generation(self):
        """Select the survivors among the previous ones and this generation; log."""
        pool = self._survivors + [t.trial_id
                                  for t in self.completed_trials(self._generation)]
        keep = nsga2.select(*self._scores([self.trials[t] for t in pool]),
                            self.population, self.weights)
        self._survivors = [pool[i] for i in sorted(keep)]
        self._closed = True
        if self.log is not None:
            self.log(self.progress_line())

    def _open_generation(self):
        """Propose the next generation: children of the survivors (screened by the
        surrogate when there is one)."""
        self._generation += 1
        rng = np.random.default_rng([self.search_seed, self._generation])
        parents = [self.trials[t] for t in self._survivors]
        parents = ([t.hyperparameters.values for t in parents], *self._scores(parents))
        if self.surrogate is None:
            self._queue = self._propose(self._breeder(*parents), self.population, rng)
        else:
            self._queue = self._screened(parents, rng)
        self._closed = False

    def progress_line(self) -> str:
        """``generation g/G: n evaluated (N in all), front k``."""
        return f"{self.progress_head()}, front {len(self.get_best_trials())}"

    def progress_head(self) -> str:
        """``generation g/G: n evaluated (N in all)``."""
        return (f"generation {self._generation + 1}/{self.generations}: "
                f"{len(self.completed_trials(self._generation))} evaluated "
                f"({len(self.completed_trials())} in all)")

    def genome(self) -> Genome:
        """Sampling and variation over the current hyperparameter space."""
        return Genome(self.hyperparameters)

    def _propose(self, make_child, count: int, rng) -> list[dict]:
        """Up to ``count`` new candidates from at most ``TRIES_PER_MEMBER * population``
        draws of ``make_child(rng)`` passed through :meth:`_finish`, none already tried or
        proposed."""
        seen = {key(t.hyperparameters.values) for t in self.trials.values()}
        children = []
        for _ in range(TRIES_PER_MEMBER * self.population):
            if len(children) == count:
                break
            child = make_child(rng)
            child = None if child is None else self._finish(child, rng)
            if child is not None and key(child) not in seen:
                seen.add(key(child))
                children.append(child)
        return children

    def _screened(self, parents, rng) -> list[dict]:
        """``population`` children picked by the surrogate: ``rounds`` times, breed
        ``screening * population`` children of the parents, keep the ``population`` that
        :func:`surrogate.screen` picks, and let them compete with the parents (NSGA-II
        selection on predicted objectives) for the next round's parents; the last round's
        picks, in breeding order."""
        model, encode = self._fit_surrogate(), surrogate.Encoder(self.genome())
        values, F, violation = parents
        for _ in range(self.rounds):
            pool = self._propose(self._breeder(values, F, violation),
                                 self.screening * self.population, rng)
            if len(pool) <= self.population:
                return pool
            kept, F_kept, v_kept = surrogate.screen(model, encode(pool), F, violation,
                                                    self.population, self.weights)
            values = values + [pool[i] for i in kept]
            F, violation = np.vstack([F, F_kept]), np.concatenate([violation, v_kept])
            best = nsga2.select(F, violation, self.population, self.weights)
            values, F, violation = [values[i] for i in best], F[best], violation[best]
        return [pool[i] for i in sorted(kept)]

    def _fit_surrogate(self):
        """The surrogate fitted on every completed trial (objectives, plus violation when
        some trial violated), seeded by (seed, generation)."""
        trials = self.completed_trials()
        F, violation = self._scores(trials)
        seed = np.random.SeedSequence([self.search_seed, self._generation]).generate_state(1)
        X = surrogate.Encoder(self.genome())([t.hyperparameters.values for t in trials])
        return surrogate.MODELS[self.surrogate](int(seed[0])).fit(
            X, np.column_stack([F, violation]) if violation.any() else F)

    def _sample(self, rng):
        """A random candidate (or None)."""
        return self.genome().sample(rng)

    def _finish(self, values: dict, rng):
        """The candidate to evaluate for ``values``, or None: those that violate
        ``constraint`` are dropped (a subclass may repair them instead)."""
        return values if self.pre_violation(values) == 0 else None

    def _breeder(self, values: list[dict], F, violation):
        """``rng -> child``: tournament-selected parents (``values`` with objectives ``F``
        and ``violation``) -> crossover -> mutation; random candidates without parents."""
        if not values:
            return self._sample
        genome = self.genome()
        rank, crowd = nsga2.rank_and_crowding(F, violation, self.weights)

        def child(rng):
            picked = values[nsga2.tournament(rank, crowd, rng)]
            if rng.random() < self.crossover_rate:
                picked = genome.crossover(picked, values[nsga2.tournament(rank, crowd, rng)],
                                          rng)
            return genome.mutate(picked, rng, self.mutation_rate or 1.0 / genome.size(picked))

        return child


def _check(population, generations, limits, constraint, crossover_rate, mutation_rate,
           weights, n_objectives):
    """ScarletError for a bad ParetoOracle argument."""
    if population < 2 or generations < 1:
        raise ScarletError(f"need population >= 2 and generations >= 1, got {population} "
                           f"and {generations}")
    if not all(isinstance(limit, Limit) for limit in limits):
        raise ScarletError(f"limits must be Limit(metric, max=..., min=...), got {limits!r}")
    if constraint is not None and not callable(constraint):
        raise ScarletError(f"constraint must be a function of the hyperparameter values, "
                           f"got {constraint!r}")
    if not 0 <= crossover_rate <= 1 or not (mutation_rate is None or 0 < mutation_rate <= 1):
        raise ScarletError(f"need crossover_rate in [0, 1] and mutation_rate in (0, 1], got "
                           f"{crossover_rate} and {mutation_rate}")
    if weights is not None and len(weights) != n_objectives:
        raise ScarletError(f"weights need one number per objective ({n_objectives}), got "
                           f"{list(weights)}")


def _check_surrogate(name, screening):
    """ScarletError for a bad surrogate or screening argument."""
    if name is not None and name not in surrogate.SURROGATES:
        raise ScarletError(f"surrogate must be one of {surrogate.SURROGATES} or None, got "
                           f"{name!r}")
    if not 1 <= screening < TRIES_PER_MEMBER:
        raise ScarletError(f"need 1 <= screening < {TRIES_PER_MEMBER}, got {screening}")


def project_dir(oracle) -> str:
    """The oracle's project directory. PRIVATE keras-tuner member (``Oracle._project_dir``;
    no public accessor): the one place this package reads one."""
    return oracle._project_dir
