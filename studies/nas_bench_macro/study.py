"""Does the supernet rank NAS-Bench-Macro's networks, and does the stabilizer help?

A resumable driver with every setting pinned in ``plan.py`` (``RECIPE``, ``VARIANTS``,
``BUDGETS``, ``RETEST``, ``RANK``, ``SELECT``, ``PARITY``) and written to
``settings.json`` beside the results, with the package commit; ``macro_report.py``
turns the results into ``summary.json`` and ``table.md``. Each supernet (a stabilizer
variant at a budget of epochs) is trained in its own run with its own warm-up and cosine
schedule, then:

* ``retest``: the instrument, without the benchmark. 200 depth-stratified networks
  (another draw than the ranked one; no truth is read) scored on two disjoint halves of
  the ``search`` split, with 5, 20 and 50 recalibration batches: Kendall tau between the
  halves at 512 and 2,500 images each. It sets ``RANK``'s precision.
* ``rank``: the installed ``scarlet-tf rank --truth nas-bench-macro`` on 1,000
  depth-stratified networks and 50 siblings (it resumes its own scores).
* ``select``: a choice between recipes is made on other networks than the ranked ones:
  ``SELECT["networks"]`` networks of 3 to 8 kept layers outside the ranked 1,000, scored
  at ``RANK``'s precision; the tau of each run there, and each run against
  learnable-e3, paired.
* ``parity``: one path (``PARITY``) trained alone inside the supernet and as the plain
  Keras model, same recipe: their accuracies on the whole ``search`` split.

Every stage is skipped when its output exists, so the same command continues after a
kill; ``--only`` runs one stage of one run:

    python studies/nas_bench_macro/study.py                       # the whole plan
    python studies/nas_bench_macro/study.py --only report         # tables so far
    python studies/nas_bench_macro/study.py --only retest --run learnable-e3

Numbers go to ``--out`` (committed: scores, reports, plots); weights to ``--runs``
(derived from CIFAR-10: never committed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from macro_report import report  # studies/nas_bench_macro/macro_report.py
from plan import (
    ARCHIVE,
    BUDGETS,
    LAYER_EFFECTS,
    PARITY,
    PLAN,
    RANK,
    RECIPE,
    RETEST,
    ROOT,
    SELECT,
    VARIANTS,
)

import scarlet_tf


def run_config(name: str, runs: Path, **overrides):
    """The SupernetConfig of run ``name`` (``<variant>-e<epochs>``)."""
    from scarlet_tf.training.configs import SupernetConfig

    variant, epochs = name.rsplit("-e", 1)
    return SupernetConfig(out=str(runs / name), dataset=str(ARCHIVE), epochs=int(epochs),
                          **{**RECIPE, **VARIANTS[variant], **overrides})


def finished(run: Path) -> bool:
    """True when the supernet run in ``run`` trained all its epochs."""
    config, history = run / "config.json", run / "history.json"
    return history.is_file() and len(json.loads(history.read_text())) >= json.loads(
        config.read_text())["config"]["epochs"]


def train(name: str, runs: Path) -> None:
    """Train run ``name`` to the end of its schedule (resumes)."""
    from scarlet_tf.training.supernet import train_supernet

    train_supernet(run_config(name, runs))


# ---------------------------------------------------------------- the instrument

def retest(name: str, runs: Path, out: Path) -> None:
    """Scores of ``RETEST["networks"]`` networks on two disjoint halves of ``search``, per
    recalibration count, into ``<out>/<name>/retest.csv`` (resumable)."""
    from scarlet_tf.evaluation import nas_bench_macro
    from scarlet_tf.evaluation.evaluator import Evaluator
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.files import RowWriter, read_rows

    path = out / name / "retest.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = read_rows(path)
    done = {(r["code"], int(r["recal_batches"])) for r in rows}
    supernet = SupernetRun(runs / name).supernet
    codes = nas_bench_macro.depth_stratified(RETEST["networks"], RETEST["seed"])
    writer = RowWriter(path, retest_fields(), rows)
    try:
        for recal in RETEST["recal_batches"]:
            evaluator = Evaluator(supernet, str(ARCHIVE), recal_batches=recal)
            for code in codes:
                if (code, recal) not in done:
                    writer.write({"code": code, "recal_batches": recal,
                                  **halves(evaluator.outcomes(code))})
            print(f"retest {name}: {recal} recalibration batches done", flush=True)
    finally:
        writer.close()


def retest_fields() -> list[str]:
    """retest.csv's columns: accuracy and loss of each half at each image count."""
    return ["code", "recal_batches", *(f"{m}_{h}{n}" for n in RETEST["images"]
                                       for h in "ab" for m in ("accuracy", "loss"))]


