"""The NAS-Bench-Macro study's tables: ``summary.json`` and ``table.md`` from every
finished stage under ``--out`` (the instrument's test-retest, the rankings of the 1,000
networks with their pair kinds and budgets, the stabilizer pairs, the selection sample
and its per-layer effects)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from plan import LAYER_EFFECTS, RETEST, SELECT


def retest_report(out: Path, name: str) -> list[dict]:
    """Kendall tau between the halves (accuracy, and minus loss) per recalibration count
    and image count, with bootstrap 95% intervals; then, on all images, tau between the
    scores after each recalibration count and after the most (``"against"``)."""
    from scarlet_tf.evaluation.macro_ranking import read_scores

    rows = read_scores(out / name / "retest.csv")
    table = []
    for recal in RETEST["recal_batches"]:
        chosen = [r for r in rows if int(r["recal_batches"]) == recal]
        if len(chosen) < 3:
            continue
        for n in RETEST["images"]:
            for metric, sign in (("accuracy", 1), ("loss", -1)):
                a = sign * np.array([r[f"{metric}_a{n}"] for r in chosen])
                b = sign * np.array([r[f"{metric}_b{n}"] for r in chosen])
                table.append({"recal_batches": recal, "images": n, "score": metric,
                              "networks": len(chosen), **agreement(a, b),
                              "mean_accuracy": float(np.mean([r[f"accuracy_a{n}"]
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
        return {r["code"]: (r[f"{metric}_a{n}"] + r[f"{metric}_b{n}"]) / 2
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


def selection_runs(out: Path) -> dict[str, list[dict]]:
    """The rows of every complete select.csv under ``out``, by run, in :func:`run_order`."""
    from scarlet_tf.evaluation.macro_ranking import read_scores

    runs = {p.parent.name: read_scores(p) for p in sorted(
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
        loss = [-rows[c]["supernet_loss"] for c in codes]
        truth = [rows[c]["truth"] for c in codes]
        entry = {"run": name, "networks": len(codes), **agreement(loss, truth)}
        bases = (SELECT["baseline"], *SELECT["baselines"].get(name, ()))
        entry["against"] = [{"run": base, **loss_tau_difference(rows, runs[base])}
                            for base in bases if base in runs and base != name]
        table.append(entry)
    if runs:  # the free rankers and the seed noise on the same networks
        rows = next(iter(runs.values()))
        codes = sorted(rows)
        truth = [rows[c]["truth"] for c in codes]
        table += [{"run": label, "networks": len(codes), **agreement(
            [rows[c][key] for c in codes], target or truth)} for key, label, target in (
            ("depth", "kept layers", None), ("flops", "FLOPs", None),
            ("seed0", "seed 0 vs seed 1", [rows[c]["seed1"] for c in codes]))]
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
        score = sign * np.array([r[key] for r in group])
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


def report(out: Path) -> None:
    """summary.json and table.md from every finished stage so far."""
    from scarlet_tf.evaluation.macro_ranking import pair_kinds, read_scores
    from scarlet_tf.files import read_json, write_json

    rankings = {p.parent.name: read_json(p) for p in sorted(
        out.glob("*-e*/rank.json"), key=lambda p: run_order(p.parent.name))}
    chosen = selection_runs(out)
    summary = {"retest": {p.parent.name: retest_report(out, p.parent.name)
                          for p in sorted(out.glob("*/retest.csv"))},
               "rankings": rankings,
               "budgets": [budget_row(out, name, rankings) for name in rankings],
               "stabilizer": stabilizer_pairs(out, rankings),
               "pair_kinds": {name: pair_kinds(read_scores(out / name / "scores.csv"))
                              for name in rankings},
               "selection": selection_report(chosen),
               "selection_pair_kinds": {name: pair_kinds(rows) for name, rows in chosen.items()},
               "layer_effects": selection_effects(chosen),
               "parity": read_json(out / "parity.json")}
    write_json(out / "summary.json", summary)
    lines = [*retest_lines(summary["retest"]), *ranking_lines(rankings, summary["budgets"])]
    for key, table in (("pair_kinds", kinds_table), ("stabilizer", stabilizer_table),
                       ("selection", selection_table),
                       ("selection_pair_kinds", lambda k: kinds_table(k, "selection sample")),
                       ("layer_effects", effects_table)):
        if summary[key]:
            lines += table(summary[key])
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def retest_lines(retests: dict) -> list[str]:
    """Per retested run, the table of :func:`retest_report`."""
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
    return lines


def ranking_lines(rankings: dict, budgets: list[dict]) -> list[str]:
    """The rankers of every ranked run, their tau inside each depth, and the budgets."""
    if not rankings:
        return []
    lines = ["| ranker | run | networks | Kendall tau [95%] | Spearman rho [95%] | "
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
    return lines + markdown_table(
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


def stabilizer_table(pairs: list[dict]) -> list[str]:
    """Lines of the table of :func:`stabilizer_pairs`."""
    return markdown_table(
        "Learnable stabilizer against none, same networks (paired bootstrap 95% "
        "interval of the tau difference, loss):",
        ("epochs", "tau learnable - none [95%]", "share of resamples above 0"),
        [(p["epochs"], interval(p["difference"], p["interval"]),
          f"{p['share_above_zero']:.3f}") for p in pairs])


def selection_table(selection: list[dict]) -> list[str]:
    """Lines of the table of :func:`selection_report`."""
    return markdown_table(
        f"Selection sample ({SELECT['networks']} networks outside the ranked ones, tau "
        "of the loss; minus each baseline's: paired bootstrap):",
        ("run", "tau [95%]", "minus baseline [95%]"),
        [(t["run"], interval(t["kendall_tau"], t["kendall_tau_ci"]), "; ".join(
            f"{interval(d['difference'], d['interval'])} ({d['run']})"
            for d in t.get("against", ())) or "-") for t in selection])


def effects_table(effects: dict) -> list[str]:
    """Lines of the table of :func:`selection_effects`."""
    return markdown_table(
        "Standardized effect of keeping a layer (counted from 0) inside one depth, "
        "averaged over depths 3-7 of the selection sample: the benchmark's accuracy, "
        "then minus each run's supernet loss:",
        ("layer", *effects), [(layer, *("-" if e[layer] is None else f"{e[layer]:+.2f}"
                                       for e in effects.values()))
                              for layer in range(len(effects["benchmark"]))])


def kinds_table(kinds: dict, sample: str = "ranked networks") -> list[str]:
    """Lines of the table of :func:`~scarlet_tf.evaluation.macro_ranking.pair_kinds` per
    ranked run (minus its loss; kept layers with their ties broken by it), then the free
    rankers and the seed ceiling; last, each one's all-pairs difference from kept layers."""
    first = next(iter(kinds.values()))
    cell = lambda t: interval(t["tau"], t["ci"])  # noqa: E731

    def row(label: str, by_kind: dict, key: str) -> tuple:
        every = by_kind["all_pairs"][key]
        return (label, *(cell(t[key]) for t in by_kind.values()), interval(
            every["tau"] - by_kind["all_pairs"]["depth"]["tau"], every["minus_depth_ci"]))

    return markdown_table(
        f"Where the order is lost ({sample}): Kendall tau-a (a tie counts 0) over the pairs "
        "of one kind (the same kept layers; the same depth with other kept layers; two "
        "depths) and over all pairs, bootstrap 95% intervals over the networks; last, the "
        "paired difference from kept layers over all pairs:",
        ("ranker", *(f"{label} ({first[k]['pairs']} pairs)" for k, label in (
            ("same_layers", "same kept layers"), ("same_depth", "same depth, other layers"),
            ("across_depths", "two depths"), ("all_pairs", "all pairs"))),
         "all pairs, minus kept layers"),
        [*(row(f"{name}, {label}", k, key) for name, k in kinds.items() for key, label in (
            ("supernet_loss", "loss"), ("depth_then_loss", "kept layers, then loss"))),
         *(row(label, first, key) for key, label in (
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
    rows = scores_by_code(out / name)
    loss = rankings[name]["rankers"]["supernet_loss"]
    epochs, variant = run_order(name)
    shorter = [n for n in rankings if run_order(n)[1] == variant and run_order(n)[0] < epochs]
    row = {"run": name, "epochs": epochs,
           "mean_accuracy": float(np.mean([r["supernet"] for r in rows.values()])),
           "tau_loss": loss["kendall_tau"], "tau_loss_ci": loss["kendall_tau_ci"],
           "top10_regret_loss": loss["top10_regret"],
           "tau_accuracy": rankings[name]["rankers"]["supernet"]["kendall_tau"]}
    if shorter:
        base = max(shorter, key=run_order)
        row["against"] = {"run": base, **loss_tau_difference(
            rows, scores_by_code(out / base))}
    return row


def stabilizer_pairs(out: Path, rankings: dict) -> list[dict]:
    """Per budget ranked with both variants: the paired bootstrap of tau(learnable) -
    tau(none) on minus the loss, over the networks both scored."""
    pairs = []
    for name in (n for n in rankings if n.startswith("learnable-e")):
        other = name.replace("learnable", "none", 1)
        if other in rankings:
            ours, theirs = scores_by_code(out / name), scores_by_code(out / other)
            pairs.append({"epochs": run_order(name)[0], **loss_tau_difference(ours, theirs)})
    return pairs


def scores_by_code(folder: Path) -> dict[str, dict]:
    """A run's ``scores.csv`` rows (numbers as numbers) by network code."""
    from scarlet_tf.evaluation.macro_ranking import read_scores

    return {r["code"]: r for r in read_scores(folder / "scores.csv")}


def loss_tau_difference(ours: dict, theirs: dict) -> dict:
    """Paired bootstrap of tau(minus loss) of two runs' score rows (by code) against the
    truth, over the codes both scored, with their count (``networks``)."""
    from scarlet_tf.evaluation.ranking import bootstrap_tau_difference

    codes = sorted(set(ours) & set(theirs))
    return {"networks": len(codes), **bootstrap_tau_difference(
        [-ours[c]["supernet_loss"] for c in codes],
        [-theirs[c]["supernet_loss"] for c in codes],
        [ours[c]["truth"] for c in codes])}


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
