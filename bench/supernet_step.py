"""Supernet training step vs plain-model training step, measured side by side.

Prints the time per step of the supernet (a new path every step, cycling through
``--paths`` sampled architectures; masked SGD with Nesterov momentum) divided by the mean
time per step of the plain models of those same architectures, each trained on its own
fixed path (Keras SGD with Nesterov momentum, same batch), the step times and the
supernet's trace count. Target: ratio <= 1.15.

    python bench/supernet_step.py [--width 1.0] [--choices e3k3,e6k5se,skip] [--steps 30]
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

from scarlet_tf.models import build_model
from scarlet_tf.training import SupernetConfig, SupernetTrainer


def timed(step, count: int) -> float:
    """Median seconds per call of ``step(i)`` over ``count`` calls (after 3 warm-ups)."""
    for i in range(3):
        step(i)
    times = []
    for i in range(count):
        start = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def plain_step_time(arch, space, images, labels, steps) -> float:
    """Median seconds per training step of the plain model of ``arch``."""
    model = build_model(arch, space)
    optimizer = keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights),
                                      model.trainable_weights))

    return timed(lambda i: step(images, labels), steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--choices", default=None, help="restrict the choices (faster trace)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--paths", type=int, default=4)
    args = parser.parse_args()

    trainer = SupernetTrainer(SupernetConfig(out="unused", width=args.width,
                                             choices=args.choices, batch_size=args.batch_size))
    trainer.build()
    space, rng = trainer.space, np.random.default_rng(0)
    images = tf.constant(rng.normal(size=(args.batch_size, 32, 32, 3)), tf.float32)
    labels = tf.constant(rng.integers(10, size=args.batch_size), tf.int32)
    lr = tf.constant(0.01)
    start = time.perf_counter()
    trainer.train_step(images, labels, tf.constant([space.encode(space.sample(0))]), lr)
    print(f"supernet trace + first step: {time.perf_counter() - start:.1f} s")
    archs = [space.sample(s) for s in range(args.paths)]
    paths = [tf.constant([space.encode(a)], tf.int32) for a in archs]
    supernet_s = timed(lambda i: trainer.train_step(images, labels, paths[i % len(paths)], lr),
                       args.steps)
    plain_s = float(np.mean([plain_step_time(a, space, images, labels, args.steps)
                             for a in archs]))
    print(f"space scarlet-cifar width {args.width} choices {args.choices or 'all 13'} "
          f"batch {args.batch_size}")
    print(f"supernet step (random path each step): {supernet_s * 1e3:.1f} ms")
    print(f"plain model step (fixed path, mean of {len(archs)}): {plain_s * 1e3:.1f} ms")
    print(f"ratio supernet / plain: {supernet_s / plain_s:.2f} (target <= 1.15)")
    print(f"supernet train-step traces: {trainer.traces}")


if __name__ == "__main__":
    main()