def halves(outcomes: dict) -> dict:
    """Accuracy and loss on the first n images of each half of the scored images."""
    size = len(outcomes["correct"]) // 2
    row = {}
    for n in RETEST["images"]:
        for h, start in (("a", 0), ("b", size)):
            part = slice(start, start + min(n, size))
            row[f"accuracy_{h}{n}"] = float(outcomes["correct"][part].mean())
            row[f"loss_{h}{n}"] = float(outcomes["loss"][part].mean())
    return row


# ---------------------------------------------------------------- ranking and parity

def rank(name: str, runs: Path, out: Path) -> None:
    """Rank run ``name`` with the installed CLI (resumes; skipped once rank.json exists).
    Where the run's weights are gone, the report is written from its saved scores."""
    from scarlet_tf.evaluation.rank_runs import report_saved_scores

    folder = out / name
    if (folder / "rank.json").is_file():
        return
    if not (runs / name).is_dir():
        report_saved_scores(folder, run_config(name, runs).stabilizer)
        return
    subprocess.run(["scarlet-tf", "rank", "--supernet", str(runs / name), "--truth",
                    "nas-bench-macro", "--out", str(folder),
                    *(f"--{k.replace('_', '-')}={v}" for k, v in RANK.items())], check=True)


def selection_codes() -> list[str]:
    """``SELECT``'s networks: an equal share of each depth in ``SELECT["depths"]``, drawn
    with its seed among the distinct networks outside ``RANK``'s sample."""
    from scarlet_tf.evaluation import nas_bench_macro

    ranked = set(nas_bench_macro.depth_stratified(RANK["archs"], RANK["seed"]))
    rng = np.random.default_rng(SELECT["seed"])
    share = SELECT["networks"] // len(SELECT["depths"])
    outside = [c for c in nas_bench_macro.distinct_codes() if c not in ranked]
    chosen = []
    for depth in SELECT["depths"]:
        pool = [c for c in outside if nas_bench_macro.entries()[c].depth == depth]
        chosen += [pool[i] for i in sorted(rng.choice(len(pool), share, replace=False))]
    return chosen


def select(name: str, runs: Path, out: Path) -> None:
    """Score run ``name`` on :func:`selection_codes` into ``<out>/<name>/select.csv``
    (``scarlet-tf rank``'s columns and precision; resumable)."""
    from scarlet_tf.evaluation.macro_ranking import SCORE_FIELDS, score_row
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.files import RowWriter, read_rows

    path = out / name / "select.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = read_rows(path)
    done = {r["code"] for r in rows}
    evaluator = SupernetRun(runs / name).evaluator(
        str(ARCHIVE), recal_batches=RANK["recal_batches"], max_images=RANK["max_images"])
    writer = RowWriter(path, SCORE_FIELDS, rows)
    try:
        for code in (c for c in selection_codes() if c not in done):
            writer.write(score_row(evaluator, code))
    finally:
        writer.close()


