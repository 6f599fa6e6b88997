"""ParetoOracle (NSGA-II) against keras-tuner's RandomSearch and BayesianOptimization.

Each method gets the same hyperparameter space, the same list of two objectives (the
keras-tuner oracles optimize its summed form, their only multi-objective mode) and the
same trial budget, on ZDT1, ZDT2, ZDT3 (30 ``Float`` variables in [0, 1]) and a mixed
problem (a ``Choice`` of model family with conditional ``Int`` / ``Float`` / ordered
``Choice`` hyperparameters under it, plus log-scale ``Float``, stepped ``Float`` and
``Boolean`` ones; maximize a synthetic accuracy, minimize log10 parameters). Trials are
cheap functions in a custom ``run_trial`` (no Keras training).

Printed, per problem: the hypervolume of each method's final feasible front (one
reference point per problem, the same for every method) per seed, mean, the ratios
ours / random and ours / Bayesian, wins; per method: the oracle's overhead per trial in
ms (search wall time minus evaluation time, over trials: proposals, bookkeeping and
keras-tuner's own trial files) and the peak RSS of the process that ran it (each
method runs in its own process). Writes results/pareto_oracle/{runs.csv,summary.json,
table.md} (table.md: the study README's tables).

Resumable: each search appends its row to ``runs.csv`` as it finishes, and a search
whose (method, problem, seed, budget) row is already there is not run again, so an
interrupted run continues where it stopped; ``--rerun pareto`` drops a method's rows
first (e.g. after changing the oracle).

keras-tuner's BayesianOptimization takes seconds of oracle time per trial here (a
Gaussian process refit with 20 restarts and 50 L-BFGS-B restarts of its acquisition,
after 3 x dimensions random trials), so ``--bayesian-seeds`` can run it on fewer seeds.

Usage: python studies/pareto_oracle/study.py [--seeds 5] [--bayesian-seeds N] [--only-seeds 4,3]
       [--population 20] [--generations 10] [--rerun METHODS] [--report]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # studies/pareto_oracle/study.py -> the repository
sys.path.insert(0, str(ROOT))

# default methods; --methods pareto-random-start runs ours without the default candidate
METHODS = ("pareto", "random", "bayesian")
PROBLEMS = ("zdt1", "zdt2", "zdt3", "mixed")
# reference points (objectives' own units): ZDT's f1 spans [0, 1] and f2 of a random
# point is about 1..7, so (1.1, 11) scores both convergence and spread; mixed: accuracy
# 0 (max), log10 params 8 (min; the largest model has about 10^7.5)
REFERENCE = {"zdt1": (1.1, 11.0), "zdt2": (1.1, 11.0), "zdt3": (1.1, 11.0),
             "mixed": (0.0, 8.0)}
COLUMNS = ("method", "problem", "seed", "budget", "trials", "front", "hypervolume",
           "overhead_ms")


# --- problems ------------------------------------------------------------------------


def zdt_space(n: int = 30):
    """A keras-tuner space of ``n`` ``Float`` variables in [0, 1] (ZDT's decision vector)."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    for i in range(n):
        hp.Float(f"x{i:02d}", 0.0, 1.0)
    return hp


def zdt(name: str, values: dict) -> dict:
    """ZDT1/2/3 (Zitzler, Deb & Thiele 2000): ``f1``, ``f2``, both minimized."""
    x = [values[k] for k in sorted(values)]
    f1 = x[0]
    g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
    h = {"zdt1": 1.0 - math.sqrt(f1 / g), "zdt2": 1.0 - (f1 / g) ** 2,
         "zdt3": 1.0 - math.sqrt(f1 / g) - f1 / g * math.sin(10 * math.pi * f1)}[name]
    return {"f1": f1, "f2": g * h}


FAMILY = {"mlp": (0.93, 2.5), "cnn": (0.985, 3.0), "tree": (0.95, 2.0)}  # ceiling, best -log10 lr


def mixed_space():
    """Model family with conditional hyperparameters, plus shared ones."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    hp.Choice("family", list(FAMILY))
    with hp.conditional_scope("family", ["mlp"]):
        hp.Int("units", 8, 1024, sampling="log")
        hp.Int("layers", 1, 6)
    with hp.conditional_scope("family", ["cnn"]):
        hp.Choice("filters", [8, 16, 32, 64, 128])
        hp.Choice("kernel", [3, 5, 7])
        hp.Int("depth", 1, 8)
    with hp.conditional_scope("family", ["tree"]):
        hp.Int("trees", 10, 1000, step=10)
        hp.Int("max_depth", 2, 16)
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.Float("dropout", 0.0, 0.5, step=0.05)
    hp.Boolean("augment")
    return hp


def mixed(values: dict) -> dict:
    """``accuracy`` (max) and ``log_params`` (min) of a made-up model family."""
    family = values["family"]
    if family == "mlp":
        params = values["layers"] * values["units"] ** 2 + 784 * values["units"]
    elif family == "cnn":
        params = values["depth"] * values["kernel"] ** 2 * values["filters"] ** 2 * 4
    else:
        params = values["trees"] * 2 ** min(values["max_depth"], 14)
    ceiling, best_lr = FAMILY[family]
    capacity = 1.0 - math.exp(-math.log10(params) / 2.5)
    penalty = 0.04 * (math.log10(values["lr"]) + best_lr) ** 2
    penalty += 0.2 * (values["dropout"] - 0.2) ** 2 - (0.01 if values["augment"] else 0.0)
    if family == "cnn":
        penalty += 0.01 * (values["kernel"] != 3)
    return {"accuracy": ceiling * capacity - penalty, "log_params": math.log10(params)}


def problem(name: str):
    """(space, evaluate(values) -> metrics, objectives)."""
    import keras_tuner as kt

    if name == "mixed":
        return mixed_space(), mixed, [kt.Objective("accuracy", "max"),
                                      kt.Objective("log_params", "min")]
    return zdt_space(), lambda values: zdt(name, values), [kt.Objective("f1", "min"),
                                                           kt.Objective("f2", "min")]


# --- one search ----------------------------------------------------------------------


def make_oracle(method: str, space, objectives, budget: int, population: int, seed: int):
    """The oracle of ``method`` (pareto, pareto-random-start, random, bayesian) for a budget."""
    import keras_tuner as kt

    from scarlet_tf.search import ParetoOracle

    if method in ("pareto", "pareto-random-start"):
        return ParetoOracle(objectives, space, population=population,
                            generations=budget // population, seed=seed,
                            start_from_defaults=method == "pareto")
    oracle_class = {"random": kt.oracles.RandomSearchOracle,
                    "bayesian": kt.oracles.BayesianOptimizationOracle}[method]
    return oracle_class(objective=objectives, hyperparameters=space, max_trials=budget,
                        seed=seed + 1)


def one_search(method, name, seed, budget, population, work) -> dict:
    """Run one search; hypervolume of its final feasible front, trials, overhead (ms)."""
    import keras_tuner as kt

    from scarlet_tf.search import front

    space, evaluate, objectives = problem(name)
    oracle = make_oracle(method, space, objectives, budget, population, seed)
    spent = [0.0]

    class FunctionTuner(kt.engine.base_tuner.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            start = time.perf_counter()
            metrics = evaluate(trial.hyperparameters.values)
            metrics["multi_objective"] = self.oracle.objective.get_value(metrics)
            spent[0] += time.perf_counter() - start
            return metrics

    tuner = FunctionTuner(oracle, directory=str(work), project_name=f"{method}-{name}-{seed}",
                          overwrite=True)
    start = time.perf_counter()
    tuner.search(verbose=0)
    wall = time.perf_counter() - start
    trials = [t for t in oracle.trials.values() if t.status == "COMPLETED"]
    best = front.pareto_front(trials, objectives)
    return {"method": method, "problem": name, "seed": seed, "budget": budget,
            "trials": len(trials),
            "front": len(best),
            "hypervolume": front.hypervolume(best, objectives, REFERENCE[name]),
            "overhead_ms": 1e3 * (wall - spent[0]) / max(len(trials), 1)}


def run_method(method, searches, budget, population, path) -> float:
    """``searches`` ((problem, seed) pairs) of one method, in this process, each row
    appended to the CSV at ``path`` as it finishes: the peak RSS (MiB)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as work:
        for name, seed in searches:
            if any((r["method"], r["problem"], r["seed"]) == (method, name, seed)
                   for r in read_rows(path, budget)):
                continue  # finished meanwhile by another process (--only-seeds)
            row = one_search(method, name, seed, budget, population, work)
            append_rows(path, [row])
            print(f"  {method:8s} {name} seed {seed}: hv {row['hypervolume']:.4f} "
                  f"({row['overhead_ms']:.1f} ms/trial)", flush=True)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- rows on disk --------------------------------------------------------------------


def append_rows(path: Path, rows: list[dict]):
    """Append rows (writing the header first into a new file)."""
    new = not path.exists()
    with open(path, "a", newline="") as stream:
        writer = csv.DictWriter(stream, COLUMNS)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def read_rows(path: Path, budget: int) -> list[dict]:
    """The rows in ``path`` for this budget, typed."""
    if not path.exists():
        return []
    with open(path, newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r.get("budget") == str(budget)]
    return [{**r, "seed": int(r["seed"]), "budget": budget, "trials": int(r["trials"]),
             "front": int(r["front"]), "hypervolume": float(r["hypervolume"]),
             "overhead_ms": float(r["overhead_ms"])} for r in rows]


def drop_rows(path: Path, budget: int, methods: set):
    """Rewrite ``path`` without the rows of ``methods`` at this budget."""
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    path.unlink()
    append_rows(path, [r for r in rows
                       if not (r["method"] in methods and r.get("budget") == str(budget))])


# --- report --------------------------------------------------------------------------


def hypervolumes(rows) -> dict:
    """``{(method, problem, seed): hypervolume}``."""
    return {(r["method"], r["problem"], r["seed"]): r["hypervolume"] for r in rows}


def per_seed(hv: dict, method: str, name: str, seeds) -> tuple[list, float | None]:
    """Hypervolume per seed (None: not run) and their mean (None: no seed ran)."""
    values = [hv.get((method, name, s)) for s in seeds]
    done = [v for v in values if v is not None]
    return values, (sum(done) / len(done) if done else None)


def mean_overhead(rows, method: str) -> float | None:
    """Mean oracle overhead per trial (ms) over the method's rows (None: no rows)."""
    mine = [r["overhead_ms"] for r in rows if r["method"] == method]
    return sum(mine) / len(mine) if mine else None


def table(rows, problems, seeds, methods) -> list[str]:
    """Hypervolume per seed (``-``: not run), mean, and (when ours ran) ratios and wins
    over common seeds."""
    hv = hypervolumes(rows)
    lines = [f"{'problem':8s} {'method':9s} " + " ".join(f"{'seed ' + str(s):>8s}" for s in seeds)
             + "     mean"]
    for name in problems:
        for method in methods:
            values, mean = per_seed(hv, method, name, seeds)
            lines.append(f"{name:8s} {method:9s} " + " ".join(
                "       -" if v is None else f"{v:8.4f}" for v in values + [mean]))
        if "pareto" not in methods:
            continue
        ratios = []
        for method in [m for m in methods if m != "pareto"]:
            common = [s for s in seeds if (method, name, s) in hv and ("pareto", name, s) in hv]
            if not common:
                continue
            ours, theirs = (per_seed(hv, m, name, common)[1] for m in ("pareto", method))
            wins = sum(hv["pareto", name, s] > hv[method, name, s] for s in common)
            ratios.append(f"ours/{method} {ours / theirs:.3f} (wins {wins}/{len(common)})")
        if ratios:
            lines.append(f"{name:8s} ratio " + ", ".join(ratios))
    return lines


NAMES = {"pareto": "ParetoOracle (ours)", "random": "RandomSearch",
         "bayesian": "BayesianOptimization",
         "pareto-random-start": "ours, random first generation"}


def markdown(rows, problems, seeds, methods) -> str:
    """The study README's tables: hypervolume per problem, method and seed (``–``: not run),
    mean; overhead per trial (ms, mean over every row of the method)."""
    hv = hypervolumes(rows)
    lines = ["| problem | oracle | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |",
             "|---|---|" + "---:|" * (len(seeds) + 1)]
    for name in problems:
        for method in methods:
            values, mean = per_seed(hv, method, name, seeds)
            cells = ["–" if v is None else f"{v:.3f}" for v in values + [mean]]
            lines.append(f"| {name.upper() if name != 'mixed' else name} | {NAMES[method]} | "
                         + " | ".join(cells) + " |")
    lines += ["", "| oracle | overhead per trial (ms, mean) |", "|---|---:|"]
    for method in methods:
        overhead = mean_overhead(rows, method)
        if overhead is not None:
            lines.append(f"| {NAMES[method]} | {overhead:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Run the missing searches (or only report), then print and write the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--bayesian-seeds", type=int, default=None,
                        help="Seeds for BayesianOptimization (minutes per search) "
                             "[default: --seeds].")
    parser.add_argument("--only-seeds", default=None,
                        help="Run only these seeds, in this order (e.g. '4,3' in a second "
                             "process on another core); the table shows all of --seeds.")
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--out", default=str(ROOT / "results" / "pareto_oracle"))
    parser.add_argument("--report", action="store_true",
                        help="Run nothing: tables from the rows already in OUT/runs.csv.")
    parser.add_argument("--rerun", default="",
                        help="Methods whose rows in OUT/runs.csv are dropped and run again.")
    args = parser.parse_args(argv)
    if args.report and args.rerun:
        parser.error("--report runs nothing, so --rerun would only delete rows; use one")
    problems, seeds = args.problems.split(","), list(range(args.seeds))
    budget = args.population * args.generations
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.rerun and (out / "runs.csv").exists():
        drop_rows(out / "runs.csv", budget, set(args.rerun.split(",")))
    rows = read_rows(out / "runs.csv", budget)
    done = {(r["method"], r["problem"], r["seed"]) for r in rows}
    print(f"budget {budget} trials ({args.population} x {args.generations} generations), "
          f"seeds {seeds}; {len(rows)} searches already in {out / 'runs.csv'}", flush=True)
    peaks, seconds = {}, {}
    context = multiprocessing.get_context("spawn")
    for method in args.methods.split(","):
        mine = seeds[:args.bayesian_seeds] if method == "bayesian" else seeds
        if args.only_seeds:
            mine = [int(s) for s in args.only_seeds.split(",") if int(s) in mine]
        searches = [(n, s) for n in problems for s in mine if (method, n, s) not in done]
        if not searches or args.report:
            continue
        start = time.perf_counter()
        with context.Pool(1) as pool:
            peaks[method] = pool.apply(run_method, (method, searches, budget,
                                                    args.population, out / "runs.csv"))
        seconds[method] = time.perf_counter() - start
    rows = read_rows(out / "runs.csv", budget)
    lines = [(f"hypervolume of the final feasible front (reference {REFERENCE}), budget "
              f"{budget} trials")]
    lines += table(rows, problems, seeds, args.methods.split(","))
    for method in args.methods.split(","):
        overhead = mean_overhead(rows, method)
        if overhead is None:
            continue
        peak = (f", peak RSS {peaks[method]:.0f} MiB, {seconds[method]:.0f} s in all"
                if method in peaks else " (rows from an earlier run)")
        lines.append(f"{method:9s} overhead {overhead:7.2f} ms/trial "
                     f"(mean){peak}")
    print("\n".join(lines))
    (out / "table.md").write_text(markdown(rows, problems, seeds, args.methods.split(",")))
    (out / "summary.json").write_text(json.dumps(
        {"budget": budget, "population": args.population, "seeds": seeds,
         "reference": REFERENCE, "peak_rss_mib": peaks, "seconds": seconds,
         "table": lines}, indent=1) + "\n")


if __name__ == "__main__":
    main()
