"""ParetoOracle: every hyperparameter type and conditional scopes, feasible non-dominated
fronts, constraints, resume after a real kill, two gRPC workers, a stock kt.Tuner."""

import itertools
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras_tuner as kt
import numpy as np
import pytest

from scarlet_tf.errors import ScarletError
from scarlet_tf.search import Limit, ParetoOracle, hypervolume, nsga2, plot_front
from scarlet_tf.search.genome import Genome, is_active, key

HERE = Path(__file__).resolve().parent
OBJECTIVES = [kt.Objective("error", "min"), kt.Objective("size", "max")]
SETTINGS = {"population": 6, "generations": 3, "seed": 5}


def every_type_space() -> kt.HyperParameters:
    """Every keras-tuner hyperparameter type, sampling and both conditional styles."""
    hp = kt.HyperParameters()
    hp.Choice("family", ["mlp", "cnn", "none"])  # unordered
    hp.Choice("width", [16, 32, 64, 128])  # ordered (numeric)
    hp.Int("depth", 1, 9, step=2)
    hp.Int("units", 4, 512, sampling="log")
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.Float("momentum", 0.001, 0.999, sampling="reverse_log")
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Boolean("bn")
    hp.Fixed("epochs", 3)
    with hp.conditional_scope("family", ["mlp"]):
        hp.Int("hidden", 8, 64, step=8)
        hp.Boolean("residual")
        with hp.conditional_scope("residual", [True]):
            hp.Float("scale", 0.1, 1.0)  # two levels deep: family mlp and residual
    with hp.conditional_scope("family", "cnn"):
        hp.Choice("kernel", [3, 5, 7], ordered=False)
    hp.Float("l2", 1e-6, 1e-2, sampling="log", parent_name="family", parent_values=["cnn"])
    return hp


def valid(hp, value) -> bool:
    """Whether ``value`` is a legal value of hyperparameter ``hp``."""
    if isinstance(hp, kt.engine.hyperparameters.Fixed):
        return value == hp.value
    if isinstance(hp, (kt.engine.hyperparameters.Choice, kt.engine.hyperparameters.Boolean)):
        return value in list(hp.values)
    inside = hp.min_value <= value <= hp.max_value
    if isinstance(hp, kt.engine.hyperparameters.Int):
        inside &= isinstance(value, int)
    if hp.step is not None and hp.sampling == "linear":
        steps = (value - hp.min_value) / hp.step
        inside &= math.isclose(steps, round(steps), abs_tol=1e-6)
    return inside


def check_candidate(space, values):
    """Exactly the active hyperparameters have (legal) values."""
    for hp in space.space:
        assert is_active(hp, values) == (hp.name in values), (hp.name, values)
        if hp.name in values:
            assert valid(hp, values[hp.name]), (hp.name, values[hp.name])


def test_every_type_sampled_crossed_and_mutated_legally():
    space, rng = every_type_space(), np.random.default_rng(0)
    genome = Genome(space)
    samples = [genome.sample(rng) for _ in range(300)]
    children = [genome.mutate(genome.crossover(a, b, rng), rng, 0.5)
                for a, b in itertools.pairwise(samples)]
    for values in samples + children:
        check_candidate(space, values)
    # every value of every categorical and every scope is reached
    assert {v["family"] for v in children} == {"mlp", "cnn", "none"}
    assert {v["kernel"] for v in children if "kernel" in v} == {3, 5, 7}
    assert {v["depth"] for v in samples} == {1, 3, 5, 7, 9}
    assert any("scale" in v for v in children) and any("residual" in v for v in samples)
    # log sampling is uniform in log space: the median lr is near 10^-2.5, far below the
    # linear midpoint 0.05; reverse_log piles up near its maximum (median 1 - 10^-1.5)
    assert 10 ** -3 < np.median([v["lr"] for v in samples]) < 10 ** -2
    assert np.median([v["momentum"] for v in samples]) > 0.9
    assert genome.size() == 13  # every hyperparameter but Fixed varies
    assert genome.size({"family": "none", "epochs": 3, "bn": True}) == 2  # active ones


