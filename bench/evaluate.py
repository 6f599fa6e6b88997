"""Supernet evaluation cost vs plain-model inference on the same images.

For random architectures of a trained scarlet-cifar supernet: the time of one evaluation
(BN recalibration plus scoring) divided by the time the extracted plain model takes for
inference on the same images (recalibration and scoring images together). Target <= 1.5.
Also prints evaluations per minute and resident memory after ~20 and after 200 evaluations.

    python bench/evaluate.py --supernet runs/demo [--archs 20] [--evaluations 200]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import tensorflow as tf

import scarlet_tf
from scarlet_tf.evaluation.evaluator import Evaluator
from scarlet_tf.evaluation.folding import extract_subnet
from scarlet_tf.evaluation.runs import SupernetRun


def rss_mb() -> float:
    """Resident memory of this process in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def plain_inference_s(model, batches) -> float:
    """Seconds for the plain model's inference over ``batches`` (traced beforehand)."""
    spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
    infer = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    for images, _ in batches[:1]:
        infer(images)
    start = time.perf_counter()
    for images, _ in batches:
        infer(images).numpy()
    return time.perf_counter() - start


def main():
    """Time evaluations against plain inference and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supernet", required=True)
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--evaluations", type=int, default=200)
    parser.add_argument("--recal-batches", type=int, default=4)
    parser.add_argument("--images", type=int, default=256)
    args = parser.parse_args()
    scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster

    supernet = SupernetRun(args.supernet).supernet
    space = supernet.space
    evaluator = Evaluator(supernet, recal_batches=args.recal_batches, max_images=args.images)
    evaluator.score(space.sample(0))  # trace
    ratios, eval_times = [], []
    for seed in range(1, args.archs + 1):
        arch = space.sample(seed)
        start = time.perf_counter()
        evaluator.score(arch)
        eval_times.append(time.perf_counter() - start)
        model = extract_subnet(supernet, arch)
        ratios.append(eval_times[-1] / plain_inference_s(model, evaluator.recal + evaluator.eval))
    after_first = rss_mb()
    for seed in range(args.archs + 1, args.evaluations + 1):
        evaluator.score(space.sample(seed))
    print(f"{args.archs} architectures, {args.recal_batches} recalibration batches, "
          f"{args.images} scored images")
    print(f"evaluation / plain inference on the same images: median {np.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}; target <= 1.5)")
    print(f"evaluations per minute: {60 / np.median(eval_times):.1f}")
    print(f"resident memory after {args.archs + 1} evaluations: {after_first:.0f} MB; after "
          f"{args.evaluations}: {rss_mb():.0f} MB; peak "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
