"""A finished search judged by NAS-Bench-Macro's trained accuracies (never used to choose).

:func:`judge` looks up the benchmark's mean accuracy of every evaluated network and
answers what the user of the search cares about: the true accuracy of the pick (the
feasible record with the best supernet score, the one ``best.json`` names), the best
network of the whole benchmark within the same limits, the regret between them, and how
much of the benchmark's true front (accuracy against mult-adds) the search's front covers,
as a ratio of normalized hypervolumes (:meth:`SearchProblem.hypervolume`).
"""

from __future__ import annotations

from scarlet_tf.errors import ScarletError
from scarlet_tf.evaluation import nas_bench_macro as bench
from scarlet_tf.search.problem import SearchProblem
from scarlet_tf.search.report import best_record
from scarlet_tf.space.spaces import get_family, get_space

TRUTHS = (bench.SPACE,)


def check_truth(truth: str, space) -> None:
    """Raise ScarletError unless ``truth`` names a benchmark of ``space``: the benchmark's
    own networks (width 1.0, 32 px, 10 classes), whose accuracies it holds."""
    if truth not in TRUTHS:
        raise ScarletError(f"unknown truth {truth!r}; allowed: {', '.join(TRUTHS)}")
    if space.name != bench.SPACE:
        raise ScarletError(f"--truth {truth} needs a search of the {bench.SPACE} space, "
                           f"not {space.name}")
    if space != get_space(bench.SPACE):
        raise ScarletError(f"--truth {truth} holds the accuracies of its networks at width 1.0, "
                           f"32 px, 10 classes; this supernet's are {space.describe()}")


def judge(records: list[dict], problem: SearchProblem, truth: str = bench.SPACE,
          choose=None) -> dict:
    """Add ``"code"`` and ``"truth"`` (benchmark mean accuracy in [0, 1]) to every record
    and return the judgement: ``pick`` (``choose(records)``, by default the search's own
    pick) and ``best`` (code, truth, madds; pick also its
    supernet ``accuracy``), ``regret`` (best minus pick truth, accuracy units),
    ``front_hypervolume`` and ``benchmark_hypervolume`` (normalized, accuracy against
    mult-adds within the mult-add limit) and ``hypervolume_fraction``."""
    check_truth(truth, problem.space)
    family, entries = get_family(problem.space), bench.entries()
    for record in records:
        record["code"] = family.code(family.parse(record["arch"]))
        record["truth"] = entries[record["code"]].mean
    feasible = [r for r in records if r["feasible"]]
    pick = choose(records) if choose else best_record(records, problem.score)
    codes = feasible_codes(problem)
    best = max(codes, key=lambda c: (entries[c].mean, c == bench.canonical(c)))
    flat = SearchProblem(problem.space, "accuracy,madds", max_madds=problem.limits.get("madds"))
    front = flat.hypervolume([{"accuracy": r["truth"], "madds": r["madds"]}
                              for r in feasible if r["pareto"]])
    ceiling = flat.hypervolume([{"accuracy": entries[c].mean, "madds": entries[c].flops}
                                for c in codes])
    return {"truth": truth, "evaluated": len(records), "benchmark_front": _front(codes),
            "pick": pick and {k: pick[k] for k in ("code", "accuracy", "loss", "truth", "madds")
                              if k in pick},
            "best": {"code": best, "truth": entries[best].mean, "madds": entries[best].flops},
            "regret": pick and entries[best].mean - pick["truth"],
            "front_hypervolume": front, "benchmark_hypervolume": ceiling,
            "hypervolume_fraction": front / ceiling if ceiling else None}


def feasible_codes(problem: SearchProblem) -> list[str]:
    """Every benchmark code whose analytic costs meet the problem's limits."""
    family = get_family(problem.space)
    return [code for code in bench.entries()
            if problem.is_feasible(problem.costs(problem.space.encode(family.parse(code))))]


def _front(codes: list[str]) -> list[dict]:
    """The benchmark's true front among ``codes``: code, madds, truth, by madds."""
    entries, front = bench.entries(), []
    for code in sorted(codes, key=lambda c: (entries[c].flops, -entries[c].mean)):
        if not front or entries[code].mean > front[-1]["truth"]:
            front.append({"code": code, "madds": entries[code].flops,
                          "truth": entries[code].mean})
    return front


def summary_lines(judged: dict) -> list[str]:
    """The judgement in a few printed lines (percent and points)."""
    best = judged["best"]
    lines = [f"judged by {judged['truth']} (never used to choose): best network within the "
             f"limits {best['code']} {100 * best['truth']:.2f}% at "
             f"{best['madds'] / 1e6:.1f}M mult-adds"]
    pick = judged["pick"]
    if pick:
        lines.append(f"  pick {pick['code']}: {100 * pick['truth']:.2f}% (supernet "
                     f"{pick['accuracy']:.4f}, {pick['madds'] / 1e6:.1f}M): regret "
                     f"{100 * judged['regret']:.2f} points")
    lines.append(f"  the front's true hypervolume is {100 * judged['hypervolume_fraction']:.1f}%"
                 f" of the benchmark's true front ({judged['evaluated']} networks evaluated)")
    return lines
