"""The supernet at full scale (19 layers x 13 choices): start-up, memory, step cost.

Two kinds of measurement, printed as one table and written to ``--out`` (JSON):

1. As a user meets it: the installed ``scarlet-tf train-supernet`` with the defaults
   (all 13 choices, digits, batch 32) in a fresh process under ``/usr/bin/time -v``,
   per (space, width, replicas, sampler): seconds from starting the command to its first
   finished step (the progress bar's first update: import, build, trace, the step), wall
   seconds of the whole one-step run (plus one checkpoint save and exit) and its peak
   resident memory.
2. In one process, side by side (scarlet-cifar, width 1.0): the supernet's steady step
   with a new uniform path every step divided by the plain model's step of the same
   paths (same SGD-with-Nesterov update, same batch); the fair step divided by 13 plain
   steps; warm-up: the first ``--warmup-steps`` uniform steps (trace included) minus as
   many steady steps; the host overhead per step (the same at batch 1, supernet minus
   plain); the Evaluator's first score after loading and its later scores.

    python bench/supernet_scale.py [--out results/supernet_scale.json] [--warmup-steps 200]
        [--spaces scarlet-cifar,scarlet] [--widths 0.5,1.0] [--replicas 1,2]
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

import numpy as np

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


def timed(step, count: int, warmup: int = 3) -> float:
    """Median seconds per call of ``step(i)``."""
    return alternated({"step": step}, {"step": count}, warmup)["step"]


def alternated(steps: dict, counts: dict, warmup: int = 3) -> dict:
    """Median seconds per call of each ``steps[name](i)``, called in turn (round i calls
    each step with ``counts[name] > i``), so a slow spell of a shared machine reaches
    all of them alike."""
    times = {name: [] for name in steps}
    for i in range(-warmup, max(counts.values())):
        for name, step in steps.items():
            if i < counts[name]:
                start = time.perf_counter()
                step(i)
                if i >= 0:
                    times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def plain_step(arch, space, batch):
    """A traced training step of the plain model of ``arch`` (Keras SGD, Nesterov)."""
    import keras
    import tensorflow as tf

    from scarlet_tf.models import build_model

    model = build_model(arch, space, zero_init_residual=True)
    optimizer = keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    images, labels = batch

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(images, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights),
                                      model.trainable_weights))
        return loss

    return lambda i: step().numpy()


def step_ratios(width: float, batch_size: int, steps: int, paths: int, warmup: int = 0,
                space: str = "scarlet-cifar") -> dict:
    """Supernet / plain step times (uniform and fair) at ``batch_size`` in ``space`` (a
    32x32 one); with ``warmup``, also the first ``warmup`` uniform steps' excess over
    steady steps."""
    import tensorflow as tf

    from scarlet_tf.training import SupernetConfig, SupernetTrainer

    rng = np.random.default_rng(0)
    batch = (tf.constant(rng.uniform(-1, 1, (batch_size, 32, 32, 3)), tf.float32),
             tf.constant(rng.integers(10, size=batch_size), tf.int32))
    result, trainers = {"space": space, "width": width, "batch": batch_size}, {}
    for sampler in ("uniform", "fair"):
        trainers[sampler] = SupernetTrainer(SupernetConfig(
            out="unused", space=space, width=width, sampler=sampler, batch_size=batch_size))
        trainers[sampler].build()
    if warmup:
        result.update(first_steps(trainers["uniform"], batch, warmup))
    samples = {name: [t.sampler.sample() for _ in range(max(paths, 4))]
               for name, t in trainers.items()}
    space = trainers["uniform"].space
    plains = [plain_step(space.decode(s[0]), space, batch) for s in samples["uniform"]]
    calls = {name: lambda i, t=trainers[name], s=samples[name]: t.step(
        *batch, s[i % len(s)], 0.01) for name in trainers}
    calls["plain"] = lambda i: plains[i % len(plains)](i)  # the uniform step's paths
    medians = alternated(calls, {"uniform": steps, "plain": steps, "fair": max(3, steps // 13)})
    result.update({f"{name}_ms": 1e3 * ms for name, ms in medians.items()})
    result["uniform_ratio"] = result["uniform_ms"] / result["plain_ms"]
    result["fair_ratio"] = result["fair_ms"] / (trainers["fair"].sampler.paths_per_step
                                                * result["plain_ms"])
    return result


def first_steps(trainer, batch, count: int) -> dict:
    """Seconds of the first ``count`` steps of a fresh trainer (a new path each, trace
    included) and their excess over ``count`` steady steps (median of the last quarter)."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        trainer.step(*batch, trainer.sampler.sample(), 0.01)
        times.append(time.perf_counter() - start)
    steady = float(np.median(times[-max(1, count // 4):]))
    return {"warmup_steps": count, "warmup_s": sum(times), "first_step_s": times[0],
            "warmup_excess_s": sum(times) - count * steady}


def evaluator_times(width: float, candidates: int) -> dict:
    """Seconds to the first score of a freshly loaded supernet, then per later score."""
    from scarlet_tf.evaluation import Evaluator
    from scarlet_tf.space import get_space
    from scarlet_tf.supernet import Supernet

    supernet = Supernet(get_space("scarlet-cifar", width=width))
    start = time.perf_counter()
    evaluator = Evaluator(supernet)
    evaluator.score(supernet.space.sample(0))
    first = time.perf_counter() - start
    later = timed(lambda i: evaluator.score(supernet.space.sample(i + 1)), candidates, 1)
    return {"first_score_s": first, "later_score_s": later}


def main():
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
    ratios = [step_ratios(1.0, args.batch_size, args.steps, 3, args.warmup_steps),
              step_ratios(1.0, 1, args.steps, 3)]
    ratios[1]["host_overhead_ms"] = ratios[1]["uniform_ms"] - ratios[1]["plain_ms"]
    evaluation = evaluator_times(1.0, 5)
    report = {"cli_runs": rows, "step_ratios": ratios, "evaluator": evaluation}
    print_table(report)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))


def print_table(report: dict) -> None:
    print("\n| space | width | replicas | sampler | batch | start to first step (s) "
          "| 1-step run (s) | peak RSS (GB) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in report["cli_runs"]:
        print(f"| {r['space']} | {r['width']} | {r['replicas']} | {r['sampler']} | "
              f"{r['batch']} | {r.get('first_step_s', r.get('error'))} | {r.get('wall_s', '')} "
              f"| {r.get('peak_rss_gb', '')} |")
    first = report["step_ratios"][0]
    if "warmup_s" in first:
        print(f"\nfirst {first['warmup_steps']} uniform steps: {first['warmup_s']:.1f} s "
              f"(first step {first['first_step_s']:.1f} s), excess over steady steps "
              f"{first['warmup_excess_s']:.1f} s")
    for r in report["step_ratios"]:
        print(f"\nbatch {r['batch']}, width {r['width']}: supernet uniform "
              f"{r['uniform_ms']:.1f} ms, fair {r['fair_ms']:.1f} ms, plain {r['plain_ms']:.1f} "
              f"ms; uniform/plain {r['uniform_ratio']:.2f}, fair/(13 plain) "
              f"{r['fair_ratio']:.2f}")
    print(f"host overhead per step (batch 1): {report['step_ratios'][1]['host_overhead_ms']:.1f} ms")
    e = report["evaluator"]
    print(f"Evaluator: first score {e['first_score_s']:.1f} s after loading, later scores "
          f"{e['later_score_s']:.2f} s")


if __name__ == "__main__":
    main()
