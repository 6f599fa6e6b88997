"""Float32 TFLite latency at 224x224 on this CPU: SCARLET-A/B/C against reference networks.

Every model is converted the same way (``scarlet_tf.export.to_tflite``: batch 1, frozen
variables) and timed with the LiteRT interpreter + XNNPACK at 1 and 2 threads in one run.
Prints median and fastest ms, mult-adds (conv + dense, read off the Keras graph) and ms per
GMAC, then SCARLET-A's ms per GMAC relative to EfficientNetB0's.

    python bench/tflite_latency.py [--runs 30] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import keras

from scarlet_tf.export import keras_madds, to_tflite
from scarlet_tf.timing import benchmark
from scarlet_tf.models import build_model

SHAPE = (224, 224, 3)
REFERENCES = {
    "MobileNetV2-1.0": lambda: keras.applications.MobileNetV2(SHAPE, weights=None),
    "MobileNetV3Large": lambda: keras.applications.MobileNetV3Large(SHAPE, weights=None),
    "EfficientNetB0": lambda: keras.applications.EfficientNetB0(input_shape=SHAPE, weights=None),
}


def models():
    """Yield (name, Keras model) at 224x224, 1000 classes."""
    for name in ("scarlet-a", "scarlet-b", "scarlet-c"):
        yield name.upper(), build_model(name, "scarlet")
    for name, make in REFERENCES.items():
        yield name, make()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        converted = []
        for name, model in models():
            path = Path(folder) / f"{name}.tflite"
            path.write_bytes(to_tflite(model))
            converted.append((name, path, keras_madds(model)))
        for threads in args.threads:
            for name, path, madds in converted:
                timing = benchmark(path, threads=threads, runs=args.runs, warmup=5)
                rows.append((name, threads, timing.median_ms, timing.min_ms, madds))
    print(f"{'model':18} {'threads':>7} {'median ms':>10} {'min ms':>8} {'MAdds (M)':>10} "
          f"{'ms/GMAC (median)':>17} {'ms/GMAC (min)':>14}")
    for name, threads, median, fastest, madds in rows:
        print(f"{name:18} {threads:7d} {median:10.2f} {fastest:8.2f} {madds / 1e6:10.1f} "
              f"{median / (madds / 1e9):17.1f} {fastest / (madds / 1e9):14.1f}")
    for threads in args.threads:
        per_gmac = {name: (median / madds, fastest / madds)
                    for name, t, median, fastest, madds in rows if t == threads}
        a, b0 = per_gmac["SCARLET-A"], per_gmac["EfficientNetB0"]
        print(f"{threads} thread(s): SCARLET-A ms/GMAC relative to EfficientNetB0: "
              f"{a[0] / b0[0]:.2f}x (median), {a[1] / b0[1]:.2f}x (min)")


if __name__ == "__main__":
    main()
