"""Pareto fronts of keras-tuner trials: metrics, objective vectors, hypervolume, plot.

``objectives`` is a list of ``keras_tuner.Objective`` (or metric names keras-tuner can
infer a direction for), a ``MultiObjective`` or an oracle (its ``objective``). A trial's
value of a metric is the one at its ``best_step`` (the epoch keras-tuner picked), else
the last one reported.
"""

from __future__ import annotations

import keras_tuner as kt
import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.plots import figure, front_panel, legend
from scarlet_tf.search import nsga2

SCORE = "multi_objective"  # keras-tuner's summed metric for a list of objectives


def objectives_of(objectives) -> list:
    """A list of ``kt.Objective`` from a list, a MultiObjective or an oracle."""
    objectives = getattr(objectives, "objective", objectives)
    objectives = getattr(objectives, "objectives", objectives)
    if not isinstance(objectives, (list, tuple)):
        objectives = [objectives]
    made = [_objective(o) for o in objectives]
    names = [o.name for o in made]
    if not made or len(set(names)) != len(names):
        raise ScarletError(f"objectives must be distinct and non-empty, got {names}")
    return made


def _objective(objective) -> kt.Objective:
    if isinstance(objective, kt.Objective):
        return objective
    direction = (kt.engine.metrics_tracking.infer_metric_direction(objective)
                 if isinstance(objective, str) else None)
    if direction is None:
        raise ScarletError(f"cannot tell whether to minimize or maximize {objective!r}; "
                           f"give kt.Objective({objective!r}, 'min' or 'max')")
    return kt.Objective(objective, direction)


def trial_metrics(trial) -> dict:
    """``{metric: float}`` of a trial (``multi_objective`` left out)."""
    found = {}
    for name in trial.metrics.metrics:
        history = trial.metrics.get_history(name)
        at_best = [o for o in history if o.step == trial.best_step]
        if name != SCORE and history:
            found[name] = float((at_best or history)[-1].mean())
    return found


def vector(metrics: dict, objectives) -> list[float]:
    """The objectives of one trial's ``metrics``, all to minimize (maxima negated)."""
    missing = [o.name for o in objectives if o.name not in metrics]
    if missing:
        raise ScarletError(f"a trial reported no {', '.join(missing)}; it reported "
                           f"{sorted(metrics)} (run_trial must return every objective)")
    return [metrics[o.name] * (-1.0 if o.direction == "max" else 1.0) for o in objectives]


def vectors(trials, objectives) -> np.ndarray:
    """Float ``[N, M]``: the objectives of ``trials``, all to minimize."""
    objectives = objectives_of(objectives)
    return np.array([vector(trial_metrics(t), objectives) for t in trials],
                    float).reshape(len(trials), len(objectives))


def pareto_front(trials, objectives) -> list:
    """The non-dominated ones among ``trials`` (constraints not considered), in order."""
    trials = list(trials)
    if not trials:
        return []
    first = nsga2.non_dominated_sort(vectors(trials, objectives))[0]
    return [trials[i] for i in sorted(first)]


def hypervolume(trials, objectives, reference) -> float:
    """Volume the ``trials`` dominate up to ``reference`` ``[M]``, in the objectives' own
    units and directions (e.g. accuracy 0.0, params 1e5 for max accuracy, min params)."""
    objectives = objectives_of(objectives)
    if len(reference) != len(objectives):
        raise ScarletError(f"reference needs one value per objective ({len(objectives)}), "
                           f"got {list(reference)}")
    ref = vector(dict(zip((o.name for o in objectives), reference)), objectives)
    return nsga2.hypervolume(vectors(list(trials), objectives), ref)


def plot_front(trials, objectives, path=None, front=None, title=None):
    """Scatter every trial in the plane of the first two objectives, the front (``front``,
    default: the non-dominated trials) joined in red; saved to ``path`` when given.
    Returns the matplotlib Figure."""
    objectives = objectives_of(objectives)[:2]
    if len(objectives) < 2:
        raise ScarletError("plot_front needs two objectives")
    trials = list(trials)
    front = pareto_front(trials, objectives) if front is None else list(front)
    def points(of):
        return [[trial_metrics(t)[o.name] for o in objectives] for t in of]

    with figure(path) as (fig, ax):
        front_panel(ax, points(trials), points(front), title=title, label="trials",
                    xlabel=f"{objectives[0].name} ({objectives[0].direction})",
                    ylabel=f"{objectives[1].name} ({objectives[1].direction})")
        legend(ax)
    return fig
