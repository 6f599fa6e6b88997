"""The supernet's training step against the plain model's step of the same paths.

Side by side in one process (``scarlet-cifar``, CIFAR-sized random images): the
supernet's steady step with a new uniform path every step divided by the plain Keras
model's step of the same paths (same SGD-with-Nesterov update, same batch), the fair step
(13 paths) divided by 13 plain steps, at ``--batch-size`` and at batch 1 (where compute is
negligible, the difference is the host overhead per step, ms); with ``--warmup-steps``,
the first uniform steps' excess over steady steps (trace and first run, s); and the
Evaluator's first score after loading and its later scores (s). Steps are timed in
alternation (:func:`alternated`), so a slow spell of a shared machine reaches every
variant alike. ``nas_bench_macro_speed.py`` and ``studies/supernet_scale/study.py``
reuse these measurements.

    python bench/supernet_step.py [--batch-size 32] [--steps 20] [--warmup-steps 0]
        [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import scarlet_tf


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

    from scarlet_tf.network.models import build_model

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

    from scarlet_tf.training.configs import SupernetConfig
    from scarlet_tf.training.supernet import SupernetTrainer

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
    from scarlet_tf.evaluation.evaluator import Evaluator
    from scarlet_tf.network.supernet import Supernet
    from scarlet_tf.space.spaces import get_space

    supernet = Supernet(get_space("scarlet-cifar", width=width))
    start = time.perf_counter()
    evaluator = Evaluator(supernet)
    evaluator.score(supernet.space.sample(0))
    first = time.perf_counter() - start
    later = timed(lambda i: evaluator.score(supernet.space.sample(i + 1)), candidates, 1)
    return {"first_score_s": first, "later_score_s": later}


def measure(batch_size: int, steps: int, warmup_steps: int) -> dict:
    """Step ratios at ``batch_size`` and at batch 1 (width 1.0, 3 paths each, with the
    host overhead per step at batch 1 in ms) and the Evaluator's score times (s)."""
    ratios = [step_ratios(1.0, batch_size, steps, 3, warmup_steps),
              step_ratios(1.0, 1, steps, 3)]
    ratios[1]["host_overhead_ms"] = ratios[1]["uniform_ms"] - ratios[1]["plain_ms"]
    return {"step_ratios": ratios, "evaluator": evaluator_times(1.0, 5)}


def print_ratios(report: dict) -> None:
    """Print :func:`measure`'s numbers, one line per measurement."""
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
    overhead = report["step_ratios"][1]["host_overhead_ms"]
    print(f"host overhead per step (batch 1): {overhead:.1f} ms")
    e = report["evaluator"]
    print(f"Evaluator: first score {e['first_score_s']:.1f} s after loading, later scores "
          f"{e['later_score_s']:.2f} s")


def main() -> None:
    """Measure, print and optionally write the ratios (``--out``, JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write every number here (JSON)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per ratio")
    parser.add_argument("--warmup-steps", type=int, default=0,
                        help="time the first N uniform steps (0: skip)")
    args = parser.parse_args()
    scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster
    report = measure(args.batch_size, args.steps, args.warmup_steps)
    print_ratios(report)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
