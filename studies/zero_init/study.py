"""Does starting residual blocks as the identity help a supernet learn? CIFAR-10 check.

Trains full-space supernets (all 13 choices, width 1.0 by default) on the shared CIFAR-10
archive for a short, equal budget, with ``zero_init_residual`` on and off, for each
sampler and stabilizer asked for, and prints the training accuracy of the last epoch
(on the sampled paths) and its loss. Resumable: finished runs are read back.

    python studies/zero_init/study.py --out results/zero_init --runs runs/zero_init [--steps 200]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import scarlet_tf
from scarlet_tf.training.configs import SupernetConfig
from scarlet_tf.training.supernet import train_supernet

ROOT = Path(__file__).resolve().parents[2]  # studies/<study>/study.py -> the repository
ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"


def run(runs: Path, sampler: str, stabilizer: str, zero: bool, steps: int, width: float,
        batch: int) -> dict:
    """Train one supernet (or read its finished history); its last epoch's record."""
    name = f"{sampler}-{stabilizer}-{'zero' if zero else 'plain'}"
    epochs = 4
    config = SupernetConfig(out=str(runs / name), dataset=str(ARCHIVE), width=width,
                            sampler=sampler, stabilizer=stabilizer, zero_init_residual=zero,
                            epochs=epochs, steps_per_epoch=max(1, steps // epochs),
                            batch_size=batch, lr=0.1, warmup_epochs=0.5)
    _, history = train_supernet(config, verbose=False)
    return {"run": name, "sampler": sampler, "stabilizer": stabilizer, "zero_init": zero,
            "steps": config.steps_per_epoch * epochs, "width": width, "batch": batch,
            "train_accuracy": round(history[-1]["accuracy"], 4),
            "train_loss": round(history[-1]["loss"], 4),
            "curve": [round(h["accuracy"], 4) for h in history]}


def main():
    """Train (or read back) every asked run and write their last epochs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/zero_init", help="the results (JSON)")
    parser.add_argument("--runs", default="runs/zero_init",
                        help="the supernet run directories (not to be committed)")
    parser.add_argument("--steps", type=int, default=200, help="uniform steps per run")
    parser.add_argument("--fair-steps", type=int, default=16, help="fair steps (13 paths each)")
    parser.add_argument("--samplers", default="uniform,fair")
    parser.add_argument("--stabilizers", default="learnable,none")
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for sampler, stabilizer, zero in itertools.product(
            args.samplers.split(","), args.stabilizers.split(","), (True, False)):
        steps = args.steps if sampler == "uniform" else args.fair_steps
        rows.append(run(Path(args.runs), sampler, stabilizer, zero, steps, args.width,
                        args.batch_size))
        print(json.dumps(rows[-1]), flush=True)
        (out / "zero_init.json").write_text(json.dumps(rows, indent=2))
    print("\n| sampler | stabilizer | zero-init | steps | train accuracy | loss |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sampler']} | {r['stabilizer']} | {r['zero_init']} | {r['steps']} | "
              f"{r['train_accuracy']:.3f} | {r['train_loss']:.3f} |")


if __name__ == "__main__":
    main()
