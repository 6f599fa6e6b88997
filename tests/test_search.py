"""EvolutionOracle / SearchTuner / `scarlet-tf search`: generations, constraints, resume
after a real kill, keras-tuner's chief/worker mode, reports and one-line errors."""

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from scarlet_tf.search import SearchProblem
from scarlet_tf.search.synthetic import SyntheticScorer
from scarlet_tf.space.spaces import Architecture, get_space

ROOT = Path(__file__).resolve().parents[1]
SPACE = dict(name="scarlet-cifar", width=0.5)
LIMIT = 12e6  # mult-adds; the space spans 7.7M to 57.8M
SETTINGS = dict(population=6, generations=3, seed=3)

# Runs one search process; SCARLET_KILL_AT=n makes the n-th evaluation SIGKILL itself,
# SCARLET_EVAL_SECONDS makes every evaluation take that long.
SCRIPT = textwrap.dedent(f"""
    import os, signal, sys, time
    sys.path.insert(0, {str(ROOT)!r})
    from scarlet_tf.search import SearchProblem, run_search
    from scarlet_tf.search.synthetic import SyntheticScorer
    from scarlet_tf.space.spaces import get_space

    space = get_space(**{SPACE!r})
    synthetic, calls = SyntheticScorer(space), []

    def scorer(path):
        calls.append(path)
        if len(calls) == int(os.environ.get("SCARLET_KILL_AT", 0)):
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(float(os.environ.get("SCARLET_EVAL_SECONDS", 0)))
        return synthetic.score_path(path)

    problem = SearchProblem(space, max_madds={LIMIT})
    run_search(problem, scorer, sys.argv[1], log=lambda line: None, **{SETTINGS!r})
    print("evaluated", len(calls))
""")


def search(out, scorer=None, **overrides):
    from scarlet_tf.search import run_search

    space = get_space(**SPACE)
    problem = SearchProblem(space, max_madds=LIMIT)
    return run_search(problem, scorer or SyntheticScorer(space).score_path, out,
                      log=lambda line: None, **{**SETTINGS, **overrides})


