"""TFLite latency at 224x224 on this CPU: SCARLET-A/B/C in float32, float16 and int8
against float32 reference networks, and two float32 variants of SCARLET-A that show
why mult-adds misrank this runtime (every 7x7 kernel made 5x5; every kernel 3x3).

Every model is converted the same way (``scarlet_tf.export.tflite.to_tflite``: batch 1, frozen
variables) and timed with the LiteRT interpreter + XNNPACK in one run. SCARLET weights are
random (latency does not depend on their values) with BatchNorm statistics recalibrated on
digits (``export.recalibrate_random_init``), which also calibrates int8. Prints median and
fastest ms, mult-adds (conv + dense, read off the Keras graph), ms per GMAC and each
SCARLET model's speed-up over its own float32 model; writes the rows as JSON with
``--out``. Time it pinned on a shared machine:

    taskset -c 1 nice -n -10 /usr/bin/time -v python studies/latency/tflite_latency.py \
        --threads 1 --out results/latency/tflite_latency.json
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

import keras

from scarlet_tf.export.parity import real_images
from scarlet_tf.export.pipeline import recalibrate_random_init
from scarlet_tf.export.tflite import keras_madds, to_tflite
from scarlet_tf.latency.timing import HostRunner, benchmark
from scarlet_tf.network.models import build_model
from scarlet_tf.space.spaces import Architecture

SHAPE = (224, 224, 3)
REFERENCES = {
    "MobileNetV2-1.0": lambda: keras.applications.MobileNetV2(SHAPE, weights=None),
    "MobileNetV3Large": lambda: keras.applications.MobileNetV3Large(SHAPE, weights=None),
    "EfficientNetB0": lambda: keras.applications.EfficientNetB0(input_shape=SHAPE, weights=None),
}
SCARLET_A = str(Architecture.parse("scarlet-a"))
VARIANTS = {"SCARLET-A k7->k5": SCARLET_A.replace("k7", "k5"),
            "SCARLET-A all-k3": re.sub(r"k[57]", "k3", SCARLET_A)}


def flatbuffers(quantizations):
    """Yield (name, quantization, TFLite bytes, mult-adds) at 224x224, 1000 classes."""
    images = real_images("digits", "train", 100, SHAPE[0])[0]
    for name in ("scarlet-a", "scarlet-b", "scarlet-c"):
        model = build_model(name, "scarlet")
        recalibrate_random_init(model, images)
        for quantize in quantizations:
            yield name.upper(), quantize, to_tflite(model, quantize=quantize,
                                                    representative=images), keras_madds(model)
    for name, arch in VARIANTS.items():
        model = build_model(arch, "scarlet")
        yield name, "none", to_tflite(model), keras_madds(model)
    for name, make in REFERENCES.items():
        model = make()
        yield name, "none", to_tflite(model), keras_madds(model)


def main() -> None:
    """Convert and time every model, print the table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--quantize", nargs="+", default=["none", "float16", "int8"])
    parser.add_argument("--out", type=Path, help="Write the rows and host settings as JSON.")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        converted = []
        for name, quantize, flatbuffer, madds in flatbuffers(args.quantize):
            path = Path(folder) / f"{name}-{quantize}.tflite"
            path.write_bytes(flatbuffer)
            converted.append((name, quantize, path, madds))
        for threads in args.threads:
            for name, quantize, path, madds in converted:
                timing = benchmark(path, threads=threads, runs=args.runs, warmup=5)
                rows.append({"model": name, "quantize": quantize, "threads": threads,
                             "median_ms": timing.one.median_ms, "min_ms": timing.latency_ms,
                             "madds": madds, "size_bytes": path.stat().st_size})
    print_table(rows)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        host = {k: v for k, v in HostRunner().describe().items() if k not in ("runs", "threads")}
        args.out.write_text(json.dumps({"host": host, "runs": args.runs, "rows": rows},
                                       indent=1) + "\n")


def print_table(rows) -> None:
    """One line per model, quantization and thread count; speed-up over float32."""
    fp32 = {(r["model"], r["threads"]): r["median_ms"] for r in rows if r["quantize"] == "none"}
    print(f"{'model':18} {'quantize':8} {'threads':>7} {'median ms':>10} {'min ms':>8} "
          f"{'MB':>6} {'MAdds (M)':>10} {'ms/GMAC':>8} {'x fp32':>7}")
    for r in rows:
        print(f"{r['model']:18} {r['quantize']:8} {r['threads']:7d} {r['median_ms']:10.2f} "
              f"{r['min_ms']:8.2f} {r['size_bytes'] / 1e6:6.1f} {r['madds'] / 1e6:10.1f} "
              f"{r['median_ms'] / (r['madds'] / 1e9):8.1f} "
              f"{fp32[(r['model'], r['threads'])] / r['median_ms']:7.2f}")


if __name__ == "__main__":
    main()
