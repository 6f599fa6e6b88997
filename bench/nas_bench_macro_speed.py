"""The nas-bench-macro supernet's speed against plain Keras models of the same paths.

Side by side in one process (width 1.0, CIFAR-sized random images): the supernet's
training step with a new uniform path each step divided by the plain model's step of the
same paths (target <= 1.05), and the fair step divided by its paths' plain steps; then the
cost of scoring one network (BatchNorm recalibration on ``--recal-batches`` batches plus
accuracy on ``--images`` images, as ``scarlet-tf rank`` does) divided by the plain model
running the same images the same way (target <= 1.2), and the networks scored per hour.
Run under ``/usr/bin/time -v`` for the peak memory:

    /usr/bin/time -v python bench/nas_bench_macro_speed.py [--out results/....json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from supernet_step import alternated, step_ratios

import scarlet_tf

SPACE = "nas-bench-macro"


def scoring_ratio(dataset: str, recal_batches: int, images: int, networks: int) -> dict:
    """Seconds per Evaluator score and per plain model running the same images (training
    mode over the recalibration batches, inference over the scored ones; each traced once
    per model before timing), alternated over ``networks`` depth-stratified codes."""
    import tensorflow as tf

    from scarlet_tf.evaluation import nas_bench_macro
    from scarlet_tf.evaluation.evaluator import Evaluator
    from scarlet_tf.network.models import build_model
    from scarlet_tf.network.supernet import Supernet
    from scarlet_tf.space.spaces import get_space

    space = get_space(SPACE)
    evaluator = Evaluator(Supernet(space), dataset, recal_batches=recal_batches,
                          max_images=images)
    codes = nas_bench_macro.depth_stratified(networks, seed=3)
    plains = [build_model(code, space) for code in codes]
    recal = [tf.function(lambda x, m=m: m(x, training=True)) for m in plains]
    infer = [tf.function(lambda x, m=m: m(x, training=False)) for m in plains]

    def plain(i):
        for x, _ in evaluator.recal:
            recal[i % len(plains)](x).numpy()
        for x, _ in evaluator.eval:
            infer[i % len(plains)](x).numpy()

    for i in range(networks):  # trace every plain model's two functions
        plain(i)
    calls = {"score": lambda i: evaluator.score(codes[i % len(codes)]), "plain": plain}
    medians = alternated(calls, {"score": networks, "plain": networks}, warmup=1)
    return {"recal_images": sum(int(y.shape[0]) for _, y in evaluator.recal),
            "score_images": sum(int(y.shape[0]) for _, y in evaluator.eval),
            "score_s": medians["score"], "plain_s": medians["plain"],
            "ratio": medians["score"] / medians["plain"],
            "networks_per_hour": 3600 / medians["score"]}


def main():
    """Measure the step and scoring ratios, print them, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write every number here (JSON)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per ratio")
    parser.add_argument("--recal-batches", type=int, default=5)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--networks", type=int, default=8)
    parser.add_argument("--dataset", default="digits",
                        help="digits, or e.g. the CIFAR-10 archive for 512 scored images")
    args = parser.parse_args()
    scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster
    start = time.perf_counter()
    steps = step_ratios(1.0, args.batch_size, args.steps, 4, space=SPACE)
    print(f"{SPACE} width 1.0, batch {steps['batch']}: supernet uniform "
          f"{steps['uniform_ms']:.0f} ms, plain {steps['plain_ms']:.0f} ms (ratio "
          f"{steps['uniform_ratio']:.3f}); fair {steps['fair_ms']:.0f} ms (ratio "
          f"{steps['fair_ratio']:.3f})", flush=True)
    scoring = scoring_ratio(args.dataset, args.recal_batches, args.images, args.networks)
    print(f"scoring one network ({scoring['recal_images']} recalibration + "
          f"{scoring['score_images']} scored images): {scoring['score_s']:.2f} s, plain "
          f"{scoring['plain_s']:.2f} s (ratio {scoring['ratio']:.3f}); "
          f"{scoring['networks_per_hour']:.0f} networks per hour")
    report = {"steps": steps, "scoring": scoring, "seconds": time.perf_counter() - start,
              "numpy": np.__version__}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
