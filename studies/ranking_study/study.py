"""Does the stabilizer make the supernet rank architectures better? A resumable CIFAR-10 study.

Pieces, in order; each is skipped when its output exists, so the study can be stopped at
any point (Ctrl-C, kill) and continued by running the same command again:

1. ``archs``: a fixed list of architectures, stratified by the number of skipped layers
   and by mult-adds (``results/.../archs.csv``).
2. ``supernets``: one supernet per variant (stabilizer learnable / none / learnable with a
   he_normal start), identical in every other setting, trained on CIFAR-10 ``train`` with
   the installed ``scarlet-tf train-supernet`` (which resumes on its own).
3. ``scores``: every architecture scored on every supernet (BatchNorm recalibrated,
   ``search`` split), appended to ``scores.csv`` one row at a time.
4. ``analysis``: per-layer feature similarity between choices (``scarlet-tf analyze``).
5. ``truth``: every architecture trained stand-alone with one recipe (seed 0); a subset
   again with seed 1 (``scarlet-tf train-subnet``; accuracy on ``test``).
6. ``report``: Kendall tau and Spearman rho with 95% bootstrap intervals, top-k overlap,
   the seed-to-seed ceiling, and the plots (always rebuilt from what is done so far).

Numbers are committed under ``--out`` (scores.csv, truth.csv, analysis/, curves/), weights
stay under ``--runs`` (derived from CIFAR-10: never committed). A fresh checkout therefore
resumes from the numbers: a variant whose scores and analysis are complete is not
retrained, and finished stand-alone runs are not repeated; only a supernet interrupted
before its scores were written starts over. Several drivers may share the truth piece
(e.g. one per core, each under ``taskset``): each stand-alone run is claimed by one
driver (a ``.claim`` file beside its directory), so drivers take the next unclaimed run:

    python studies/ranking_study/study.py --out results/ranking_study --runs runs/ranking_study
    taskset -c 1 python studies/ranking_study/study.py --only truth,report   # a second driver
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from scarlet_tf.space.choices import SKIP
from scarlet_tf.space.costs import costs
from scarlet_tf.space.spaces import Architecture, get_space

ROOT = Path(__file__).resolve().parents[2]  # studies/<study>/study.py -> the repository
ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"

# The study's settings: every supernet and every stand-alone model uses these.
SPACE = dict(space="scarlet-cifar", width=0.5, choices="e3k3,e6k3,e3k7,e6k5se,skip")
SUPERNET = dict(epochs=8, steps_per_epoch=300, batch_size=64, lr=0.02, warmup_epochs=0.5,
                sampler="uniform", seed=0)
VARIANTS = {"learnable": dict(stabilizer="learnable", stabilizer_init="identity"),
            "none": dict(stabilizer="none", stabilizer_init="identity"),
            "he_normal": dict(stabilizer="learnable", stabilizer_init="he_normal")}
STANDALONE = dict(epochs=2, steps_per_epoch=200, batch_size=64, lr=0.1, warmup_epochs=0.3)
SKIP_BUCKETS = ((0, 0), (1, 3), (4, 6), (7, 13))  # skipped layers, inclusive ranges
COST_BINS = 4  # mult-add quantile bins within a skip bucket
PER_CELL = 2  # architectures per (skip bucket, mult-add bin) cell
RESEEDED = 10  # architectures trained again with seed 1
ANALYZED_LAYERS = (2, 8, 14)  # 1-based layers that can skip, early / middle / late
RECAL_BATCHES = 20
PIECES = ("supernets", "scores", "analysis", "truth", "report")


def log(message: str) -> None:
    """Print ``message`` with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def cli(*args) -> None:
    """Run the installed ``scarlet-tf`` with ``args``; raise with its stderr on failure."""
    command = [shutil.which("scarlet-tf") or "scarlet-tf", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")


def options(settings: dict) -> list[str]:
    """``--key value`` command-line options from a settings dict (underscores to dashes)."""
    return [part for key, value in settings.items()
            for part in (f"--{key.replace('_', '-')}", value)]


# 1. architectures -----------------------------------------------------------------------

def archs_by_skips_and_madds(seed: int = 0, pool: int = 4000) -> list[dict]:
    """``PER_CELL`` architectures from each (skip bucket, mult-add bin) cell.

    A pool of random architectures of the study's space (each with its own skip
    probability, so skip-heavy ones are common) is split by skip bucket, then by mult-add
    quantile bin within the bucket; each cell contributes architectures evenly spaced in
    mult-adds across its bin. Returns rows {arch, madds (M), params (M), skips, stratum}.
    (The latency tables' :func:`scarlet_tf.space.strata.stratified_archs` draws other strata:
    kernel sizes and skip rates, for timing.)
    """
    space = get_space(SPACE["space"], width=SPACE["width"], choices=SPACE["choices"])
    rng = np.random.default_rng(seed)
    rows = {}
    for _ in range(pool):
        arch = _skip_biased_arch(space, rng, skip_probability=rng.uniform(0, 0.7))
        cost = costs(arch, space)
        rows[str(arch)] = {"arch": str(arch), "madds": round(cost.madds / 1e6, 3),
                           "params": round(cost.params / 1e6, 4),
                           "skips": sum(c == SKIP for c in arch.choices)}
    chosen = []
    for low, high in SKIP_BUCKETS:
        bucket = sorted((r for r in rows.values() if low <= r["skips"] <= high),
                        key=lambda r: r["madds"])
        for part_index, part in enumerate(np.array_split(np.arange(len(bucket)), COST_BINS)):
            picks = np.linspace(part[0], part[-1], PER_CELL + 2)[1:-1].round().astype(int)
            chosen += [{**bucket[i], "stratum": f"skips{low}-{high}/q{part_index}"}
                       for i in picks]
    return chosen


def _skip_biased_arch(space, rng, skip_probability: float) -> Architecture:
    """Each layer: skip with ``skip_probability`` where it can, else a uniform MBConv choice."""
    choices = []
    for layer in space.layers:
        blocks = [c for c in layer.choices if c != SKIP]
        can_skip = SKIP in layer.choices
        choices.append(SKIP if can_skip and rng.random() < skip_probability
                       else blocks[rng.integers(len(blocks))])
    return Architecture(tuple(choices))


def read_csv(path: Path) -> list[dict]:
    """The rows of a CSV file as dicts."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` atomically (a temporary file renamed into place)."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # drivers may share a results folder
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def archs(results: Path) -> list[dict]:
    """The study's architectures: read from ``archs.csv``, drawn and written once."""
    path = results / "archs.csv"
    if not path.exists():
        write_csv(path, archs_by_skips_and_madds())
        log(f"wrote {path}")
    return read_csv(path)


# 2. supernets ---------------------------------------------------------------------------

def supernet_dir(runs: Path, variant: str) -> Path:
    """The run directory of ``variant``'s supernet."""
    return runs / f"supernet-{variant}"


def supernet_done(directory: Path) -> bool:
    """Whether a supernet run has finished all its epochs."""
    history = directory / "history.json"
    return history.exists() and len(json.loads(history.read_text())) >= SUPERNET["epochs"]


def supernet_needed(results: Path, variant: str, arch_rows) -> bool:
    """Whether ``variant``'s supernet still has work to feed: scores or analysis missing.
    Its numbers are committed under ``results``, its weights are not (CIFAR-10-derived),
    so a finished variant is not retrained in a fresh checkout."""
    path = results / "scores.csv"
    rows = read_csv(path) if path.exists() else []
    scored = {r["arch"] for r in rows if r["variant"] == variant}
    analyzed = all((results / "analysis" / variant / f"layer{n:02d}.json").exists()
                   for n in ANALYZED_LAYERS)
    return not (analyzed and {a["arch"] for a in arch_rows} <= scored)


def train_supernet(runs: Path, results: Path, variant: str, arch_rows) -> None:
    """Train ``variant``'s supernet if its numbers still need it; keep its curve."""
    directory = supernet_dir(runs, variant)
    if not supernet_done(directory) and supernet_needed(results, variant, arch_rows):
        _train_supernet(directory, variant)
    if supernet_done(directory):  # the training curve, kept with the results
        curves = results / "curves"
        curves.mkdir(exist_ok=True)
        shutil.copyfile(directory / "history.json", curves / f"{variant}.json")


def _train_supernet(directory: Path, variant: str) -> None:
    log(f"supernet {variant}: training (resumes if interrupted)")
    start = time.time()
    cli("train-supernet", "--out", directory, "--dataset", ARCHIVE, "--quiet",
        *options({**SPACE, **SUPERNET, **VARIANTS[variant]}))
    log(f"supernet {variant}: done in {time.time() - start:.0f} s")


# 3. supernet scores ---------------------------------------------------------------------

def score_all(runs: Path, results: Path, variants, arch_rows) -> None:
    """Append ``variant,arch,accuracy,loss,seconds`` rows to scores.csv, skipping done ones."""
    path = results / "scores.csv"
    rows = read_csv(path) if path.exists() else []
    done = {(r["variant"], r["arch"]) for r in rows}
    for variant in variants:
        todo = [a["arch"] for a in arch_rows if (variant, a["arch"]) not in done]
        if not todo or not supernet_done(supernet_dir(runs, variant)):
            continue
        from scarlet_tf.evaluation.runs import SupernetRun

        evaluator = SupernetRun(supernet_dir(runs, variant)).evaluator(
            str(ARCHIVE), recal_batches=RECAL_BATCHES)
        log(f"scores {variant}: {len(todo)} architectures")
        for arch in todo:
            start = time.time()
            score = evaluator.score(arch)
            rows.append({"variant": variant, "arch": arch,
                         "accuracy": round(score["accuracy"], 5),
                         "loss": round(score["loss"], 5),
                         "seconds": round(time.time() - start, 2)})
            write_csv(path, rows)


# 4. feature similarity ------------------------------------------------------------------

def analyze_all(runs: Path, results: Path, variants) -> None:
    """Feature similarity of the choices at the analyzed layers, per finished supernet."""
    for variant in variants:
        directory = supernet_dir(runs, variant)
        if not supernet_done(directory):
            continue
        for layer in ANALYZED_LAYERS:
            target = results / "analysis" / variant / f"layer{layer:02d}.json"
            if not target.exists():
                log(f"analyze {variant} layer {layer}")
                cli("analyze", "--supernet", directory, "--layer", layer,
                    "--out", target.parent, "--recal-batches", RECAL_BATCHES)


# 5. stand-alone truth -------------------------------------------------------------------

def truth_dir(runs: Path, index: int, seed: int) -> Path:
    """The run directory of one stand-alone training."""
    return runs / "truth" / f"a{index:02d}-seed{seed}"


def train_truth(runs: Path, results: Path, arch_rows) -> None:
    """Train every architecture with seed 0, then the ``reseeded`` ones with seed 1,
    skipping runs finished here or recorded in ``results/truth.csv`` (committed: the
    truth spans sessions) and runs claimed by another live driver; truth.csv is
    rewritten after each run."""
    jobs = [(i, 0) for i in range(len(arch_rows))] + [(i, 1) for i in reseeded(arch_rows)]
    for index, seed in jobs:
        directory = truth_dir(runs, index, seed)
        done = {(int(r["index"]), int(r["seed"])) for r in truth_table(runs, results, arch_rows)}
        if (index, seed) in done or not claim(directory.with_suffix(".claim")):
            continue
        log(f"stand-alone {index:02d} seed {seed}: {arch_rows[index]['arch']}")
        start = time.time()
        cli("train-subnet", arch_rows[index]["arch"], "--out", directory, "--dataset", ARCHIVE,
            "--quiet", "--seed", seed,
            *options({k: v for k, v in {**SPACE, **STANDALONE}.items() if k != "choices"}))
        (directory / "seconds.txt").write_text(f"{time.time() - start:.1f}\n")
        write_csv(results / "truth.csv", truth_table(runs, results, arch_rows))


def claim(path: Path) -> bool:
    """Claim a run for this process: True unless ``path`` names another live driver.

    A claim left by a driver that has since died (killed, machine restarted) is taken
    over; the run it started resumes from its own checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        owner = path.read_text().strip()
        cmdline = Path(f"/proc/{owner}/cmdline")
        live = cmdline.exists() and b"ranking_study" in cmdline.read_bytes()
        if owner != str(os.getpid()) and live:
            return False
        path.unlink(missing_ok=True)
    try:
        with open(path, "x") as handle:
            handle.write(f"{os.getpid()}\n")
    except FileExistsError:  # another driver claimed it between the check and here
        return False
    return True


def reseeded(arch_rows) -> list[int]:
    """Indices trained with a second seed, spread evenly over the (stratified) list."""
    count = min(RESEEDED, len(arch_rows))
    return sorted({int(i) for i in np.linspace(0, len(arch_rows) - 1, count).round()})


def truth_table(runs: Path, results: Path, arch_rows) -> list[dict]:
    """Rows {index, arch, seed, test_accuracy, seconds} of every finished stand-alone run:
    those recorded in ``results/truth.csv`` and those finished under ``runs``."""
    path = results / "truth.csv"
    found = {(int(r["index"]), int(r["seed"])): r for r in read_csv(path)} if path.exists() else {}
    for index, row in enumerate(arch_rows):
        for seed in (0, 1):
            result = truth_dir(runs, index, seed) / "result.json"
            if (index, seed) not in found and result.exists():
                seconds = truth_dir(runs, index, seed) / "seconds.txt"
                found[index, seed] = {
                    "index": index, "arch": row["arch"], "seed": seed,
                    "test_accuracy": json.loads(result.read_text())["test_accuracy"],
                    "seconds": seconds.read_text().strip() if seconds.exists() else ""}
    return [found[k] for k in sorted(found)]


def main():
    """Run the asked pieces in order, rebuilding the report after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/ranking_study", help="results (CSV, JSON, PNG)")
    parser.add_argument("--runs", default="runs/ranking_study",
                        help="supernet and stand-alone run directories (not committed)")
    parser.add_argument("--variants", default="learnable,none,he_normal")
    parser.add_argument("--only", default=",".join(PIECES),
                        help=f"comma-separated pieces to run (of {', '.join(PIECES)}); two "
                             "drivers may run disjoint pieces at once")
    args = parser.parse_args()
    if not ARCHIVE.exists():
        sys.exit(f"error: the study needs the CIFAR-10 archive at {ARCHIVE}")
    results, runs = Path(args.out), Path(args.runs)
    results.mkdir(parents=True, exist_ok=True)
    variants = args.variants.split(",")
    arch_rows = archs(results)
    pieces = {
        "supernets": lambda: [train_supernet(runs, results, v, arch_rows) for v in variants],
        "scores": lambda: score_all(runs, results, variants, arch_rows),
        "analysis": lambda: analyze_all(runs, results, variants),
        "truth": lambda: train_truth(runs, results, arch_rows),
        "report": lambda: report(runs, results, variants, arch_rows),
    }
    only = args.only.split(",")
    if not set(only) <= set(PIECES):
        sys.exit(f"error: --only: allowed pieces are {', '.join(PIECES)}")
    for name, piece in pieces.items():
        if name in only:
            piece()
            if name != "report":
                report(runs, results, variants, arch_rows)


def report(runs: Path, results: Path, variants, arch_rows) -> None:
    """Write truth.csv, summary.json and the plots from whatever is finished."""
    from ranking_report import write_report  # studies/ranking_study/ranking_report.py

    truth = truth_table(runs, results, arch_rows)
    if truth:
        write_csv(results / "truth.csv", truth)
    curves = {v: json.loads((results / "curves" / f"{v}.json").read_text())
              for v in variants if (results / "curves" / f"{v}.json").exists()}
    write_report(results, arch_rows, truth, curves,
                 settings={"space": SPACE, "supernet": SUPERNET, "variants": VARIANTS,
                           "standalone": STANDALONE, "recal_batches": RECAL_BATCHES,
                           "analyzed_layers": ANALYZED_LAYERS})


if __name__ == "__main__":
    main()
