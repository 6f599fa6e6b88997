"""Why does a multi-choice supernet learn slower than one path? A short CIFAR-10 comparison.

Each run trains a supernet of ``scarlet-cifar`` (width 0.5 by default) on the shared
CIFAR-10 archive for the same number of sampled paths (400 by default: 400 uniform steps,
or 400 / C fair steps of C paths each), batch 64, and records the training accuracy on the
sampled paths per quarter of the run. Runs differ in the choice set (one fixed path, three
MBConv choices, four with skip, all 13), the learning rate and the sampler. Resumable:
finished runs are read back from their run directories.

    python studies/supernet_learning/study.py --runs /tmp/learning --out results/supernet_learning
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import scarlet_tf
from scarlet_tf.space.choices import ALL_CHOICES
from scarlet_tf.space.spaces import parse_choice_set
from scarlet_tf.training.configs import SupernetConfig
from scarlet_tf.training.supernet import train_supernet

ROOT = Path(__file__).resolve().parents[2]  # studies/<study>/study.py -> the repository
ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
FOUR = "e3k3,e6k5se,e3k7,skip"
RUNS = {  # name: (choices, lr, sampler); None = all 13 choices
    "one-path": ("e3k3", 0.1, "uniform"),
    "one-path-lr0.02": ("e3k3", 0.02, "uniform"),
    "three-no-skip": ("e3k3,e6k5se,e3k7", 0.1, "uniform"),
    "four": (FOUR, 0.1, "uniform"),
    "four-lr0.02": (FOUR, 0.02, "uniform"),
    "four-fair": (FOUR, 0.1, "fair"),
    "four-fair-lr0.02": (FOUR, 0.02, "fair"),
    "all-13": (None, 0.1, "uniform"),
}


def run(runs: Path, name: str, paths: int, width: float) -> dict:
    """Train (or read back) one run; its settings and per-quarter training accuracy."""
    choices, lr, sampler = RUNS[name]
    count = len(ALL_CHOICES) if choices is None else len(parse_choice_set(choices))
    per_step = count if sampler == "fair" else 1
    steps = paths // per_step
    config = SupernetConfig(out=str(runs / name), dataset=str(ARCHIVE), width=width,
                            choices=choices, sampler=sampler, epochs=4,
                            steps_per_epoch=max(1, steps // 4), batch_size=64, lr=lr,
                            warmup_epochs=0.5)
    _, history = train_supernet(config, verbose=False)
    return {"run": name, "choices": choices or "all 13", "lr": lr, "sampler": sampler,
            "steps": config.steps_per_epoch * 4, "paths": config.steps_per_epoch * 4 * per_step,
            "width": width, "train_accuracy_by_quarter": [round(h["accuracy"], 4) for h in history]}


def main():
    """Train (or read back) every asked run and write their curves."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/supernet_learning", help="run directories")
    parser.add_argument("--out", default="results/supernet_learning",
                        help="where learning.json goes")
    parser.add_argument("--paths", type=int, default=400, help="sampled paths per run")
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--only", default=",".join(RUNS), help="comma-separated run names")
    args = parser.parse_args()
    scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster
    rows = [run(Path(args.runs), name, args.paths, args.width) for name in args.only.split(",")]
    for row in rows:
        print(f"{row['run']:18s} {row['choices']:24s} lr {row['lr']:<5} {row['sampler']:7s} "
              f"steps {row['steps']:4d}  accuracy by quarter {row['train_accuracy_by_quarter']}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "learning.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
