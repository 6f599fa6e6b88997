"""Search quality: EvolutionOracle (NSGA-II) against random search at equal budgets.

For each seed, both searches evaluate the same number of architectures under the same
mult-add limit; random search is the oracle's own first (random, repaired-feasible)
generation stretched to the whole budget. Printed: the mean normalized hypervolume
(accuracy x mult-adds, 0..1) of each, their ratio, seconds per evaluated candidate,
and whether any reported best architecture broke the limit.

  (a) synthetic: a cheap seeded accuracy model over the real scarlet-cifar space and
      cost model (``SyntheticScorer``);
  (b) supernet: a supernet trained briefly on digits (FairNAS sampling), scored with the
      real Evaluator on digits' test split.

Usage: python studies/search_quality/study.py [--out DIR] [--seeds 5] [--skip-supernet]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository

import scarlet_tf  # noqa: E402
from scarlet_tf.search import SearchProblem, run_search  # noqa: E402
from scarlet_tf.search.report import best_record  # noqa: E402
from scarlet_tf.search.synthetic import SyntheticScorer  # noqa: E402
from scarlet_tf.space.spaces import get_space  # noqa: E402

# FairNAS sampling: at budgets this small, uniform single paths leave a multi-choice
# supernet near chance (every architecture then scores alike and no search can win).
SUPERNET = dict(space="scarlet-cifar", width=0.25, choices="e3k3,e3k5se,e6k3,skip",
                sampler="fair", epochs=20, batch_size=64)


def one_search(problem, scorer, out, population, generations, seed) -> dict:
    """Run one search from scratch: hypervolume, evaluations, seconds, best feasible?"""
    start = time.perf_counter()
    records = run_search(problem, scorer, out, population=population, generations=generations,
                         seed=seed, overwrite=True, log=lambda line: None)
    seconds = time.perf_counter() - start
    best = best_record(records)
    return {"hv": problem.hypervolume(records), "n": len(records), "s": seconds,
            "best_ok": best is not None and problem.is_feasible(best)}


def compare(name, problem, make_scorer, seeds, population, generations, work) -> None:
    """Print the mean hypervolumes of the oracle and of random search, and their ratio."""
    rows = {"oracle": [], "random": []}
    for seed in seeds:
        scorer = make_scorer(seed)
        rows["oracle"].append(one_search(problem, scorer, work / f"{name}-ea-{seed}",
                                         population, generations, seed))
        rows["random"].append(one_search(problem, scorer, work / f"{name}-rs-{seed}",
                                         population * generations, 1, seed))
    mean = {k: sum(r["hv"] for r in v) / len(v) for k, v in rows.items()}
    per_eval = {k: sum(r["s"] for r in v) / sum(r["n"] for r in v) for k, v in rows.items()}
    wins = sum(a["hv"] > b["hv"] for a, b in zip(rows["oracle"], rows["random"]))
    print(f"({name}) {population}x{generations} = {population * generations} evaluations, "
          f"max mult-adds {problem.limits['madds'] / 1e6:g}M, seeds {list(seeds)}")
    for k in rows:
        print(f"  {k:6s} hypervolume {mean[k]:.4f}  per seed "
              f"{[round(r['hv'], 4) for r in rows[k]]}  {per_eval[k] * 1e3:.1f} ms/candidate")
    print(f"  ratio oracle/random {mean['oracle'] / mean['random']:.3f}; oracle better on "
          f"{wins}/{len(seeds)} seeds; infeasible best reported: "
          f"{sum(not r['best_ok'] for v in rows.values() for r in v)}")


def trained_supernet(out: Path):
    """A supernet trained briefly on digits (reused when ``out`` already holds it)."""
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.training.configs import SupernetConfig
    from scarlet_tf.training.supernet import train_supernet

    train_supernet(SupernetConfig(out=str(out), **SUPERNET), verbose=False)
    return SupernetRun(out).supernet


def main(argv=None) -> None:
    """Compare the oracle with random search, synthetic and (unless skipped) supernet."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="work directory [temporary]")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--skip-supernet", action="store_true")
    args = parser.parse_args(argv)
    scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster
    work = args.out or Path(tempfile.mkdtemp(prefix="search_quality_"))

    space = get_space("scarlet-cifar")
    compare("synthetic", SearchProblem(space, max_madds=60e6),
            lambda seed: SyntheticScorer(space, seed).score_path, range(args.seeds), 20, 10, work)
    if args.skip_supernet:
        return
    from scarlet_tf.evaluation.evaluator import Evaluator

    supernet = trained_supernet(work / "supernet")
    # Scored on the 359-image test split: on the 145-image search split the sampling noise
    # of an accuracy (~0.03) is as large as the spread between architectures.
    evaluator = Evaluator(supernet, split="test", recal_batches=5)
    low, high = SearchProblem(supernet.space).bounds["madds"]
    problem = SearchProblem(supernet.space, max_madds=round(low + 0.4 * (high - low), -5))
    compare("supernet", problem, lambda seed: evaluator.score_path, range(min(args.seeds, 3)),
            16, 8, work)


if __name__ == "__main__":
    main()
