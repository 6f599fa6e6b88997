"""``scarlet-tf rank`` as a Python call: a supernet run ranked against a truth, reports written.

:func:`rank_on_truths` ranks against CSV files and train-subnet directories;
:func:`rank_on_nas_bench_macro` against the shipped NAS-Bench-Macro (resumable, with the
free baselines and the seed-to-seed ceiling). Both write ``rank.json`` (with what was
scored, :attr:`Evaluator.scored`) and ``rank.png`` to ``out`` and return the report;
:func:`report_saved_scores` writes the benchmark's report from saved scores alone, and
:func:`report_table` prints it.
"""

from __future__ import annotations

import math
from pathlib import Path

from scarlet_tf.errors import ScarletError
from scarlet_tf.files import read_json, refuse_other_settings, write_json

ROWS = (("supernet", "supernet"), ("supernet_loss", "supernet loss"), ("depth", "kept layers"),
        ("flops", "FLOPs"), ("params", "params"), ("seed", "seed vs seed"))
KINDS = {"same_layers": "same kept layers", "same_depth": "same depth, other layers",
         "across_depths": "two depths", "all_pairs": "all pairs"}
PAIR_ROWS = (("supernet_loss", "supernet loss"), ("depth_then_loss", "kept layers, then loss"),
             ("flops", "FLOPs"), ("depth", "kept layers"), ("seed", "seed vs seed"))


def rank_on_truths(run, truth, out: Path, *, dataset=None, recal_batches, max_images=None,
                   top_k=None) -> dict:
    """Score every architecture of ``truth`` (CSV files, train-subnet directories) on
    ``run`` (a SupernetRun); write rank.json, truth.csv and rank.png to ``out``."""
    from scarlet_tf.evaluation.ranking import rank_report, read_truth, scatter_plot, write_truth

    pairs = read_truth(truth, run.space)
    evaluator = run.evaluator(dataset, recal_batches=recal_batches, max_images=max_images)
    report = {"supernet": str(run.directory), "dataset": dataset or run.dataset,
              "stabilizer": run.settings["stabilizer"], "scored": evaluator.scored,
              **rank_report(evaluator, pairs, top_k)}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "rank.json", report)
    write_truth(pairs, out / "truth.csv")
    scatter_plot(report, out / "rank.png", report["stabilizer"])
    return report


def rank_on_nas_bench_macro(run, out: Path, *, dataset=None, recal_batches, max_images=None,
                            archs: int | None = 1000, siblings: int = 50, seed: int = 0,
                            progress=None) -> dict:
    """Rank a nas-bench-macro supernet run on ``archs`` depth-stratified networks of the
    benchmark (None: all 3,969) and ``siblings`` other codes of them; resumes the scores
    in ``out`` unless they were made with other settings. ``progress(done, total, row)``
    follows each network."""
    from scarlet_tf.evaluation import nas_bench_macro
    from scarlet_tf.evaluation.macro_ranking import rank_on_benchmark
    from scarlet_tf.training.checkpoints import read_state

    if run.space.name != nas_bench_macro.SPACE:
        raise ScarletError(f"{run.directory} is a supernet of {run.space.name}; --truth "
                           f"nas-bench-macro needs one trained with --space nas-bench-macro")
    codes = nas_bench_macro.depth_stratified(archs, seed)
    step = (read_state(run.directory / "state.json") or {}).get("step")
    evaluator = run.evaluator(dataset, recal_batches=recal_batches, max_images=max_images)
    source = {"supernet": str(run.directory.resolve()), "step": step,
              "dataset": dataset or run.dataset, "recal_batches": recal_batches,
              "max_images": max_images, "archs": len(codes),
              "seed": seed, "siblings": siblings, "scored": evaluator.scored}
    check_source(out, source)
    rows, sibling_rows = rank_on_benchmark(evaluator, codes, out, siblings=siblings, seed=seed,
                                           progress=progress)
    return _write_benchmark_report(out, source, run.settings["stabilizer"], rows, sibling_rows)


