"""Surrogate-screened offspring in ParetoOracle: the encoding of every hyperparameter
type, the forest's predictions and screening, and a search that it makes better."""

import keras_tuner as kt
import numpy as np
import pytest
from test_pareto_oracle import OBJECTIVES, every_type_space, search_functions

from scarlet_tf.errors import ScarletError
from scarlet_tf.search import ParetoOracle, hypervolume, surrogate
from scarlet_tf.search.genome import Genome


def test_encoder_maps_every_type_and_inactive_values():
    space = every_type_space()
    encode = surrogate.Encoder(Genome(space))
    names = [hp.name for hp, _ in encode.columns]
    assert "epochs" not in names  # Fixed: no column
    rows = encode([{"family": "cnn", "width": 128, "depth": 1, "units": 4, "lr": 1e-1,
                    "momentum": 0.5, "dropout": 0.0, "bn": True, "epochs": 3, "kernel": 7,
                    "l2": 1e-6}])
    values = dict(zip(_column_names(encode), rows[0]))
    assert values["family=cnn"] == 1.0 and values["family=mlp"] == values["family=none"] == 0.0
    assert values["kernel=7"] == 1.0 and values["bn=True"] == 1.0 and values["bn=False"] == 0.0
    assert values["width"] > 0.75 and values["depth"] < 0.25  # position on the sampling scale
    assert values["lr"] > 0.9 and values["l2"] < 0.1  # log scale: the ends of the range
    assert values["hidden"] == surrogate.INACTIVE and values["scale"] == surrogate.INACTIVE
    assert values["residual=True"] == values["residual=False"] == 0.0  # inactive one-hot


def _column_names(encode):
    names = []
    for hp, kind in encode.columns:
        names += ([hp.name] if kind == "numeric" else
                  [f"{hp.name}={option}" for option in hp.values])
    return names


def test_forest_learns_and_screening_keeps_the_predicted_front():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(200, 3))
    F = np.column_stack([X[:, 0], (1 - X[:, 0]) + 4 * X[:, 1]])  # x1 > 0 is dominated
    forest = surrogate.Forest(seed=0).fit(X, F)
    mean, spread = forest.predict(X[:20])
    assert mean.shape == spread.shape == (20, 2) and np.all(spread >= 0)
    assert np.abs(mean - F[:20]).mean() < 0.1
    candidates = rng.uniform(size=(60, 3))
    kept, optimistic, violation = surrogate.screen(forest, candidates, F[:5], np.zeros(5), 10)
    assert len(kept) == len(set(kept)) == 10 and optimistic.shape == (10, 2)
    assert np.all(violation == 0)
    # the kept children sit near the true front (small x1), the rest do not
    others = np.setdiff1d(np.arange(60), kept)
    assert candidates[kept, 1].mean() < candidates[others, 1].mean() - 0.2


def zdt1(values):
    x = np.array([values[f"x{i}"] for i in range(8)])
    g = 1 + 9 * x[1:].mean()
    return {"f1": float(x[0]), "f2": float(g * (1 - np.sqrt(x[0] / g)))}


def test_screening_improves_a_search_at_the_same_budget(tmp_path):
    hp = kt.HyperParameters()
    for i in range(8):
        hp.Float(f"x{i}", 0.0, 1.0)
    objectives = [kt.Objective("f1", "min"), kt.Objective("f2", "min")]
    found = {}
    for name in ("gp", "forest", None):
        # random starts: ZDT's defaults (all 0) lie on its front and would hide what
        # screening adds
        oracle = ParetoOracle(objectives, hp, population=10, generations=5, seed=1,
                              surrogate=name, start_from_defaults=False)
        search_functions(oracle, zdt1, tmp_path / str(name))
        assert len(oracle.completed_trials()) == 50
        found[name] = hypervolume(oracle.get_best_trials(), objectives, [1.1, 11.0])
    assert found["gp"] > found[None] * 1.02 and found["forest"] > found[None] * 1.02, found


@pytest.mark.parametrize("kwargs, message", [
    ({"surrogate": "svm"}, "surrogate must be one of \\('forest', 'gp'\\) or None"),
    ({"screening": 0}, "need 1 <= screening < 50"),
])
def test_bad_surrogate_arguments_are_named(kwargs, message):
    with pytest.raises(ScarletError, match=message):
        ParetoOracle(OBJECTIVES, every_type_space(), **kwargs)
