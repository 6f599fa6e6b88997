"""``scarlet-tf quickstart``: the whole pipeline at toy scale, in minutes on a laptop CPU.

It runs the same commands a user runs at full scale, in order, and prints each one:
train-supernet -> search -> train-subnet (the chosen architecture, fine-tuned from its
folded supernet weights) -> export-tflite -> benchmark.

The supernet is the default space (19 layers, width 1.0) with two choices per layer,
``e3k3`` or ``skip``: a depth search. A supernet's scores need a number of steps that
grows with the weighted choices per layer (:mod:`scarlet_tf.training.budget`): minutes of
CPU suffice for one weighted choice, not for 12.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import click

CHOICES = "e3k3,skip"
TOY = {"choices": CHOICES, "epochs": "8", "steps-per-epoch": "20", "batch-size": "64"}
FINE_TUNE = {"epochs": "4", "lr": "0.02", "batch-size": "64"}


def madds_limit() -> int:
    """Half-way between the cheapest and the costliest architecture of the space."""
    from scarlet_tf.search import SearchProblem
    from scarlet_tf.space.spaces import get_space

    space = get_space("scarlet-cifar", choices=CHOICES)
    low, high = SearchProblem(space).bounds["madds"]
    return int((low + high) / 2)


def settings_note() -> str:
    """Why these supernet settings: the steps it trains against those its choices need."""
    from scarlet_tf.space.spaces import get_space
    from scarlet_tf.training.budget import TO_APPROACH_ONE_PATH, steps_needed

    steps = int(TOY["epochs"]) * int(TOY["steps-per-epoch"])
    needed = steps_needed(get_space("scarlet-cifar", choices=CHOICES))
    full = steps_needed(get_space("scarlet-cifar"))
    return (f"Supernet: every layer offers {CHOICES.replace(',', ' or ')} (a depth search "
            f"with one weighted choice) for {steps} steps, above the "
            f"{TO_APPROACH_ONE_PATH * needed} after which its scores approach one path's. All "
            f"13 choices (12 with weights) need about {full} steps to leave chance and "
            f"{TO_APPROACH_ONE_PATH * full} to approach one path's, too many for a quickstart "
            f"(studies/supernet_law).")


def run_step(title: str, args: list[str]):
    """Print and run one scarlet-tf command in this process; returns its result."""
    from .main import cli

    click.secho(f"\n== {title}\n$ scarlet-tf {shlex.join(args)}", bold=True)
    return cli.main(args=args, prog_name="scarlet-tf", standalone_mode=False)


@click.command()
@click.option("--out", default="runs/quickstart", show_default=True,
              type=click.Path(file_okay=False), help="Where every artifact goes.")
@click.option("--dataset", default="digits", show_default=True,
              help="digits (bundled), a folder/.tar.gz with train/ and test/, or tfds:NAME.")
@click.option("--overwrite", is_flag=True, help="Start over instead of resuming.")
def quickstart(out, dataset, overwrite):
    """Train a supernet, search it, train the best model, export it to TFLite, time it."""
    started = time.time()
    out = Path(out)
    again = ["--overwrite"] if overwrite else []
    supernet, search, model = out / "supernet", out / "search", out / "model"
    tflite, limit = out / "best.tflite", madds_limit()
    click.echo(settings_note())
    run_step("1/5 train a stabilized supernet (two choices per layer)",
             ["train-supernet", "--out", str(supernet), "--dataset", dataset, *flags(TOY),
              *again])
    run_step("2/5 evolutionary search under a mult-add limit",
             ["search", "--supernet", str(supernet), "--out", str(search), "--max-madds",
              str(limit), "--population", "12", "--generations", "3", "--recal-batches", "4",
              *again])
    best = json.loads((search / "best.json").read_text())
    run_step("3/5 train the best architecture (fine-tuned from its supernet weights)",
             ["train-subnet", best["arch"], "--out", str(model), "--dataset", dataset,
              "--init-from-supernet", str(supernet), *flags(FINE_TUNE), *again])
    run_step("4/5 export it to TFLite (with a parity check)",
             ["export-tflite", best["arch"], "--weights", str(model / "model.keras"),
              "--space", "scarlet-cifar", "--out", str(tflite), "--parity-images", "100"])
    run_step("5/5 time it on this CPU (LiteRT, XNNPACK)",
             ["benchmark", str(tflite), "--runs", "50"])
    click.echo(summary(out, best, limit, time.time() - started))


def flags(settings: dict) -> list[str]:
    """``{"epochs": "6"}`` -> ``["--epochs", "6"]``."""
    return [arg for key, value in settings.items() for arg in (f"--{key}", value)]


def summary(out: Path, best: dict, limit: int, seconds: float) -> str:
    """Where everything is, the front, the chosen model, and the commands for real scale."""
    from scarlet_tf.latency.timing import describe_latency

    front = json.loads((out / "search" / "pareto.json").read_text())
    members = front["front"] if isinstance(front, dict) else front
    report = json.loads((out / "best.tflite.json").read_text())
    trained = json.loads((out / "model" / "result.json").read_text())
    lines = [f"\n== done in {seconds / 60:.1f} min; artifacts in {out}/",
             f"supernet          {out}/supernet (config.json, checkpoints/, history.json, logs/)",
             f"search            {out}/search (pareto.json, history.csv, pareto.png, best.json)",
             f"trained model     {out}/model (model.keras, result.json, history.json)",
             f"TFLite model      {out}/best.tflite (+ best.tflite.json report)",
             f"\nPareto front ({len(members)} architectures, mult-add limit {limit / 1e6:.2f}M):"]
    for member in sorted(members, key=lambda m: m["madds"]):
        lines.append(f"  acc {member['accuracy']:.3f}  {member['madds'] / 1e6:6.2f}M MAdds  "
                     f"{member['arch']}")
    lines += [f"\nbest: {best['arch']}",
              f"  {best['madds'] / 1e6:.2f}M MAdds, {best['params'] / 1e6:.3f}M params",
              f"  search split accuracy: supernet estimate {best['accuracy']:.3f} (shared "
              f"weights, BatchNorm recalibrated) -> {trained['search_accuracy']:.3f} trained "
              f"alone; test accuracy {trained['test_accuracy']:.3f}",
              f"  TFLite {describe_latency(report['latency'])}",
              f"  parity top-1 agreement {report['parity']['agreement']:.3f}",
              "\nAt real scale (see the docs' recipes): train-supernet --space scarlet --dataset "
              "tfds:imagenet2012 --epochs 150 (all 13 choices: thousands of updates each); "
              "search --max-madds 365M; train-subnet ARCH; export-tflite ARCH --weights "
              "model.keras --quantize int8."]
    return "\n".join(lines)
