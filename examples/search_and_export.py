"""The whole pipeline from Python: supernet, search, folded subnet, TFLite.

Trains a stabilized supernet of ``scarlet-cifar`` on the bundled digits, searches it for
accuracy against mult-adds under a 60M limit (NSGA-II as a keras-tuner Oracle, every
candidate scored by the :class:`scarlet_tf.Evaluator` with BatchNorm recalibrated),
extracts the most accurate feasible architecture as a plain Keras model with the
stabilizers folded away, and exports it to TFLite with the export's op and parity
checks. Prints the chosen architecture, its accuracy on the search split, its
mult-adds, and the TFLite file's size and host latency.

    python examples/search_and_export.py [--small] [--out DIR]

The full budget (all 13 choices at width 1.0, 20 steps, population 16
for 3 generations: minutes on a 2-core CPU); ``--small`` uses width 0.25, three choices
per layer, 5 steps and one generation of 4. Outputs go to ``--out`` (default
``runs/example``): ``supernet/``, ``search/`` and ``best.tflite``.
"""

import argparse
from pathlib import Path

import scarlet_tf
from scarlet_tf.search import SearchProblem, run_search


def main() -> None:
    """Run the pipeline at the chosen budget and print what it found."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a budget of seconds")
    parser.add_argument("--out", default="runs/example", help="where the outputs go")
    args = parser.parse_args()
    scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster
    out = Path(args.out)
    small = dict(width=0.25, choices="e3k3,e6k5se,skip") if args.small else {}

    supernet, history = scarlet_tf.train_supernet(scarlet_tf.SupernetConfig(
        out=str(out / "supernet"), epochs=1, steps_per_epoch=5 if args.small else 20,
        **small), verbose=False)
    evaluator = scarlet_tf.Evaluator(supernet, "digits", recal_batches=2 if args.small else 4)
    problem = SearchProblem(supernet.space, "accuracy,madds", max_madds=60_000_000)
    records = run_search(problem, evaluator.score_path, str(out / "search"), overwrite=True,
                         population=4 if args.small else 16,
                         generations=1 if args.small else 3)
    best = max((r for r in records if r["feasible"]), key=lambda r: r["accuracy"])
    print(f"best: {best['arch']} accuracy {best['accuracy']:.3f} "
          f"mult-adds {best['madds'] / 1e6:.1f}M")
    plain = scarlet_tf.extract_subnet(supernet, best["arch"], fold_stabilizers=True,
                                      evaluator=evaluator)

    from scarlet_tf.export import export
    from scarlet_tf.latency.timing import time_export

    export(plain, out / "best.tflite", quantize="none", data="digits")
    report = time_export(out / "best.tflite", runs=10 if args.small else 50)
    print(f"exported {out / 'best.tflite'}: {report['size_bytes']} bytes, top-1 agreement "
          f"with Keras {report['parity']['agreement']:.3f}, latency "
          f"{report['latency']['latency_ms']:.2f} ms on this host (fastest run over fresh "
          f"interpreters)")


if __name__ == "__main__":
    main()
