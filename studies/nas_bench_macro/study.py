"""Does the supernet rank NAS-Bench-Macro's networks, and does the stabilizer help?

A resumable driver with every setting pinned in this file (``RECIPE``, ``VARIANTS``,
``BUDGETS``, ``RETEST``, ``RANK``, ``PARITY``) and written to ``settings.json`` beside
the results, with the package commit. Each supernet (a stabilizer variant at a budget of
epochs) is trained in its own run with its own warm-up and cosine schedule, then:

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

import scarlet_tf

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
# The benchmark's stand-alone recipe (SGD momentum 0.9, weight decay 5e-4, lr 0.1 at batch
# 256, cosine, crop and flip, no label smoothing) at batch 128 with the same lr per image;
# the package's SGD is Nesterov. Sampling, matched initialization and the stage-first
# warm-up are the package's defaults, written out so that a change of default cannot
# change this study.
RECIPE = {"space": "nas-bench-macro", "width": 1.0, "batch_size": 128, "lr": 0.05,
          "warmup_epochs": 0.5, "optimizer": "sgd", "weight_decay": 5e-4,
          "label_smoothing": 0.0, "zero_init_residual": True, "seed": 0,
          "sampler": "uniform", "matched_init": True, "firsts_warmup": 0.5,
          "stabilizer_init": "identity"}
VARIANTS = {"learnable": {"stabilizer": "learnable"}, "none": {"stabilizer": "none"},
            "learnable-nowarm": {"stabilizer": "learnable", "firsts_warmup": 0.0},
            # FairNAS strict fairness: 3 paths per step (each choice of each layer once),
            # so fair-e3 gives every choice the updates of 9 uniform epochs
            "fair": {"stabilizer": "learnable", "sampler": "fair"},
            # neither matched initialization nor the warm-up (which ends in its copy)
            "learnable-nomatch": {"stabilizer": "learnable", "matched_init": False,
                                  "firsts_warmup": 0.0},
            # the recipe: half the lr per image; the benchmark's own batch and lr
            "learnable-lrhalf": {"stabilizer": "learnable", "lr": 0.025},
            "learnable-b256": {"stabilizer": "learnable", "batch_size": 256, "lr": 0.1}}
BUDGETS = (3, 10, 30)  # epochs, each its own schedule
RETEST = {"networks": 200, "seed": 1, "recal_batches": (5, 20, 50), "images": (512, 2500)}
RANK = {"archs": 1000, "siblings": 50, "seed": 0, "recal_batches": 20, "max_images": 2500}
SELECT = {"networks": 204, "seed": 2, "depths": (3, 4, 5, 6, 7, 8),  # 34 per depth
          "baseline": "learnable-e3",  # every run is paired with it, and with its own:
          "baselines": {"fair-e3": ("learnable-e10",),
                        "learnable-nomatch-e3": ("learnable-nowarm-e3",),
                        "learnable-e30": ("learnable-e10",),
                        "none-e10": ("learnable-e10",)}}
PARITY = {"path": "12121212", "epochs": 3, "variant": "none"}
LAYER_EFFECTS = {"depths": (3, 4, 5, 6, 7), "min_networks": 3}
PLAN = [("train", "learnable-e3"), ("retest", "learnable-e3"), ("rank", "learnable-e3"),
        ("train", "learnable-nowarm-e3"), ("select", "learnable-e3"),
        ("select", "learnable-nowarm-e3"),
        ("train", "none-e3"), ("rank", "none-e3"), ("parity", None),
        ("train", "learnable-e10"), ("rank", "learnable-e10"),
        ("train", "fair-e3"), ("select", "fair-e3"),
        ("train", "learnable-nomatch-e3"), ("select", "learnable-nomatch-e3"),
        ("train", "learnable-e30"), ("select", "learnable-e30"),
        ("train", "none-e10"), ("select", "none-e10"), ("rank", "learnable-e30"),
        ("rank", "none-e10"),
        ("train", "learnable-lrhalf-e3"), ("select", "learnable-lrhalf-e3"),
        ("train", "learnable-b256-e3"), ("select", "learnable-b256-e3"),
        ("train", "none-e30"), ("rank", "none-e30")]


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


def retest_report(out: Path, name: str) -> list[dict]:
    """Kendall tau between the halves (accuracy, and minus loss) per recalibration count
    and image count, with bootstrap 95% intervals; then, on all images, tau between the
    scores after each recalibration count and after the most (``"against"``)."""
    from scarlet_tf.files import read_rows

    rows = read_rows(out / name / "retest.csv")
    table = []
    for recal in RETEST["recal_batches"]:
        chosen = [r for r in rows if int(r["recal_batches"]) == recal]
        if len(chosen) < 3:
            continue
        for n in RETEST["images"]:
            for metric, sign in (("accuracy", 1), ("loss", -1)):
                a = sign * np.array([float(r[f"{metric}_a{n}"]) for r in chosen])
                b = sign * np.array([float(r[f"{metric}_b{n}"]) for r in chosen])
                table.append({"recal_batches": recal, "images": n, "score": metric,
                              "networks": len(chosen), **agreement(a, b),
                              "mean_accuracy": float(np.mean([float(r[f"accuracy_a{n}"])
                                                              for r in chosen]))})
    return table + recal_agreement(rows)


def agreement(a, b) -> dict:
    """Kendall tau of two score arrays ``[N]`` and its bootstrap 95% interval."""
    from scipy.stats import kendalltau

    from scarlet_tf.evaluation.ranking import bootstrap_intervals

    return {"kendall_tau": kendalltau(a, b)[0],
            "kendall_tau_ci": bootstrap_intervals(a, b)["kendall_tau"]}


def recal_agreement(rows: list[dict]) -> list[dict]:
    """Tau, on all scored images of both halves, between each recalibration count's
    scores and the largest count's in ``rows``, over the networks scored with both."""
    n, most = max(RETEST["images"]), max(int(r["recal_batches"]) for r in rows)
    def scores(recal, metric):
        return {r["code"]: (float(r[f"{metric}_a{n}"]) + float(r[f"{metric}_b{n}"])) / 2
                for r in rows if int(r["recal_batches"]) == recal}

    table = []
    for recal in (r for r in RETEST["recal_batches"] if r < most):
        for metric, sign in (("accuracy", 1), ("loss", -1)):
            ours, reference = scores(recal, metric), scores(most, metric)
            codes = sorted(set(ours) & set(reference))
            if len(codes) < 3:
                continue
            a = sign * np.array([ours[c] for c in codes])
            b = sign * np.array([reference[c] for c in codes])
            table.append({"recal_batches": recal, "against": most, "images": 2 * n,
                          "score": metric, "networks": len(codes), **agreement(a, b),
                          "mean_accuracy": float(np.mean(list(scores(recal, "accuracy")
                                                              .values())))})
    return table