def test_numeric_operators_stay_near_parents_on_the_sampling_scale():
    hp = kt.HyperParameters()
    hp.Float("lr", 1e-6, 1.0, sampling="log")
    genome, rng = Genome(hp), np.random.default_rng(1)
    a, b = {"lr": 1e-5}, {"lr": 1e-4}
    children = [genome.crossover(a, b, rng)["lr"] for _ in range(400)]
    # SBX in log space: about half the children between the parents, nearly all within a
    # factor 2 of them (a linear-scale SBX would put half of them above 1e-4 by offsets)
    between = np.mean([1e-5 <= c <= 1e-4 for c in children])
    near = np.mean([10 ** -5.3 <= c <= 10 ** -3.7 for c in children])
    assert 0.35 < between < 0.65 and near > 0.9
    mutants = [genome.mutate(a, rng, 1.0)["lr"] for _ in range(400)]
    assert np.mean([abs(math.log10(m) + 5) < 1.0 for m in mutants]) > 0.8
    assert len(set(mutants)) > 300


def test_unordered_choice_mutates_to_another_value_and_crosses_uniformly():
    hp = kt.HyperParameters()
    hp.Choice("act", ["relu", "tanh", "gelu", "silu"])
    genome, rng = Genome(hp), np.random.default_rng(2)
    assert {genome.mutate({"act": "relu"}, rng, 1.0)["act"] for _ in range(100)} == {
        "tanh", "gelu", "silu"}
    crossed = [genome.crossover({"act": "relu"}, {"act": "gelu"}, rng)["act"] for _ in range(200)]
    assert set(crossed) == {"relu", "gelu"} and 0.35 < crossed.count("relu") / 200 < 0.65


def test_inactive_values_never_make_a_new_candidate():
    hp = kt.HyperParameters()
    hp.Choice("family", ["a", "b"])
    with hp.conditional_scope("family", ["b"]):
        hp.Int("n", 0, 1000)
    genome, rng = Genome(hp), np.random.default_rng(3)
    children = [genome.crossover({"family": "a"}, {"family": "b", "n": 5}, rng)
                for _ in range(100)]
    assert sorted({key(c) for c in children}) == [key({"family": "a"}),
                                                  key({"family": "b", "n": 5})]
    # family a has one candidate only (n inactive): the search proposes it at most once
    oracle, _ = search_functions(ParetoOracle(OBJECTIVES, hp, population=4, generations=3,
                                              seed=0), conditional)
    values = [t.hyperparameters.values for t in oracle.trials.values()]
    assert len({key(v) for v in values}) == len(values) == 12
    assert sum(v["family"] == "a" for v in values) <= 1
    assert all(("n" in v) == (v["family"] == "b") for v in values)


# --- searches with cheap functions ---------------------------------------------------


def quadratic(values):
    """Two-objective test function over every_type_space; error min, size max."""
    lr_gap = (math.log10(values["lr"]) + 2.5) ** 2
    size = values["width"] * values["depth"] + values.get("hidden", 0)
    error = lr_gap + values["dropout"] + 0.001 * size ** 0.5 + (values["family"] == "none")
    return {"error": error, "size": float(size), "memory": size * 4.0}


def conditional(values):
    return {"error": float(values.get("n", 2000) - 500) ** 2, "size": float(values.get("n", 0))}


class FunctionTuner(kt.engine.base_tuner.BaseTuner):
    """Runs a trial as ``function(values) -> metrics`` (plus keras-tuner's summed form)."""

    def __init__(self, oracle, function, directory, **kwargs):
        self.function, self.calls = function, []
        super().__init__(oracle, directory=str(directory), **kwargs)

    def pre_create_trial(self):
        time.sleep(0.01)  # a worker idle at the generation barrier asks again: not in a spin

    def run_trial(self, trial, *args, **kwargs):
        values = trial.hyperparameters.values
        self.calls.append(values)
        if len(self.calls) == int(os.environ.get("PARETO_KILL_AT", "0")):
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(float(os.environ.get("PARETO_EVAL_SECONDS", "0")))
        metrics = self.function(values)
        return {**metrics, "multi_objective": self.oracle.objective.get_value(metrics)}