def parity(runs: Path, out: Path) -> None:
    """``PARITY["path"]`` trained alone in the supernet (its sampler fixed, no warm-up or
    matched init: the plain model's initialization) and as the plain Keras model with the
    same recipe (no dropout or EMA); both scored on the whole search split."""
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.files import write_json
    from scarlet_tf.standalone.training import train_subnet
    from scarlet_tf.training.configs import SubnetConfig
    from scarlet_tf.training.supernet import train_supernet

    result = out / "parity.json"
    if result.is_file():
        return
    name = f"{PARITY['variant']}-e{PARITY['epochs']}"
    config = run_config(name, runs / "parity", matched_init=False, firsts_warmup=0.0)
    supernet, _ = train_supernet(config, sampler=fixed_sampler(config, PARITY["path"]))
    shared = {k: v for k, v in RECIPE.items() if k in SubnetConfig.__dataclass_fields__}
    plain = train_subnet(SubnetConfig(
        arch=PARITY["path"], out=str(runs / "parity" / "plain"), dataset=str(ARCHIVE),
        epochs=PARITY["epochs"], dropout=0.0, ema=False, **shared), verbose=False)
    score = SupernetRun(config.out).evaluator(recal_batches=RANK["recal_batches"]).score(
        PARITY["path"])
    write_json(result, {**PARITY, "supernet_search_accuracy": score["accuracy"],
                        "plain_search_accuracy": plain["search_accuracy"],
                        "plain_test_accuracy": plain["test_accuracy"]})


def fixed_sampler(config, code: str):
    """A sampler of ``config``'s space that draws the path of ``code`` at every step."""
    from scarlet_tf.space.spaces import get_space, resolve_arch
    from scarlet_tf.training.samplers import Sampler

    class FixedSampler(Sampler):
        name = "fixed"
        paths_per_step = 1

        def sample(self) -> np.ndarray:
            return path

    space = get_space(config.space, width=config.width)
    path = np.array([space.encode(resolve_arch(code, space))], np.int32)
    return FixedSampler(space)


# ---------------------------------------------------------------- the plan

def settings(out: Path) -> None:
    """settings.json: every pinned setting, versions and every package commit that
    computed here."""
    import tensorflow as tf

    from scarlet_tf import __version__
    from scarlet_tf.provenance import write_settings

    write_settings(out / "settings.json", {
        "recipe": RECIPE, "variants": VARIANTS, "budgets": BUDGETS, "retest": RETEST,
        "rank": RANK, "select": SELECT, "parity": PARITY, "layer_effects": LAYER_EFFECTS,
        "dataset": ARCHIVE.name,
        "scarlet_tf": __version__, "tensorflow": tf.__version__}, ROOT)


def run_plan(runs: Path, out: Path) -> None:
    """Every stage of ``PLAN`` in order, each in a subprocess (its memory is returned)."""
    from scarlet_tf.files import read_rows

    for stage, name in PLAN:
        if stage == "train" and (runs / name).is_dir() and finished(runs / name):
            continue
        if stage == "rank" and (out / name / "rank.json").is_file():
            continue
        if stage == "parity" and (out / "parity.json").is_file():
            continue
        if stage == "select" and len(read_rows(out / name / "select.csv")) == SELECT[
                "networks"]:
            continue
        subprocess.run([sys.executable, __file__, "--only", stage, *(
            ["--run", name] if name else []), "--runs", str(runs), "--out", str(out)],
            check=True)
        report(out)


def main() -> None:
    """Command line: the whole plan, or one stage."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "nas_bench_macro")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "nas_bench_macro")
    parser.add_argument("--only", choices=("train", "retest", "rank", "select", "parity",
                                           "report"))
    parser.add_argument("--run", help="<variant>-e<epochs>, for --only "
                        "train/retest/rank/select")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only != "report":
        if not ARCHIVE.is_file():
            sys.exit(f"error: the CIFAR-10 archive {ARCHIVE} is missing")
        settings(args.out)  # the settings and commit of the code that computes
        scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster
    stages = {"train": lambda: train(args.run, args.runs),
              "retest": lambda: retest(args.run, args.runs, args.out),
              "rank": lambda: rank(args.run, args.runs, args.out),
              "select": lambda: select(args.run, args.runs, args.out),
              "parity": lambda: parity(args.runs, args.out),
              "report": lambda: report(args.out)}
    stages.get(args.only, lambda: run_plan(args.runs, args.out))()


if __name__ == "__main__":
    main()