# ---------------------------------------------------------------- ranking and parity

def rank(name: str, runs: Path, out: Path) -> None:
    """Rank run ``name`` with the installed CLI (resumes; skipped once rank.json exists)."""
    folder = out / name
    if (folder / "rank.json").is_file():
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


def selection_runs(out: Path) -> dict[str, list[dict]]:
    """The rows of every complete select.csv under ``out``, by run, in :func:`run_order`."""
    from scarlet_tf.files import read_rows

    runs = {p.parent.name: read_rows(p) for p in sorted(
        out.glob("*/select.csv"), key=lambda p: run_order(p.parent.name))}
    return {n: r for n, r in runs.items() if len(r) == SELECT["networks"]}


def selection_report(runs: dict[str, list[dict]]) -> list[dict]:
    """Per run of :func:`selection_runs`: Kendall tau of minus its loss (95% interval),
    and against its baselines (``SELECT``: learnable-e3 and any named for the run) the
    paired bootstrap of the tau difference; then kept layers, FLOPs and one seed against
    another on the same networks."""
    runs = {n: {r["code"]: r for r in rows} for n, rows in runs.items()}
    table = []
    for name, rows in runs.items():
        codes = sorted(rows)
        loss = [-float(rows[c]["supernet_loss"]) for c in codes]
        truth = [float(rows[c]["truth"]) for c in codes]
        entry = {"run": name, "networks": len(codes), **agreement(loss, truth)}
        bases = (SELECT["baseline"], *SELECT["baselines"].get(name, ()))
        entry["against"] = [{"run": base, **loss_tau_difference(rows, runs[base])}
                            for base in bases if base in runs and base != name]
        table.append(entry)
    if runs:  # the free rankers and the seed noise on the same networks
        rows = next(iter(runs.values()))
        codes = sorted(rows)
        truth = [float(rows[c]["truth"]) for c in codes]
        table += [{"run": label, "networks": len(codes), **agreement(
            [float(rows[c][key]) for c in codes], target or truth)} for key, label, target in (
            ("depth", "kept layers", None), ("flops", "FLOPs", None),
            ("seed0", "seed 0 vs seed 1", [float(rows[c]["seed1"]) for c in codes]))]
    return table