def history(out) -> list[dict]:
    with open(Path(out) / "history.csv") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted search: (out dir, records)."""
    out = tmp_path_factory.mktemp("reference")
    return out, search(out)


def test_generations_unique_feasible_and_reported(reference):
    out, records = reference
    assert len(records) == 18 and [r["generation"] for r in records] == [1] * 6 + [2] * 6 + [3] * 6
    assert len({r["arch"] for r in records}) == 18
    assert all(r["madds"] <= LIMIT and r["feasible"] for r in records)
    pareto = json.loads((out / "pareto.json").read_text())
    front = pareto["front"]
    assert front and all(m["madds"] <= LIMIT for m in front)
    accuracy = [m["accuracy"] for m in front]
    assert accuracy == sorted(accuracy, reverse=True)
    madds = [m["madds"] for m in front]  # a 2-objective front: cheaper is less accurate
    assert madds == sorted(madds, reverse=True)
    best = json.loads((out / "best.json").read_text())
    assert best["accuracy"] == max(r["accuracy"] for r in records)
    assert str(Architecture.load(out / "best.json")) == best["arch"]
    assert len(history(out)) == 18 and (out / "pareto.png").stat().st_size > 10_000


def test_generation_barrier_and_pareto_trials(tmp_path):
    from scarlet_tf.search import EvolutionOracle

    space = get_space(**SPACE)
    oracle = EvolutionOracle(SearchProblem(space, max_madds=LIMIT), population=2,
                             generations=2, log=lambda line: None)
    oracle._set_project_dir(str(tmp_path), "tuner")
    a, b = oracle.create_trial("a"), oracle.create_trial("b")
    assert (a.status, b.status, oracle.create_trial("c").status) == ("RUNNING", "RUNNING",
                                                                     "IDLE")
    scorer = SyntheticScorer(space)
    for trial in (a, b):
        path = oracle.path(trial)
        metrics = {**scorer.score_path(path), **oracle.problem.costs(path)}
        oracle.update_trial(trial.trial_id, {**metrics, "multi_objective": 0.0})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    c = oracle.create_trial("c")
    assert c.status == "RUNNING" and oracle.path(c) not in {oracle.path(a), oracle.path(b)}
    assert {t.trial_id for t in oracle.get_best_trials()} <= {a.trial_id, b.trial_id}


def test_same_seed_same_search_other_seed_differs(reference, tmp_path):
    search(tmp_path / "again", generations=2)
    search(tmp_path / "again")  # more generations: the search goes on
    assert history(tmp_path / "again") == history(reference[0])
    search(tmp_path / "other", seed=4)
    assert history(tmp_path / "other") != history(reference[0])


def test_resume_after_kill_matches_uninterrupted(reference, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "SCARLET_KILL_AT": "9"}
    killed = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not (tmp_path / "pareto.json").exists()
    calls, scorer = [], SyntheticScorer(get_space(**SPACE))
    search(tmp_path, lambda path: calls.append(path) or scorer.score_path(path))
    assert len(calls) == 18 - 8  # the killed trial is retried, finished ones are kept
    assert history(tmp_path) == history(reference[0])
    calls.clear()
    search(tmp_path, lambda path: calls.append(path))  # finished: nothing to evaluate
    assert calls == [] and history(tmp_path) == history(reference[0])


def test_resume_refuses_other_settings(reference):
    from scarlet_tf.errors import ScarletError

    with pytest.raises(ScarletError, match=r"other settings \(seed: 3 -> 99\)"):
        search(reference[0], seed=99)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_chief_and_two_workers_over_grpc(reference, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    port = str(_free_port())
    out = tmp_path / "search"

    def start(tuner_id):
        env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1",
               "KERASTUNER_ORACLE_PORT": port, "SCARLET_EVAL_SECONDS": "0.5"}
        return subprocess.Popen([sys.executable, str(script), str(out)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    processes = [start("chief"), start("tuner0"), start("tuner1")]
    outputs = [p.communicate(timeout=240) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs[0][1][-2000:]
    evaluated = [int(o.split()[-1]) for o, _ in outputs]
    # How the 18 trials split between the workers depends on their start-up times (a worker
    # that starts late may find no work left), so only the total is checked.
    assert evaluated[0] == 0 and evaluated[1] + evaluated[2] == 18
    assert history(out) == history(reference[0])  # workers' timing does not change the search


def test_search_with_the_supernet_evaluator(tmp_path):
    import keras

    from scarlet_tf.evaluation.evaluator import Evaluator
    from scarlet_tf.network.supernet import Supernet

    keras.utils.set_random_seed(0)
    space = get_space("scarlet-cifar", width=0.25, choices="e3k3se,skip")
    evaluator = Evaluator(Supernet(space), recal_batches=2, batch_size=32, max_images=64)
    problem = SearchProblem(space, "accuracy,madds,params:max", max_madds=4.5e6)
    from scarlet_tf.search import run_search

    lines = []
    records = run_search(problem, evaluator.score_path, tmp_path, population=4, generations=2,
                         log=lines.append, scored=evaluator.scored)
    assert len(records) == 8 and all(r["madds"] <= 4.5e6 for r in records)
    assert sum(line.startswith("  trial ") for line in lines) == 8  # progress per candidate
    assert [line.split(":")[0] for line in lines if line.startswith("generation")] == [
        "generation 1/2", "generation 2/2"]
    assert all(0 <= r["accuracy"] <= 1 and np.isfinite(r["loss"]) for r in records)
    pareto = json.loads((tmp_path / "pareto.json").read_text())
    assert pareto["objectives"][2] == "params:max"
    assert pareto["scored"]["images"] == 64 and sum(pareto["scored"]["per_class"].values()) == 64


@pytest.fixture
def supernet_dir(tmp_path):
    """A directory with only the config.json of a scarlet-cifar supernet run."""
    settings = {"space": get_space(**SPACE).describe()}
    config = {"config": {"dataset": "digits"}, "supernet": settings}
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


@pytest.mark.parametrize("flags, message", [
    (["--max-madds", "1M"], "mult-add limit 1.000M is below the smallest architecture "
                            "of this space (7.687M)"),
    (["--max-params", "0.1M"], "parameter limit 0.100M is below the smallest"),
    (["--max-latency-ms", "20"], "needs a latency table"),
    (["--objectives", "accuracy,flops"], "unknown objective 'flops'; allowed: accuracy, "
                                         "loss, madds, params"),
    (["--max-madds", "12Q"], "cannot read size '12Q'"),
])
def test_cli_refuses_in_one_line(supernet_dir, capsys, flags, message):
    from scarlet_tf.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["search", "--supernet", str(supernet_dir), "--out", str(supernet_dir / "s"),
              *flags])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1


@pytest.mark.parametrize("text, count", [("365M", 365_000_000), ("0.365G", 365_000_000),
                                         ("365000000", 365_000_000), ("7m", 7_000_000)])
def test_sizes(text, count):
    from scarlet_tf.cli.search import parse_size

    assert parse_size(text) == count


class MaddsLatency:
    """A stand-in latency table: 1 ms per 10M mult-adds plus 0.1 ms per layer kept."""

    def __init__(self, space):
        self.problem = SearchProblem(space, "madds")

    def predict(self, arch):
        madds = self.problem.costs(self.problem.space.encode(arch))["madds"]
        return madds / 1e7 + 0.1 * arch.depth


def test_latency_objective_and_constraint(tmp_path):
    space = get_space(**SPACE)
    problem = SearchProblem(space, "accuracy,latency_ms", max_latency_ms=3.0,
                            latency_table=MaddsLatency(space))
    from scarlet_tf.search import run_search

    records = run_search(problem, SyntheticScorer(space).score_path, tmp_path, population=4,
                         generations=2, log=lambda line: None)
    assert len(records) == 8 and all(r["latency_ms"] <= 3.0 for r in records)
    assert "latency_ms" in history(tmp_path)[0]
    with pytest.raises(Exception, match="latency limit 0.500 ms is below"):
        SearchProblem(space, max_latency_ms=0.5, latency_table=MaddsLatency(space))


def test_loss_objective_picks_the_lowest_loss(tmp_path):
    """With ``loss,madds`` the pick and the front follow the loss, here ordered opposite
    to the accuracy."""
    from scarlet_tf.search import run_search

    space, synthetic = get_space(**SPACE), SyntheticScorer(get_space(**SPACE))

    def scorer(path):
        accuracy = synthetic.score_path(path)["accuracy"]
        return {"accuracy": accuracy, "loss": accuracy}

    problem = SearchProblem(space, "loss,madds", max_madds=LIMIT)
    assert problem.score == "loss"
    records = run_search(problem, scorer, tmp_path, population=4, generations=2,
                         log=lambda line: None)
    feasible = [r for r in records if r["feasible"]]
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["loss"] == min(r["loss"] for r in feasible) < max(r["loss"] for r in feasible)
    assert best["pareto"] and 0 < problem.hypervolume(records) <= 1


def test_search_script_records_what_it_scored(tiny_supernet_dir, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "search"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("scarlet-tf")), "search", "--supernet",
         str(tiny_supernet_dir), "--out", str(out), "--population", "2", "--generations", "1",
         "--recal-batches", "1", "--max-images", "40"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "on 40 search images, 10 of 10 classes" in result.stdout
    scored = json.loads((out / "pareto.json").read_text())["scored"]
    assert scored["split"] == "search" and scored["images"] == 40
    assert len(scored["per_class"]) == 10 and sum(scored["per_class"].values()) == 40


@pytest.mark.parametrize("name", ["scarlet", "nas-bench-macro"])
def test_candidate_values_and_paths_round_trip(name):
    space = get_space(name)
    problem = SearchProblem(space)
    for seed in range(20):
        arch = space.sample(seed)
        path = tuple(space.encode(arch))
        values = problem.values_of(path)
        assert values == {layer.name: c.token for layer, c in zip(space.layers, arch.choices)}
        assert problem.path_of(values) == path
