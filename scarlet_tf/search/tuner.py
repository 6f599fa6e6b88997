"""``SearchTuner``: a keras-tuner BaseTuner whose trial scores an architecture (no training).

``run_search(problem, scorer, out)`` is the whole search: oracle + tuner in ``out/tuner``
(keras-tuner's own files: a second call resumes), then the reports in ``out``. With
``KERASTUNER_TUNER_ID`` / ``KERASTUNER_ORACLE_IP`` / ``KERASTUNER_ORACLE_PORT`` set, the
same call is keras-tuner's chief (``KERASTUNER_TUNER_ID=chief``: serves the oracle over
gRPC, then writes the reports) or a worker (evaluates the trials it is given).
"""

from __future__ import annotations

import time

import keras_tuner as kt

from scarlet_tf.search import report
from scarlet_tf.search.oracle import EvolutionOracle
from scarlet_tf.search.truth import check_truth, judge, summary_lines

IDLE_WAIT_S = 0.05  # pause before asking again while a generation is being evaluated


class SearchTuner(kt.engine.base_tuner.BaseTuner):
    """Runs each trial as ``scorer(path) -> {"accuracy", "loss"}``, ``path`` the
    candidate's choice indices (ints ``[num_layers]``, parsed once by the oracle; e.g.
    ``Evaluator(supernet).score_path``), and reports it with the analytic costs: ``madds``,
    ``params`` and, with a latency table, ``latency_ms``. ``log`` gets one line per trial."""

    def __init__(self, oracle: EvolutionOracle, scorer, directory, project_name="tuner",
                 overwrite=False, log=print):
        self.problem, self.scorer, self._asked, self.log = oracle.problem, scorer, False, log
        super().__init__(oracle, directory=str(directory), project_name=project_name,
                         overwrite=overwrite)

    def run_trial(self, trial, *args, **kwargs) -> dict:
        start = time.perf_counter()
        path = self.problem.path_of(trial.hyperparameters.values)
        metrics = {**self.scorer(path), **self.problem.costs(path)}
        metrics = {name: float(value) for name, value in metrics.items()}
        self.log(f"  trial {trial.trial_id}: accuracy {metrics['accuracy']:.4f}, "
                 f"{metrics['madds'] / 1e6:.1f}M mult-adds ({time.perf_counter() - start:.1f} s)")
        # keras-tuner requires its scalar for a list of objectives; the oracle ranks by front.
        metrics["multi_objective"] = self.oracle.objective.get_value(metrics)
        return metrics

    def pre_create_trial(self):
        if self._asked:  # the last request got no trial: the generation is still running
            time.sleep(IDLE_WAIT_S)
        self._asked = True

    def on_trial_begin(self, trial):
        self._asked = False

    @property
    def is_worker(self) -> bool:
        """True in a gRPC worker (its oracle is a client of the chief's)."""
        return not isinstance(self.oracle, EvolutionOracle)


def run_search(problem, scorer, out, *, population=50, generations=20, seed=0,
               overwrite=False, log=print, scored=None, truth=None,
               **oracle_kwargs) -> list[dict]:
    """Search ``problem`` scoring candidates with ``scorer(path) -> {"accuracy", ...}``
    (``path``: choice indices, ints ``[num_layers]``; e.g. ``Evaluator.score_path``,
    ``SyntheticScorer.score_path``); resumable; returns the
    records of :meth:`EvolutionOracle.records` (empty on a gRPC worker).

    Writes keras-tuner's state to ``out/tuner`` and, at the end, pareto.json,
    history.csv, pareto.png and best.json to ``out``. ``scored`` (e.g.
    :attr:`Evaluator.scored <scarlet_tf.evaluation.evaluator.Evaluator>`: the images the
    scores are computed on) is recorded in pareto.json. ``truth="nas-bench-macro"``
    judges the finished search by the benchmark (:func:`scarlet_tf.search.truth.judge`:
    records get ``code`` and ``truth``, the reports the judgement); it never chooses.
    """
    if truth is not None:
        check_truth(truth, problem.space)
    if overwrite:
        report.remove(out)
    oracle = EvolutionOracle(problem, population=population, generations=generations,
                             seed=seed, log=log, **oracle_kwargs)
    tuner = SearchTuner(oracle, scorer, out, overwrite=overwrite, log=log)
    tuner.search()
    if tuner.is_worker:
        return []
    records = oracle.records()
    judged = judge(records, problem, truth) if truth is not None else None
    report.write(out, records, problem, scored, judged)
    if judged is not None:
        for line in summary_lines(judged):
            log(line)
    return records