def report_saved_scores(out: Path, stabilizer: str) -> dict:
    """rank.json and rank.png from the scores a :func:`rank_on_nas_bench_macro` run saved
    in ``out``, without its supernet (a run whose weights are gone). Every network of the
    sample must be scored; the siblings scored so far are reported, their count in
    ``siblings_scored``."""
    from scarlet_tf.evaluation import nas_bench_macro
    from scarlet_tf.evaluation.macro_ranking import read_scores

    source = read_json(out / "source.json")
    if source is None:
        raise ScarletError(f"{out} holds no source.json: it is not a nas-bench-macro ranking")
    codes = set(nas_bench_macro.depth_stratified(source["archs"], source["seed"]))
    rows = [r for r in read_scores(out / "scores.csv") if r["code"] in codes]
    if len(rows) < len(codes):
        raise ScarletError(f"{out / 'scores.csv'} scores {len(rows)} of the sample's "
                           f"{len(codes)} networks; finish them with the supernet first")
    sibling_rows = read_scores(out / "siblings.csv")
    return _write_benchmark_report(out, {**source, "siblings_scored": len(sibling_rows)},
                                   stabilizer, rows, sibling_rows)


def _write_benchmark_report(out: Path, source: dict, stabilizer: str, rows: list[dict],
                            sibling_rows: list[dict]) -> dict:
    """Write rank.json (``source``, the stabilizer and the benchmark report) and rank.png."""
    from scarlet_tf.evaluation.macro_ranking import benchmark_report, scatter

    report = {**source, "stabilizer": stabilizer,
              **benchmark_report(rows, sibling_rows, seed=source["seed"])}
    write_json(out / "rank.json", report)
    scatter(rows, out / "rank.png", f"stabilizer {stabilizer}, step {source['step']}")
    return report


def check_source(out: Path, source: dict) -> None:
    """Refuse to resume scores made with other settings (another supernet checkpoint,
    sample, recalibration or scored images): they would mix two rankers in one file."""
    refuse_other_settings(f"the scores in {out}", read_json(out / "source.json", source), source,
                          f"give another --out, or delete {out} to start over")
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "source.json", source)


def report_table(report: dict) -> str:
    """The rankers side by side: tau and rho with 95% intervals, tau in the truth's top
    10%, the truth of each ranker's top 1 and top 10 (regret to the benchmark's best)."""
    lines = [(f"{report['networks']} networks of NAS-Bench-Macro; best mean accuracy "
              f"{100 * report['best_truth']:.2f}%"),
             (f"{'ranker':<13} {'Kendall tau [95%]':<22} {'Spearman rho [95%]':<22} "
              f"{'tau top10%':>10} {'top-1 (regret)':>16} {'top-10 (regret)':>16}")]
    for key, name in ROWS:
        r = report["rankers"][key]
        top = lambda k: f"{100 * r[f'top{k}_truth']:.2f} ({100 * r[f'top{k}_regret']:.2f})"  # noqa
        lines.append(f"{name:<13} {_interval(r['kendall_tau'], r['kendall_tau_ci']):<22} "
                     f"{_interval(r['spearman_rho'], r['spearman_rho_ci']):<22} "
                     f"{_number(r['top10pct_kendall_tau']):>10} {top(1):>16} {top(10):>16}")
    lines.append("tau inside one depth, supernet accuracy / loss; FLOPs; seed vs seed: "
                 + ", ".join(f"{depth} layers {_number(t['supernet'])} / "
                             f"{_number(t['supernet_loss'])}; {_number(t['flops'])}; "
                             f"{_number(t['seed'])} ({t['networks']})"
                             for depth, t in report["within_depth"].items()))
    lines.append("tau-a over pairs of one kind (a tie counts 0), "
                 + "; ".join(label for _, label in PAIR_ROWS) + ": "
                 + ", ".join(f"{KINDS[kind]} ({t['pairs']} pairs) "
                             + "; ".join(_number(t[k]["tau"]) for k, _ in PAIR_ROWS)
                             for kind, t in report["pair_kinds"].items()))
    siblings = report["siblings"]
    if siblings:
        lines.append(f"two codes of one network ({siblings['pairs']} pairs): supernet scores "
                     f"differ by {100 * siblings['mean_gap']:.2f} points on average (max "
                     f"{100 * siblings['max_gap']:.2f}); two random networks: "
                     f"{100 * siblings['mean_gap_random_pairs']:.2f}")
    return "\n".join(lines)


def _number(value) -> str:
    """A statistic to 3 places; 'n/a' where it is undefined (a constant ranker)."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def _interval(value, interval) -> str:
    return f"{_number(value)} [{_number(interval[0])}, {_number(interval[1])}]"
