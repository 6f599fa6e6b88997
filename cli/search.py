"""``scarlet-tf search``: multi-objective evolutionary search of a trained supernet."""

from __future__ import annotations

import re

import click

from scarlet_tf.errors import ScarletError

from .options import (
    dataset_option,
    fast_first_trace,
    max_images_option,
    recal_batches_option,
    supernet_option,
)

_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmg]?)\s*$", re.IGNORECASE)
_SCALE = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}


def parse_size(text: str) -> int:
    """A count with an optional K/M/G suffix: ``365M``, ``0.365G``, ``365000000``."""
    match = _SIZE.match(str(text))
    if not match:
        raise ScarletError(f"cannot read size {text!r}; give e.g. 365M, 0.365G or 365000000")
    return round(float(match.group(1)) * _SCALE[match.group(2).lower()])


class Size(click.ParamType):
    """A count written as ``365M``, ``0.365G`` or ``365000000`` (converted to an int)."""
    name = "SIZE"

    def convert(self, value, param, ctx):
        try:
            return value if isinstance(value, int) else parse_size(value)
        except ScarletError as err:
            self.fail(str(err), param, ctx)


def build_problem(space, objectives, weights, max_madds, max_params, max_latency_ms,
                  latency_table):
    """The SearchProblem of a supernet run's space; fails fast on impossible requests."""
    from scarlet_tf.search import SearchProblem

    table = None
    if latency_table is not None:
        from scarlet_tf.latency.table import LatencyTable

        table = LatencyTable.load(latency_table)
        table.check_space(space)
    if weights is not None:
        try:
            weights = [float(w) for w in weights.split(",")]
        except ValueError:
            raise ScarletError(f"--weights: expected numbers like 0.6,0.4, got "
                               f"{weights!r}") from None
    return SearchProblem(space, objectives, max_madds=max_madds, max_params=max_params,
                         max_latency_ms=max_latency_ms, latency_table=table, weights=weights)


@click.command("search")
@supernet_option("A train-supernet output directory (its space is searched).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Search directory (an unfinished search there is resumed).")
@click.option("--max-madds", type=Size(), default=None, help="Mult-add limit, e.g. 365M.")
@click.option("--max-params", type=Size(), default=None, help="Parameter limit, e.g. 7M.")
@click.option("--max-latency-ms", type=float, default=None,
              help="Latency limit in ms, as `scarlet-tf benchmark` reports it (fastest run "
              "over fresh interpreters), predicted by --latency-table.")
@click.option("--latency-table", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Latency table JSON (scarlet-tf latency-table) of the supernet's space: "
              "its latency_ms predicts benchmark's latency_ms.")
@click.option("--objectives", default="accuracy,madds", show_default=True,
              help="Comma-separated: accuracy, loss, madds, params (params:max to maximize), "
                   "latency_ms.")
@click.option("--weights", default=None,
              help="Preferences among the objectives, e.g. 0.6,0.4 (weighted crowding).")
@click.option("--population", type=click.IntRange(min=2), default=50, show_default=True)
@click.option("--generations", type=click.IntRange(min=1), default=20, show_default=True,
              help="Generations, the random first one included.")
@click.option("--seed", type=int, default=0, show_default=True)
@dataset_option("Dataset to score on (its search split) [default: the supernet's].")
@recal_batches_option("Training batches for each candidate's BatchNorm recalibration.")
@max_images_option("Score each candidate on at most this many search-split images.")
@click.option("--overwrite", is_flag=True, help="Delete an existing search in --out first.")
@click.option("--truth", type=click.Choice(["nas-bench-macro"]), default=None,
              help="Judge the finished search by the benchmark (never used to choose): "
                   "true accuracy of every network, the pick's regret against the best "
                   "network within the limits, the front's true hypervolume.")
@fast_first_trace
def search(supernet_dir, out, objectives, weights, max_madds, max_params, max_latency_ms,
           latency_table, population, generations, seed, dataset, recal_batches, max_images,
           overwrite, truth):
    """Search the supernet's space with NSGA-II (a keras-tuner oracle) under constraints."""
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.search.truth import check_truth

    run = SupernetRun(supernet_dir)
    if truth is not None:
        check_truth(truth, run.space)
    problem = build_problem(run.space, objectives, weights, max_madds, max_params,
                            max_latency_ms, latency_table)
    for line in problem.idle_limits():
        click.echo(f"note: {line}")
    from scarlet_tf.evaluation.evaluator import describe_scored
    from scarlet_tf.search import run_search
    from scarlet_tf.search.report import best_record

    evaluator = run.evaluator(dataset, recal_batches=recal_batches, max_images=max_images)
    click.echo(f"scoring candidates with inherited weights on "
               f"{describe_scored(evaluator.scored)} (the first trial traces the evaluation "
               "once for all: about 10 s for a full-width space)")
    records = run_search(problem, evaluator.score_path, out, population=population,
                         generations=generations, seed=seed, overwrite=overwrite,
                         log=click.echo, scored=evaluator.scored, truth=truth)
    best = best_record(records, problem.score)
    if best is not None:
        click.echo(f"best: {best['arch']} accuracy {best['accuracy']:.4f} loss "
                   f"{best['loss']:.4f} mult-adds "
                   f"{best['madds'] / 1e6:.1f}M params {best['params'] / 1e6:.2f}M; "
                   f"{len(records)} evaluated; outputs in {out}")

