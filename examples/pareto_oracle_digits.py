"""Pareto search for any keras-tuner model: ParetoOracle on the bundled digits.

A small dense model on scikit-learn's 8x8 digits, maximizing validation accuracy and
minimizing the parameter count (``ParamCount`` logs it as the metric ``params`` each
epoch) with :class:`scarlet_tf.search.ParetoOracle` (NSGA-II as a ``keras_tuner.Oracle``)
and the stock ``kt.Tuner``. Prints the Pareto front (most accurate first) and its
hypervolume against the reference point (accuracy 0, 20,000 parameters), and plots
every trial with the front to ``pareto_digits.png``. About 20 s on a 2-core CPU.

    python examples/pareto_oracle_digits.py [--small] [--out DIR]

``--small`` trains each trial one epoch instead of two; ``--out`` is keras-tuner's
directory (default ``pareto_digits``, overwritten) and where the plot goes.
"""

import argparse
from pathlib import Path

import keras
import keras_tuner as kt
from sklearn.datasets import load_digits

from scarlet_tf.search import ParamCount, ParetoOracle, hypervolume, plot_front

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--small", action="store_true", help="one epoch per trial")
parser.add_argument("--out", default="pareto_digits", help="keras-tuner's directory")
args = parser.parse_args()

x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")


def build(hp):
    """A 1- or 2-layer dense classifier; every size, activation and rate searched."""
    model = keras.Sequential([keras.Input((64,))])
    for i in range(hp.Int("layers", 1, 2)):
        with hp.conditional_scope("layers", list(range(i + 1, 3))):  # units1 only if 2
            units = hp.Int(f"units{i}", 4, 128, sampling="log")
        model.add(keras.layers.Dense(units, activation=hp.Choice("act", ["relu", "tanh"])))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-3, 3e-2, sampling="log")),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


objectives = [kt.Objective("val_accuracy", "max"), kt.Objective("params", "min")]
oracle = ParetoOracle(objectives, population=4, generations=2, seed=0)
tuner = kt.Tuner(oracle=oracle, hypermodel=build, directory=args.out, overwrite=True)
tuner.search(x[:1200], y[:1200], validation_data=(x[1200:], y[1200:]),
             epochs=1 if args.small else 2,
             callbacks=[ParamCount()], verbose=0)  # ParamCount logs "params" each epoch

front = oracle.get_best_trials()  # the Pareto front, most accurate first
for trial in front:
    print(trial.hyperparameters.values, oracle.metrics(trial))
print("hypervolume", hypervolume(front, objectives, reference=[0.0, 20_000]))
plot_front(oracle.completed_trials(), objectives, str(Path(args.out) / "pareto_digits.png"))