def layer_effects(rows: list[dict], key: str, sign: int = 1) -> list[float | None]:
    """Per layer of the canonical codes, the standardized effect of keeping it rather
    than skipping it on ``sign * rows[key]``: inside each depth of
    ``LAYER_EFFECTS["depths"]``, the mean score of the networks that keep it minus those
    that skip it, over the depth's standard deviation, averaged over the depths where
    both groups hold ``LAYER_EFFECTS["min_networks"]`` networks; None where none does."""
    effects = [[] for _ in rows[0]["canonical"]]
    for depth in LAYER_EFFECTS["depths"]:
        group = [r for r in rows if int(r["depth"]) == depth]
        score = sign * np.array([float(r[key]) for r in group])
        for layer, found in enumerate(effects):
            kept = np.array([r["canonical"][layer] != "0" for r in group])
            if min(kept.sum(), (~kept).sum()) >= LAYER_EFFECTS["min_networks"]:
                found.append((score[kept].mean() - score[~kept].mean()) / score.std())
    return [float(np.mean(e)) if e else None for e in effects]


def selection_effects(runs: dict[str, list[dict]]) -> dict[str, list]:
    """:func:`layer_effects` on the selection sample (:func:`selection_runs`): the
    benchmark's mean accuracy, then minus each run's supernet loss."""
    if not runs:
        return {}
    return {"benchmark": layer_effects(next(iter(runs.values())), "truth"),
            **{n: layer_effects(r, "supernet_loss", -1) for n, r in runs.items()}}


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


# ---------------------------------------------------------------- report

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


