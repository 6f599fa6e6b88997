import keras
import keras_tuner as kt
from sklearn.datasets import load_digits

from scarlet_tf.search import ParamCount, ParetoOracle, hypervolume, plot_front

x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")


def build(hp):
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
tuner = kt.Tuner(oracle=oracle, hypermodel=build, directory="pareto_digits", overwrite=True)
tuner.search(x[:1200], y[:1200], validation_data=(x[1200:], y[1200:]), epochs=2,
             callbacks=[ParamCount()], verbose=0)  # ParamCount logs "params" each epoch

front = oracle.get_best_trials()  # the Pareto front, most accurate first
for trial in front:
    print(trial.hyperparameters.values, oracle.metrics(trial))
print("hypervolume", hypervolume(front, objectives, reference=[0.0, 20_000]))
plot_front(oracle.completed_trials(), objectives, "pareto_digits.png")
