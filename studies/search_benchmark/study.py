"""Does the search hand back the best network under a FLOPs limit? Judged by NAS-Bench-Macro.

At each FLOPs limit (the benchmark's 10/25/50/75% quantiles) and seed, seven pickers:

* ``supernet-nsga2``: ``run_search`` (the NSGA-II keras-tuner oracle of ``scarlet-tf
  search``) scoring candidates on the supernet, judged with ``truth="nas-bench-macro"``;
* ``supernet-random``: as many distinct random networks within the limit, scored by the
  same supernet, the best score picked (ties: the cheapest);
* ``supernet-nsga2-tied``, ``supernet-random-tied``: the same evaluated networks, the
  pick made by :func:`tied_largest` (the most mult-adds among scores within one standard
  error of the best) instead of the best score;
* ``supernet-nsga2-loss``, ``supernet-random-loss``: the same two searches scoring by
  the supernet's mean loss (``--objectives loss,madds``), the ranking study's primary
  score (chosen there by test-retest, before any ranking);
* ``free-rule``: the network with the most kept layers, then the most FLOPs (no scores;
  one pick per limit, the same for every seed).

The truth is read only to judge. Supernet scores are deterministic (BatchNorm
recalibrated on fixed batches, fixed images), so each network is scored once and kept in
``scores.csv`` (resumable; the searches read it back), and the wall time of a search is
its evaluations times the measured seconds per score. Every setting is pinned here and
written to ``settings.json``:

    python studies/search_benchmark/study.py --supernet runs/nas_bench_macro/learnable-e3 \
        --reuse results/nas_bench_macro/learnable-e3   # that ranking's scores, checked
    python studies/search_benchmark/study.py --only report

Outputs in ``--out``: ``picks.csv`` (method, seed, max_flops, code), ``results.csv`` (one
row per pick with its truth and regret), ``scores.csv``, ``summary.json``, ``table.md``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

import scarlet_tf

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
LIMITS = (36_839_936, 45_539_840, 55_398_912, 65_415_680)  # 10/25/50/75% of all codes' FLOPs
SEEDS = (0, 1, 2)
SEARCH = {"population": 20, "generations": 10}  # at most 200 evaluations per search
SCORING = {"recal_batches": 20, "max_images": 2500}  # the ranking study's precision
METHODS = ("supernet-nsga2", "supernet-random", "supernet-nsga2-tied", "supernet-random-tied",
           "supernet-nsga2-loss", "supernet-random-loss", "free-rule")
FIELDS = ("method", "seed", "max_flops", "code", "truth", "supernet", "madds", "best_code",
          "best_truth", "regret", "hypervolume_fraction", "evaluations")


class CachedScorer:
    """``Evaluator.score_path`` by code (a search's path or a code string), each network
    scored once and appended to ``path``."""

    def __init__(self, run, path: Path):
        from scarlet_tf.files import RowWriter, read_rows
        from scarlet_tf.space.spaces import get_family

        self.family, self.space = get_family(run.space), run.space
        rows = read_rows(path)
        self.cache = {r["code"]: {"accuracy": float(r["accuracy"]), "loss": float(r["loss"])}
                      for r in rows}
        self.seconds = [float(r["seconds"]) for r in rows if r["seconds"] != "nan"]
        self.writer = RowWriter(path, ("code", "accuracy", "loss", "seconds"), rows)
        self.evaluator = run.evaluator(str(ARCHIVE), **SCORING)

    def __call__(self, path) -> dict:
        code = path if isinstance(path, str) else self.family.code(self.space.decode(path))
        if code not in self.cache:
            start = time.perf_counter()
            self.cache[code] = self.evaluator.score(code)
            self.seconds.append(time.perf_counter() - start)
            self.writer.write({"code": code, **self.cache[code], "seconds": self.seconds[-1]})
        return self.cache[code]

    def reuse(self, ranking: Path, run) -> int:
        """Take the scores of a ``scarlet-tf rank --truth nas-bench-macro`` folder made on
        the same checkpoint at the same precision (seconds recorded as nan); two of them
        are scored again first and must agree to one image. Returns how many were new."""
        from scarlet_tf.files import read_json, read_rows
        from scarlet_tf.training.checkpoints import read_state

        source = read_json(ranking / "source.json", {})
        step = (read_state(run.directory / "state.json") or {}).get("step")
        if (Path(source.get("supernet", "")).resolve(), source.get("step")) != (
                run.directory.resolve(), step) or any(
                source.get(k) != v for k, v in SCORING.items()):
            sys.exit(f"error: {ranking} was scored on another checkpoint or precision")
        rows = [r for r in read_rows(ranking / "scores.csv") if r["code"] not in self.cache]
        for r in rows[:2]:
            again = self(r["code"])
            if abs(again["accuracy"] - float(r["supernet"])) > 1.01 / SCORING["max_images"]:
                sys.exit(f"error: {r['code']} scores {again['accuracy']} now, "
                         f"{r['supernet']} in {ranking}")
        for r in rows[2:]:
            self.cache[r["code"]] = {"accuracy": float(r["supernet"]),
                                     "loss": float(r["supernet_loss"])}
            self.writer.write({"code": r["code"], **self.cache[r["code"]], "seconds": "nan"})
        return max(len(rows) - 2, 0)


def problem_at(limit, score: str = "accuracy"):
    """The search problem of ``scarlet-tf search --max-madds LIMIT --objectives
    SCORE,madds`` on the benchmark."""
    from scarlet_tf.search import SearchProblem
    from scarlet_tf.space.spaces import get_space

    return SearchProblem(get_space("nas-bench-macro"), f"{score},madds", max_madds=limit)


def tied_largest(records: list[dict]) -> dict:
    """The pick among ties (item 3, fixed before its regret was seen): of the feasible
    records whose supernet accuracy is within one standard error of the best one
    (``sqrt(a (1 - a) / images)``, ``images`` scored; a gap the images cannot resolve),
    the one with the most mult-adds."""
    feasible = [r for r in records if r["feasible"]]
    top = max(r["accuracy"] for r in feasible)
    margin = np.sqrt(top * (1 - top) / SCORING["max_images"])
    return max((r for r in feasible if r["accuracy"] >= top - margin),
               key=lambda r: (r["madds"], r["accuracy"]))


def nsga2_records(scorer, limit, seed, work: Path, score: str = "accuracy") -> list[dict]:
    """The evaluated records of the supernet search at ``limit`` by ``score`` (resumes
    from ``work``; a finished search only reads its state back)."""
    from scarlet_tf.search import run_search

    name = f"nsga2-{limit}-{seed}" if score == "accuracy" else f"nsga2-{score}-{limit}-{seed}"
    return run_search(problem_at(limit, score), scorer, work / name, seed=seed,
                      log=lambda line: None, truth="nas-bench-macro", **SEARCH)


def random_records(scorer, limit, seed, evaluations: int, score="accuracy") -> list[dict]:
    """``evaluations`` distinct random networks within ``limit``, scored by ``scorer``,
    as search records (the front by ``score`` and mult-adds marked)."""
    from scarlet_tf.search import nsga2
    from scarlet_tf.search.truth import feasible_codes

    problem = problem_at(limit, score)
    codes = sorted(feasible_codes(problem))
    rng = np.random.default_rng(seed)
    chosen = [codes[i] for i in rng.choice(len(codes), evaluations, replace=False)]
    archs = [scorer.family.parse(c) for c in chosen]
    records = [{"arch": str(arch), **scorer(code), "feasible": True,
                **problem.costs(problem.space.encode(arch))} for code, arch in zip(chosen, archs)]
    front = set(nsga2.non_dominated_sort(problem.vectors(records))[0].tolist())
    for i, record in enumerate(records):
        record["pareto"] = i in front
    return records


def free_pick(limit) -> dict:
    """The free rule's pick within ``limit``: most kept layers, then most FLOPs (among
    equals, the smallest code)."""
    from scarlet_tf.evaluation import nas_bench_macro as bench

    entries = bench.entries()
    code = max(sorted(c for c, e in entries.items() if e.flops <= limit),
               key=lambda c: (entries[c].depth, entries[c].flops))
    best = max(e.mean for e in entries.values() if e.flops <= limit)
    return {"pick": {"code": code, "truth": entries[code].mean, "accuracy": None,
                     "madds": entries[code].flops},
            "best": {"truth": best}, "regret": best - entries[code].mean,
            "hypervolume_fraction": None, "evaluated": 0}


def row(method, seed, limit, judged) -> dict:
    """One results.csv row of a judgement (nan where a picker has no such figure)."""
    pick, nan = judged["pick"], float("nan")
    return {"method": method, "seed": seed, "max_flops": limit, "code": pick["code"],
            "truth": pick["truth"], "supernet": pick["accuracy"] or nan, "madds": pick["madds"],
            "best_code": judged["best"].get("code", "-"), "best_truth": judged["best"]["truth"],
            "regret": judged["regret"], "hypervolume_fraction": judged["hypervolume_fraction"]
            or nan, "evaluations": judged["evaluated"]}


def run_all(supernet: Path, out: Path, work: Path, reuse: Path | None = None) -> None:
    """Every limit and seed: every picker of ``METHODS``, rows appended as they finish
    (scores of the ranking folder ``reuse`` taken first)."""
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.files import RowWriter, read_rows
    from scarlet_tf.search.truth import judge

    rows = read_rows(out / "results.csv")
    found = {(r["method"], int(r["seed"]), int(r["max_flops"])): r for r in rows}
    run = SupernetRun(supernet)
    scorer = CachedScorer(run, out / "scores.csv")
    if reuse:
        print(f"{scorer.reuse(reuse, run)} scores taken from {reuse}", flush=True)
    writer = RowWriter(out / "results.csv", FIELDS, rows)
    def searched(limit, seed, choose=None, score="accuracy"):
        return judge(nsga2_records(scorer, limit, seed, work, score), problem_at(limit, score),
                     choose=choose)

    def sampled(limit, seed, choose=None, score="accuracy"):  # the NSGA-II search's budget
        suffix = "" if score == "accuracy" else f"-{score}"
        evaluations = int(found[f"supernet-nsga2{suffix}", seed, limit]["evaluations"])
        return judge(random_records(scorer, limit, seed, evaluations, score),
                     problem_at(limit, score), choose=choose)

    pickers = {"free-rule": lambda limit, seed: free_pick(limit),
               "supernet-nsga2": searched, "supernet-random": sampled,
               "supernet-nsga2-tied": lambda limit, seed: searched(limit, seed, tied_largest),
               "supernet-random-tied": lambda limit, seed: sampled(limit, seed, tied_largest),
               "supernet-nsga2-loss": lambda limit, seed: searched(limit, seed, score="loss"),
               "supernet-random-loss": lambda limit, seed: sampled(limit, seed, score="loss")}
    try:
        for limit in LIMITS:
            for seed in SEEDS:
                for method, pick in pickers.items():
                    if (method, seed, limit) not in found:
                        found[method, seed, limit] = row(method, seed, limit, pick(limit, seed))
                        writer.write(found[method, seed, limit])
                print(f"limit {limit / 1e6:.1f}M seed {seed} done", flush=True)
    finally:
        writer.close()
        scorer.writer.close()


def report(out: Path) -> None:
    """picks.csv, summary.json and table.md: regret per limit and method over seeds."""
    from scarlet_tf.files import read_rows, write_json

    rows = read_rows(out / "results.csv")
    with open(out / "picks.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(("method", "seed", "max_flops", "code"))
        writer.writerows((r["method"], r["seed"], r["max_flops"], r["code"]) for r in rows)
    scores = read_rows(out / "scores.csv")
    timed = [float(r["seconds"]) for r in scores if r["seconds"] != "nan"]
    per_score = float(np.mean(timed)) if timed else None
    summary, lines = [], ["| FLOPs limit | method | seeds | regret, points: mean [min, max] | "
                          "true hypervolume / benchmark's | evaluations | search wall time |",
                          "|---" * 7 + "|"]
    for limit in LIMITS:
        for method in METHODS:
            chosen = [r for r in rows if r["method"] == method and int(r["max_flops"]) == limit]
            if not chosen:
                continue
            regret = 100 * np.array([float(r["regret"]) for r in chosen])
            hv = [h for h in (float(r["hypervolume_fraction"]) for r in chosen) if h == h]
            evaluations = np.mean([float(r["evaluations"]) for r in chosen])
            entry = {"max_flops": limit, "method": method, "seeds": len(chosen),
                     "regret_points": regret.tolist(), "mean_regret_points": regret.mean(),
                     "hypervolume_fraction": hv, "evaluations": evaluations,
                     "within_limit": all(float(r["madds"]) <= limit for r in chosen),
                     "seconds_per_search": per_score and evaluations * per_score}
            summary.append(entry)
            lines.append(f"| {limit / 1e6:.1f}M | {method} | {len(chosen)} | "
                         f"{regret.mean():.2f} [{regret.min():.2f}, {regret.max():.2f}] | "
                         + (f"{100 * np.mean(hv):.1f}% [{100 * min(hv):.1f}, "
                            f"{100 * max(hv):.1f}]" if hv else "n/a") + f" | {evaluations:.0f} | "
                         + (f"{entry['seconds_per_search'] / 60:.0f} min |" if evaluations and
                            per_score else "none |"))
    diagnosis = diagnose(out)
    write_json(out / "summary.json", {"seconds_per_score": per_score,
                                      "networks_scored": len(scores), "rows": summary,
                                      "diagnosis": diagnosis})
    lines += ["", "Where the supernet's pick loses: its own best network among every scored "
              "one within the limit (regret in points, FLOPs / limit), and the NSGA-II picks "
              "(regret; supernet accuracy below that best, points; FLOPs / limit):", "",
              "| FLOPs limit | scored / within limit | supernet's best by accuracy | "
              "by loss | NSGA-II picks |", "|---" * 5 + "|"]
    lines += [diagnosis_row(d) for d in diagnosis]
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def exhaustive(supernet: Path, out: Path) -> None:
    """Score every network within the smallest limit (into ``scores.csv``), so that the
    supernet's own best pick there is known, not only among the searches' candidates."""
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.search.truth import feasible_codes

    scorer = CachedScorer(SupernetRun(supernet), out / "scores.csv")
    try:
        codes = sorted(feasible_codes(problem_at(LIMITS[0])))
        for i, code in enumerate(codes):
            scorer(code)
            if i % 50 == 49:
                print(f"exhaustive: {i + 1}/{len(codes)} networks", flush=True)
    finally:
        scorer.writer.close()


def diagnose(out: Path) -> list[dict]:
    """Where a supernet pick loses, per limit: the supernet's own best network (by
    accuracy, and by loss) among every scored network within the limit against the best
    network there (the evaluator's part), and each NSGA-II pick's supernet accuracy
    against that best score (the search's part) and its FLOPs against the limit."""
    from scarlet_tf.evaluation import nas_bench_macro as bench
    from scarlet_tf.files import read_rows
    from scarlet_tf.search.truth import feasible_codes

    entries, scores = bench.entries(), {r["code"]: r for r in read_rows(out / "scores.csv")}
    results, table = read_rows(out / "results.csv"), []
    for limit in LIMITS:
        codes = feasible_codes(problem_at(limit))
        scored = [c for c in codes if c in scores]
        if not scored:
            continue
        best = max(entries[c].mean for c in codes)
        by_accuracy = max(scored, key=lambda c: (float(scores[c]["accuracy"]), -entries[c].flops))
        by_loss = min(scored, key=lambda c: float(scores[c]["loss"]))
        picks = [r for r in results if r["method"] == "supernet-nsga2"
                 and int(r["max_flops"]) == limit]
        table.append({
            "max_flops": limit, "feasible": len(codes), "scored": len(scored),
            "best_truth": best,
            "supernet_best_accuracy": {"code": by_accuracy, "regret": best - entries[
                by_accuracy].mean, "flops_fraction": entries[by_accuracy].flops / limit},
            "supernet_best_loss": {"code": by_loss, "regret": best - entries[by_loss].mean,
                                   "flops_fraction": entries[by_loss].flops / limit},
            "nsga2": [{"seed": int(r["seed"]), "regret": float(r["regret"]),
                       "score_gap": float(scores[by_accuracy]["accuracy"])
                       - float(r["supernet"]), "flops_fraction": float(r["madds"]) / limit}
                      for r in picks]})
    return table


def diagnosis_row(d: dict) -> str:
    """One markdown row of :func:`diagnose`."""
    def best(pick):
        return f"{100 * pick['regret']:.2f} ({pick['flops_fraction']:.2f})"

    picks = "; ".join(f"{100 * p['regret']:.2f}, {100 * p['score_gap']:.2f}, "
                      f"{p['flops_fraction']:.2f}" for p in d["nsga2"]) or "-"
    return (f"| {d['max_flops'] / 1e6:.1f}M | {d['scored']} / {d['feasible']} | "
            f"{best(d['supernet_best_accuracy'])} | {best(d['supernet_best_loss'])} | "
            f"{picks} |")


def settings(out: Path, supernet: Path, reuse: Path | None) -> None:
    """settings.json: the pinned settings, the supernet run, the folder whose scores were
    reused and every package commit that computed here."""
    import json

    from scarlet_tf.provenance import write_settings

    config = json.loads((supernet / "config.json").read_text())["config"]
    write_settings(out / "settings.json", {
        "limits": LIMITS, "seeds": SEEDS, "search": SEARCH, "scoring": SCORING,
        "supernet": str(supernet), "supernet_config": config, "reuse": reuse and str(reuse)},
        ROOT, keep=("reuse",))


def main() -> None:
    """Command line: the study, or only its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supernet", type=Path,
                        default=ROOT / "runs" / "nas_bench_macro" / "learnable-e3")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "search_benchmark")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "search_benchmark")
    parser.add_argument("--reuse", type=Path, help="a rank --truth nas-bench-macro folder of "
                        "the same supernet and precision whose scores to take")
    parser.add_argument("--only", choices=("report", "exhaustive"),
                        help="exhaustive: score every network within the smallest limit")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only != "report":
        if not ARCHIVE.is_file():
            sys.exit(f"error: the CIFAR-10 archive {ARCHIVE} is missing")
        scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster
        settings(args.out, args.supernet, args.reuse)
        if args.only == "exhaustive":
            exhaustive(args.supernet, args.out)
        else:
            run_all(args.supernet, args.out, args.work, args.reuse)
    report(args.out)


if __name__ == "__main__":
    main()
