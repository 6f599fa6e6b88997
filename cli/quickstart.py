"""``scarlet-tf quickstart``: the whole pipeline at toy scale, in minutes on a laptop CPU.

It runs the same commands a user runs at full scale, in order, and prints each one:
train-supernet -> search -> export-tflite (folded supernet weights) -> benchmark.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import click

# A small stabilized supernet: quarter width, four choices per layer (skip included),
# FairNAS sampling (at a budget this small, uniform single paths stay near chance).
TOY = {"width": "0.25", "choices": "e3k3,e3k5se,e6k3,skip", "sampler": "fair",
       "epochs": "8", "steps-per-epoch": "20", "batch-size": "32"}


def madds_limit(width: float, choices: str) -> int:
    """Half-way between the cheapest and the costliest architecture of the toy space."""
    from scarlet_tf.search import SearchProblem
    from scarlet_tf.space import get_space

    space = get_space("scarlet-cifar", width=width, choices=choices)
    low, high = SearchProblem(space).bounds["madds"]
    return int((low + high) / 2)


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
    """Train a toy supernet, search it, export the best model to TFLite and time it."""
    started = time.time()
    out = Path(out)
    again = ["--overwrite"] if overwrite else []
    supernet, search, tflite = out / "supernet", out / "search", out / "best.tflite"
    limit = madds_limit(float(TOY["width"]), TOY["choices"])
    toy = [arg for key, value in TOY.items() for arg in (f"--{key}", value)]
    run_step("1/4 train a stabilized supernet", ["train-supernet", "--out", str(supernet),
                                                 "--dataset", dataset, *toy, *again])
    run_step("2/4 evolutionary search under a mult-add limit",
             ["search", "--supernet", str(supernet), "--out", str(search), "--max-madds",
              str(limit), "--population", "12", "--generations", "3", "--recal-batches", "4",
              *again])
    best = json.loads((search / "best.json").read_text())
    run_step("3/4 export the best architecture (supernet weights, stabilizers folded)",
             ["export-tflite", best["arch"], "--supernet", str(supernet), "--out", str(tflite),
              "--parity-images", "100"])
    run_step("4/4 time it on this CPU (LiteRT, XNNPACK)",
             ["benchmark", str(tflite), "--runs", "50"])
    click.echo(summary(out, best, limit, time.time() - started))


def summary(out: Path, best: dict, limit: int, seconds: float) -> str:
    """Where everything is, the front, the chosen model, and the commands for real scale."""
    front = json.loads((out / "search" / "pareto.json").read_text())
    members = front["front"] if isinstance(front, dict) else front
    report = json.loads((out / "best.tflite.json").read_text())
    lines = [f"\n== done in {seconds / 60:.1f} min; artifacts in {out}/",
             f"supernet          {out}/supernet (config.json, checkpoints/, history.json, logs/)",
             f"search            {out}/search (pareto.json, history.csv, pareto.png, best.json)",
             f"TFLite model      {out}/best.tflite (+ best.tflite.json report)",
             f"\nPareto front ({len(members)} architectures, mult-add limit {limit / 1e6:.2f}M):"]
    for member in sorted(members, key=lambda m: m["madds"]):
        lines.append(f"  acc {member['accuracy']:.3f}  {member['madds'] / 1e6:6.2f}M MAdds  "
                     f"{member['arch']}")
    lines += [f"\nbest: {best['arch']}",
              f"  supernet accuracy {best['accuracy']:.3f} (search split), "
              f"{best['madds'] / 1e6:.2f}M MAdds, {best['params'] / 1e6:.3f}M params",
              f"  TFLite latency {report['latency']['median_ms']:.2f} ms (median, "
              f"{report['latency']['threads']} thread), parity top-1 agreement "
              f"{report['parity']['agreement']:.3f}",
              "\nAt real scale (see the README): train-supernet --space scarlet --dataset "
              "tfds:imagenet2012 --epochs 150; search --max-madds 365M; train-subnet ARCH; "
              "export-tflite ARCH --weights model.keras --quantize int8."]
    return "\n".join(lines)


COMMANDS = [quickstart]
