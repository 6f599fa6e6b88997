"""How well does this host agree with itself? The ceiling for any latency table's accuracy.

A table's validation compares its predictions with a fresh measurement, so it can be no
more accurate than two measurements of the same models agree. This converts ``--count``
stratified architectures of a space once (``scarlet_tf.space.stratified_archs``, the validation's
own strata), times them ``--repeats`` times in a row with the tables' protocol
(``timing.measure``: round-robin passes of fresh interpreters), and prints how each
repeat agrees with the first: the median ratio (a slow or fast spell of the whole host)
and the fractions within ±10% and ±5%, as a validation would count them. Writes the
timings as JSON with ``--out``. Time it pinned on a shared machine:

    taskset -c 1 /usr/bin/time -v python studies/latency/latency_repeatability.py \
        --out results/latency/repeatability.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from scarlet_tf.latency import builder
from scarlet_tf.latency.timing import HostRunner, measure
from scarlet_tf.space import STRATA, stratified_archs
from scarlet_tf.space.spaces import get_space


def agreement(first, other) -> dict:
    """How ``other``'s ms agree with ``first``'s, counted as a validation counts errors."""
    ratio = np.asarray(other) / np.asarray(first) - 1
    return {"median_ratio": float(np.median(ratio) + 1), "sd": float(ratio.std()),
            **{k: v for k, v in builder.accuracy([{"error": r} for r in ratio]).items()
               if k != "count"}}


def main() -> None:
    """Convert once, time ``--repeats`` times, print and write the agreement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="scarlet-cifar")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--out")
    args = parser.parse_args()
    space = get_space(args.space)
    archs = stratified_archs(space, args.count, args.seed)
    timings, seconds = [], []
    with tempfile.TemporaryDirectory() as folder:
        paths = builder.convert_archs(archs, space, Path(folder))
        print(f"converted {len(paths)} architectures of {args.space}", flush=True)
        for repeat in range(args.repeats):
            start = time.perf_counter()
            timings.append([t.latency_ms for t in measure(paths, HostRunner())])
            seconds.append(time.perf_counter() - start)
            print(f"repeat {repeat + 1}: {seconds[-1]:.0f} s", flush=True)
    rows = [agreement(timings[0], other) for other in timings[1:]]
    print("repeat vs first | median ratio | sd    | within ±10% | within ±5% | mean |dev|")
    for i, row in enumerate(rows, 2):
        print(f"{i:15d} | {row['median_ratio']:12.3f} | {row['sd']:.3f} | "
              f"{row['within_10']:11.0%} | {row['within_5']:10.0%} | {row['mean_abs']:.3f}")
    if args.out:
        Path(args.out).write_text(json.dumps(
            {"space": args.space, "host": HostRunner().describe(), "archs": list(map(str, archs)),
             "strata": [STRATA[i % len(STRATA)] for i in range(len(archs))],
             "ms": timings, "seconds": seconds, "agreement": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