def report(out: Path) -> None:
    """summary.json and table.md from every finished stage so far."""
    from scarlet_tf.evaluation.macro_ranking import pair_kinds, read_scores
    from scarlet_tf.files import read_json, write_json

    retests = {p.parent.name: retest_report(out, p.parent.name)
               for p in sorted(out.glob("*/retest.csv"))}
    rankings = {p.parent.name: read_json(p) for p in sorted(
        out.glob("*-e*/rank.json"), key=lambda p: run_order(p.parent.name))}
    budgets = [budget_row(out, name, rankings) for name in rankings]
    pairs = stabilizer_pairs(out, rankings)
    kinds = {name: pair_kinds(read_scores(out / name / "scores.csv")) for name in rankings}
    chosen = selection_runs(out)
    selection, effects = selection_report(chosen), selection_effects(chosen)
    write_json(out / "summary.json", {"retest": retests, "rankings": rankings,
                                      "budgets": budgets, "stabilizer": pairs,
                                      "pair_kinds": kinds,
                                      "selection": selection, "layer_effects": effects,
                                      "parity": read_json(out / "parity.json")})
    lines = []
    for name, table in retests.items():
        lines += [f"Test-retest of {name}: tau between disjoint halves of search (images per "
                  "half), or between recalibration counts on all images (vs):", "",
                  "| recal batches | images | score | networks | tau [95%] | "
                  "mean accuracy |", "|---" * 6 + "|"]
        lines += [f"| {t['recal_batches']}{' vs ' + str(t['against']) if 'against' in t else ''}"
                  f" | {t['images']} | {t['score']} | {t['networks']} "
                  f"| {interval(t['kendall_tau'], t['kendall_tau_ci'])} | "
                  f"{t['mean_accuracy']:.3f} |" for t in table]
        lines.append("")
    if rankings:
        lines += ["| ranker | run | networks | Kendall tau [95%] | Spearman rho [95%] | "
                  "top-1 acc (regret) | top-10 acc (regret) |", "|---" * 7 + "|"]
        for name, r in rankings.items():
            lines += [ranker_row(label, name, r, r["rankers"][key]) for key, label in (
                ("supernet_loss", "supernet, loss"), ("supernet", "supernet, accuracy"),
                ("depth", "kept layers"), ("flops", "FLOPs"), ("seed", "seed vs seed"))]
        lines += ["", "Kendall tau inside one depth (the supernet's loss / accuracy; kept "
                  "layers cannot order these; FLOPs and one seed against another on the "
                  "same networks):", "",
                  "| ranker | " + " | ".join(f"{d} layers" for d in range(3, 9)) + " |",
                  "|---" * 7 + "|"]
        lines += [depth_row(name, r["within_depth"], lambda t: f"{t['supernet_loss']:.2f} / "
                            f"{t['supernet']:.2f} ({t['networks']})")
                  for name, r in rankings.items()]
        first = next(iter(rankings.values()))["within_depth"]
        lines += [depth_row(label, first, lambda t, k=key: f"{t[k]:.2f}")
                  for key, label in (("flops", "FLOPs"), ("seed", "seed vs seed"))
                  if key in next(iter(first.values()))]
        lines += markdown_table(
            "Budget: each run's mean supernet accuracy over the ranked networks (search "
            "split), its Kendall tau and top-10 regret (points), and the paired tau "
            "difference against the same variant's shorter budget, same networks:",
            ("run", "epochs", "mean accuracy", "tau, loss [95%]", "tau, accuracy",
             "top-10 regret, loss", "minus shorter budget [95%]"),
            [(b["run"], b["epochs"], f"{b['mean_accuracy']:.3f}",
              interval(b["tau_loss"], b["tau_loss_ci"]), f"{b['tau_accuracy']:.3f}",
              f"{100 * b['top10_regret_loss']:.2f}",
              f"{interval(a['difference'], a['interval'])} ({a['run']})"
              if (a := b.get("against")) else "-") for b in budgets])
    if kinds:
        lines += kinds_table(kinds)
    if pairs:
        lines += markdown_table(
            "Learnable stabilizer against none, same networks (paired bootstrap 95% "
            "interval of the tau difference, loss):",
            ("epochs", "tau learnable - none [95%]", "share of resamples above 0"),
            [(p["epochs"], interval(p["difference"], p["interval"]),
              f"{p['share_above_zero']:.3f}") for p in pairs])
    if selection:
        lines += markdown_table(
            f"Selection sample ({SELECT['networks']} networks outside the ranked ones, tau "
            "of the loss; minus each baseline's: paired bootstrap):",
            ("run", "tau [95%]", "minus baseline [95%]"),
            [(t["run"], interval(t["kendall_tau"], t["kendall_tau_ci"]), "; ".join(
                f"{interval(d['difference'], d['interval'])} ({d['run']})"
                for d in t.get("against", ())) or "-") for t in selection])
    if effects:
        lines += markdown_table(
            "Standardized effect of keeping a layer (counted from 0) inside one depth, "
            "averaged over depths 3-7 of the selection sample: the benchmark's accuracy, "
            "then minus each run's supernet loss:",
            ("layer", *effects), [(layer, *("-" if e[layer] is None else f"{e[layer]:+.2f}"
                                           for e in effects.values()))
                                  for layer in range(len(effects["benchmark"]))])
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def kinds_table(kinds: dict) -> list[str]:
    """Lines of the table of :func:`~scarlet_tf.evaluation.macro_ranking.pair_kinds` per
    ranked run (minus its loss), then the free rankers and the seed ceiling."""
    first = next(iter(kinds.values()))
    cell = lambda t: interval(t["tau"], t["ci"])  # noqa: E731
    return markdown_table(
        "Where the order is lost: Kendall tau-a over the pairs of one kind (the same kept "
        "layers; the same depth with other kept layers; two depths), bootstrap 95% "
        "intervals over the networks:",
        ("ranker", *(f"{label} ({first[k]['pairs']} pairs)" for k, label in (
            ("same_layers", "same kept layers"), ("same_depth", "same depth, other layers"),
            ("across_depths", "two depths")))),
        [*((f"{name}, loss", *(cell(t["supernet_loss"]) for t in k.values()))
           for name, k in kinds.items()),
         *((label, *(cell(t[key]) for t in first.values())) for key, label in (
             ("flops", "FLOPs"), ("depth", "kept layers"), ("seed", "seed vs seed")))])