def search_functions(oracle, function=quadratic, directory=None, **kwargs):
    import tempfile

    directory = directory or tempfile.mkdtemp()
    tuner = FunctionTuner(oracle, function, directory, **kwargs)
    tuner.search(verbose=0)
    return oracle, tuner


def small_constraint(values):
    """Before training: at most 512 hidden units x depth (a size limit)."""
    return values["units"] * values["depth"] <= 512


def make_oracle(**overrides):
    return ParetoOracle(OBJECTIVES, every_type_space(),
                        limits=[Limit("memory", max=1500.0)], constraint=small_constraint,
                        **{**SETTINGS, **overrides})


def results(oracle) -> list:
    """(trial id, values, metrics) of every completed trial, in trial order."""
    return [(t.trial_id, t.hyperparameters.values, oracle.metrics(t))
            for t in oracle.completed_trials()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted constrained search: (oracle, tuner)."""
    return search_functions(make_oracle(), directory=tmp_path_factory.mktemp("reference"))


def test_front_is_feasible_non_dominated_and_complete(reference):
    oracle, tuner = reference
    trials = oracle.completed_trials()
    assert len(trials) == 18 and len(tuner.calls) == 18
    assert len({key(t.hyperparameters.values) for t in trials}) == 18
    space = every_type_space()
    for trial in trials:
        check_candidate(space, trial.hyperparameters.values)
        assert small_constraint(trial.hyperparameters.values)  # rejected before training
    front = oracle.get_best_trials()
    assert front and all(oracle.metrics(t)["memory"] <= 1500 for t in front)
    F = nsga2_vectors(oracle, trials)
    index = {t.trial_id: i for i, t in enumerate(trials)}
    on_front = [index[t.trial_id] for t in front]
    for i in on_front:  # no trial at all dominates a front member...
        assert not any((F[j] <= F[i]).all() and (F[j] < F[i]).any()
                       for j in range(len(trials)) if oracle.violation(trials[j]) == 0)
    for j, trial in enumerate(trials):  # ...and every other feasible one is dominated
        if oracle.violation(trial) == 0 and j not in on_front:
            assert any((F[i] <= F[j]).all() and (F[i] < F[j]).any() for i in on_front)
    errors = [oracle.metrics(t)["error"] for t in front]
    assert errors == sorted(errors)  # best first objective first
    best = [t.trial_id for t in oracle.get_best_trials(len(front) + 1)]  # front, then more
    assert best[:-1] == [t.trial_id for t in front] and best[-1] not in best[:-1]


def test_first_generation_opens_with_the_defaults_unless_told_not_to(reference, tmp_path):
    defaults = Genome(every_type_space()).defaults()
    assert defaults["family"] == "mlp" and defaults["lr"] == 1e-4 and "kernel" not in defaults
    check_candidate(every_type_space(), defaults)
    oracle, _ = reference
    assert oracle.completed_trials()[0].hyperparameters.values == defaults
    plain, _ = search_functions(make_oracle(generations=1, start_from_defaults=False),
                                directory=tmp_path)
    assert defaults not in [t.hyperparameters.values for t in plain.completed_trials()]


def nsga2_vectors(oracle, trials):
    return np.array([[oracle.metrics(t)["error"], -oracle.metrics(t)["size"]] for t in trials])


def test_limit_steers_the_search(reference):
    oracle, _ = reference
    memory = [oracle.metrics(t)["memory"] for t in oracle.completed_trials()]
    assert any(m > 1500 for m in memory)  # the random generation breaks the limit...
    later = [oracle.metrics(t)["memory"] for t in oracle.completed_trials(generation=2)]
    assert np.mean([m <= 1500 for m in later]) > np.mean([m <= 1500 for m in memory[:6]])
    unlimited, _ = search_functions(ParetoOracle(OBJECTIVES, every_type_space(), **SETTINGS))
    assert max(oracle.metrics(t)["size"] for t in oracle.get_best_trials()) < max(
        unlimited.metrics(t)["size"] for t in unlimited.get_best_trials())


def test_generation_barrier_idles_until_every_member_reported(tmp_path):
    oracle = ParetoOracle(OBJECTIVES, every_type_space(), population=2, generations=2)
    oracle._set_project_dir(str(tmp_path), "barrier")  # what a tuner does first
    a, b = oracle.create_trial("w0"), oracle.create_trial("w1")
    assert (a.status, b.status, oracle.create_trial("w2").status) == ("RUNNING",) * 2 + (
        "IDLE",)
    for trial in (a, b):
        metrics = quadratic(trial.hyperparameters.values)
        oracle.update_trial(trial.trial_id, metrics)  # no multi_objective: scored here
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert oracle.trials[a.trial_id].score == pytest.approx(
        quadratic(a.hyperparameters.values)["error"] - quadratic(a.hyperparameters.values)[
            "size"])
    c = oracle.create_trial("w2")
    assert c.status == "RUNNING" and oracle.generation == 1
    assert key(c.hyperparameters.values) not in {key(a.hyperparameters.values),
                                                 key(b.hyperparameters.values)}


def test_same_seed_same_search_more_generations_continue(reference, tmp_path):
    first, _ = search_functions(make_oracle(generations=2), directory=tmp_path)
    assert len(first.completed_trials()) == 12
    again, tuner = search_functions(make_oracle(), directory=tmp_path)  # resumes, goes on
    assert len(tuner.calls) == 6 and results(again) == results(reference[0])
    other, _ = search_functions(make_oracle(seed=6))
    assert results(other) != results(reference[0])


def test_resume_refuses_other_settings(reference, tmp_path):
    search_functions(make_oracle(generations=1), directory=tmp_path)
    with pytest.raises(ScarletError, match=r"other settings \(population: 6 -> 7\)"):
        search_functions(make_oracle(population=7), directory=tmp_path)


SCRIPT = f"""
import sys
sys.path.insert(0, {str(HERE)!r})
from test_pareto_oracle import make_oracle, search_functions
oracle, tuner = search_functions(make_oracle(), directory=sys.argv[1])
print("evaluated", len(tuner.calls))
"""


def test_resume_after_kill_matches_uninterrupted(reference, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PARETO_KILL_AT": "10"}
    killed = subprocess.run([sys.executable, str(script), str(tmp_path / "s")], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    resumed, tuner = search_functions(make_oracle(), directory=tmp_path / "s")
    assert len(tuner.calls) == 18 - 9  # the killed trial is retried, finished ones kept
    assert results(resumed) == results(reference[0])
    assert [t.trial_id for t in resumed.get_best_trials()] == [
        t.trial_id for t in reference[0].get_best_trials()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_chief_and_two_grpc_workers_match_one_process(reference, tmp_path, monkeypatch):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    grpc = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(_free_port())}

    def start(tuner_id):
        env = {**os.environ, **grpc, "KERASTUNER_TUNER_ID": tuner_id,
               "PARETO_EVAL_SECONDS": "0.2"}
        return subprocess.Popen([sys.executable, str(script), str(tmp_path / "s")], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    workers = [start("tuner0"), start("tuner1")]
    for name, value in {**grpc, "KERASTUNER_TUNER_ID": "chief"}.items():
        monkeypatch.setenv(name, value)
    chief, _ = search_functions(make_oracle(), directory=tmp_path / "s")  # serves, returns
    outputs = [p.communicate(timeout=240) for p in workers]
    assert [p.returncode for p in workers] == [0, 0], outputs[0][1][-2000:]
    evaluated = [int(out.split()[-1]) for out, _ in outputs]
    assert sum(evaluated) == 18  # how they split depends on start-up times
    assert results(chief) == results(reference[0])  # workers' timing changes nothing
    monkeypatch.delenv("KERASTUNER_TUNER_ID")
    monkeypatch.delenv("KERASTUNER_ORACLE_IP")
    resumed, tuner = search_functions(make_oracle(), directory=tmp_path / "s")
    assert tuner.calls == [] and results(resumed) == results(reference[0])


# --- helpers, errors, the stock Tuner ------------------------------------------------


def test_hypervolume_and_plot_take_trials(reference, tmp_path):
    oracle, _ = reference
    front = oracle.get_best_trials()
    points = nsga2_vectors(oracle, front)
    assert hypervolume(front, OBJECTIVES, [10.0, 0.0]) == pytest.approx(
        nsga2.hypervolume(points, [10.0, 0.0]))
    # hand-worked: error 1 / size 3 and error 2 / size 5 under (4, 0): 3*3 + 2*5 - 2*3
    fake = [_trial({"error": 1.0, "size": 3.0}), _trial({"error": 2.0, "size": 5.0})]
    assert hypervolume(fake, oracle, [4.0, 0.0]) == 13.0
    plot_front(oracle.completed_trials(), oracle, tmp_path / "front.png", front=front)
    assert (tmp_path / "front.png").stat().st_size > 10_000


def _trial(metrics):
    trial = kt.engine.trial.Trial(kt.HyperParameters(), trial_id="x", status="COMPLETED")
    for name, value in metrics.items():
        trial.metrics.update(name, value)
    return trial


@pytest.mark.parametrize("kwargs, message", [
    ({"population": 1}, "need population >= 2"),
    ({"limits": [("memory", 3)]}, "limits must be Limit"),
    ({"constraint": 3}, "constraint must be a function"),
    ({"weights": [1.0]}, "weights need one number per objective \\(2\\)"),
    ({"mutation_rate": 0.0}, "mutation_rate in \\(0, 1\\]"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ScarletError, match=message):
        ParetoOracle(OBJECTIVES, every_type_space(), **kwargs)


def test_bad_objectives_and_impossible_constraints_are_named(tmp_path):
    with pytest.raises(ScarletError, match="cannot tell whether to minimize or maximize"):
        ParetoOracle(["error", "size"], every_type_space())
    with pytest.raises(ScarletError, match="Limit\\('memory'\\) needs max= and/or min="):
        Limit("memory")
    never = ParetoOracle(OBJECTIVES, every_type_space(), constraint=lambda values: False)
    with pytest.raises(ScarletError, match="no candidate met the constraint in 1000"):
        search_functions(never, directory=tmp_path)


def test_stock_tuner_fits_a_keras_model_on_digits(tmp_path):
    import keras
    from sklearn.datasets import load_digits

    from scarlet_tf.search import ParamCount

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")

    def build(hp):
        model = keras.Sequential([keras.Input((64,)),
                                  keras.layers.Dense(hp.Int("units", 4, 64, sampling="log"),
                                                     activation=hp.Choice("act", ["relu", "tanh"])),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    oracle = ParetoOracle([kt.Objective("val_accuracy", "max"), kt.Objective("params", "min")],
                          population=2, generations=1, seed=0)
    tuner = kt.Tuner(oracle=oracle, hypermodel=build, directory=str(tmp_path))
    tuner.search(x[:200], y[:200], validation_data=(x[200:300], y[200:300]), epochs=1,
                 batch_size=50, callbacks=[ParamCount()], verbose=0)
    trials = oracle.completed_trials()
    assert len(trials) == 2
    for trial in trials:
        units = trial.hyperparameters.values["units"]
        metrics = oracle.metrics(trial)
        assert metrics["params"] == 64 * units + units + 10 * units + 10
        assert 0.0 <= metrics["val_accuracy"] <= 1.0
    front = oracle.get_best_trials()
    assert 1 <= len(front) <= 2 and tuner.get_best_models(1)[0].count_params() == (
        oracle.metrics(oracle.get_best_trials(1)[0])["params"])
