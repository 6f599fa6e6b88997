"""The supernet at full scale (19 layers x 13 choices): start-up, memory, step cost.

Two kinds of measurement, printed as one table and written to ``--out`` (JSON):

1. As a user meets it: the installed ``scarlet-tf train-supernet`` with the defaults
   (all 13 choices, digits, batch 32) in a fresh process under ``/usr/bin/time -v``,
   per (space, width, replicas, sampler): seconds from starting the command to its first
   finished step (the progress bar's first update: import, build, trace, the step), wall
   seconds of the whole one-step run (plus one checkpoint save and exit) and its peak
   resident memory.
2. In one process, side by side (scarlet-cifar, width 1.0): ``bench/supernet_step.py``'s
   ratios of the supernet's step to the plain model's step of the same paths (uniform
   and fair, at ``--batch-size`` and at batch 1), the first ``--warmup-steps`` uniform
   steps' excess over steady steps, and the Evaluator's first and later scores.

    python studies/supernet_scale/study.py [--out results/supernet_scale/supernet_scale.json]
        [--warmup-steps 200] [--spaces scarlet-cifar,scarlet] [--widths 0.5,1.0]
        [--replicas 1,2]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))  # the side-by-side step measurements

from supernet_step import measure, print_ratios  # noqa: E402  (bench/supernet_step.py)

SCRIPT = str(Path(sys.executable).with_name("scarlet-tf"))


def cli_run(space, width, replicas, sampler, batch) -> dict:
    """Seconds to the first finished step, wall seconds and peak RSS (GB) of a one-step
    ``train-supernet`` run."""
    with tempfile.TemporaryDirectory() as out:
        command = ["/usr/bin/time", "-v", SCRIPT, "train-supernet", "--out", out,
                   "--space", space, "--width", str(width), "--replicas", str(replicas),
                   "--sampler", sampler, "--epochs", "1", "--steps-per-epoch", "1",
                   "--batch-size", str(batch)]
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first, seen = None, b""
        while chunk := process.stdout.read1(4096):
            seen += chunk
            if first is None and b"/step" in seen:  # the progress bar after step 1
                first = time.perf_counter() - start
        stderr = process.stderr.read().decode()
        wall = time.perf_counter() - start
    if process.wait() != 0:
        return {"error": stderr.strip().splitlines()[-1]}
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)[1])
    return {"first_step_s": round(first, 1), "wall_s": round(wall, 1),
            "peak_rss_gb": round(rss_kb / 2**20, 2)}


def main():
    """Time every CLI configuration, then the side-by-side ratios; print and write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write every number here (JSON)")
    parser.add_argument("--spaces", default="scarlet-cifar,scarlet")
    parser.add_argument("--widths", default="0.5,1.0")
    parser.add_argument("--replicas", default="1,2")
    parser.add_argument("--samplers", default="uniform,fair")
    parser.add_argument("--warmup-steps", type=int, default=200,
                        help="time the first N uniform steps in process (0: skip)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per ratio")
    args = parser.parse_args()
    rows = []
    for space, width, replicas, sampler in itertools.product(
            args.spaces.split(","), map(float, args.widths.split(",")),
            map(int, args.replicas.split(",")), args.samplers.split(",")):
        batch = args.batch_size if space == "scarlet-cifar" else 8 * replicas
        row = {"space": space, "width": width, "replicas": replicas, "sampler": sampler,
               "batch": batch, **cli_run(space, width, replicas, sampler, batch)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    report = {"cli_runs": rows, **measure(args.batch_size, args.steps, args.warmup_steps)}
    print_table(report)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))


def print_table(report: dict) -> None:
    """Print the start-up table and the side-by-side ratios."""
    print("\n| space | width | replicas | sampler | batch | start to first step (s) "
          "| 1-step run (s) | peak RSS (GB) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in report["cli_runs"]:
        print(f"| {r['space']} | {r['width']} | {r['replicas']} | {r['sampler']} | "
              f"{r['batch']} | {r.get('first_step_s', r.get('error'))} | {r.get('wall_s', '')} "
              f"| {r.get('peak_rss_gb', '')} |")
    print_ratios(report)


if __name__ == "__main__":
    main()