def markdown_table(caption: str, columns: tuple, rows: list[tuple]) -> list[str]:
    """Lines of a markdown table under ``caption``, after a blank line."""
    return ["", caption, "", "| " + " | ".join(columns) + " |", "|---" * len(columns) + "|",
            *("| " + " | ".join(map(str, row)) + " |" for row in rows)]


def run_order(name: str) -> tuple[int, str]:
    """Sort key of run ``name`` (``<variant>-e<epochs>``): by epochs, then variant."""
    variant, epochs = name.rsplit("-e", 1)
    return int(epochs), variant


def budget_row(out: Path, name: str, rankings: dict) -> dict:
    """Run ``name``'s epochs, mean supernet accuracy over its scored networks, tau of the
    loss (95% interval) and accuracy, top-10 regret of the loss, and the paired tau
    difference against the same variant's next shorter ranked budget, if any."""
    from scarlet_tf.files import read_rows

    rows = {r["code"]: r for r in read_rows(out / name / "scores.csv")}
    loss = rankings[name]["rankers"]["supernet_loss"]
    epochs, variant = run_order(name)
    shorter = [n for n in rankings if run_order(n)[1] == variant and run_order(n)[0] < epochs]
    row = {"run": name, "epochs": epochs,
           "mean_accuracy": float(np.mean([float(r["supernet"]) for r in rows.values()])),
           "tau_loss": loss["kendall_tau"], "tau_loss_ci": loss["kendall_tau_ci"],
           "top10_regret_loss": loss["top10_regret"],
           "tau_accuracy": rankings[name]["rankers"]["supernet"]["kendall_tau"]}
    if shorter:
        base = max(shorter, key=run_order)
        row["against"] = {"run": base, **loss_tau_difference(
            rows, {r["code"]: r for r in read_rows(out / base / "scores.csv")})}
    return row


def stabilizer_pairs(out: Path, rankings: dict) -> list[dict]:
    """Per budget ranked with both variants: the paired bootstrap of tau(learnable) -
    tau(none) on minus the loss, over the networks both scored."""
    from scarlet_tf.files import read_rows

    pairs = []
    for name in (n for n in rankings if n.startswith("learnable-e")):
        other = name.replace("learnable", "none", 1)
        if other in rankings:
            ours, theirs = ({r["code"]: r for r in read_rows(out / n / "scores.csv")}
                            for n in (name, other))
            pairs.append({"epochs": run_order(name)[0], **loss_tau_difference(ours, theirs)})
    return pairs


def loss_tau_difference(ours: dict, theirs: dict) -> dict:
    """Paired bootstrap of tau(minus loss) of two runs' score rows (by code) against the
    truth, over the codes both scored, with their count (``networks``)."""
    from scarlet_tf.evaluation.ranking import bootstrap_tau_difference

    codes = sorted(set(ours) & set(theirs))
    return {"networks": len(codes), **bootstrap_tau_difference(
        [-float(ours[c]["supernet_loss"]) for c in codes],
        [-float(theirs[c]["supernet_loss"]) for c in codes],
        [float(ours[c]["truth"]) for c in codes])}


def depth_row(label: str, within: dict, cell) -> str:
    """One markdown row: ``label``, then ``cell(within[depth])`` for depths 3 to 8."""
    return f"| {label} | " + " | ".join(cell(within[d]) if d in within else "-"
                                        for d in map(str, range(3, 9))) + " |"


def interval(value, ci) -> str:
    """``value [low, high]`` to 3 places."""
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def ranker_row(label: str, name: str, ranking: dict, s: dict) -> str:
    """One markdown row of ranker ``s`` in ``ranking``."""
    return (f"| {label} | {name} | {ranking['networks']} | "
            f"{interval(s['kendall_tau'], s['kendall_tau_ci'])} | "
            f"{interval(s['spearman_rho'], s['spearman_rho_ci'])} | "
            f"{100 * s['top1_truth']:.2f} ({100 * s['top1_regret']:.2f}) | "
            f"{100 * s['top10_truth']:.2f} ({100 * s['top10_regret']:.2f}) |")


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
