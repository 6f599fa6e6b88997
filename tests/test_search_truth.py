"""`search --truth nas-bench-macro`: a finished search judged by the benchmark's accuracies."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scarlet_tf import ScarletError, get_space
from scarlet_tf.evaluation import nas_bench_macro as bench
from scarlet_tf.search import SearchProblem
from scarlet_tf.search.truth import judge
from scarlet_tf.space.spaces import get_family

SPACE = "nas-bench-macro"
SCRIPT = str(Path(sys.executable).with_name("scarlet-tf"))
LIMIT = 45.5e6  # the benchmark's 25% FLOPs quantile


def true_front(limit):
    """Codes on the benchmark's true front (accuracy up, FLOPs down) within ``limit``."""
    entries = [e for e in bench.entries().values() if e.flops <= limit]
    return [e.code for e in entries if not any(
        o.mean >= e.mean and o.flops <= e.flops and (o.mean > e.mean or o.flops < e.flops)
        for o in entries)]


def record(code, accuracy, pareto):
    arch = get_family(SPACE).parse(code)
    return {"arch": str(arch), "accuracy": accuracy, "madds": bench.entries()[code].flops,
            "feasible": True, "pareto": pareto}


def test_the_true_front_scored_by_its_truth_has_no_regret_and_full_hypervolume():
    problem = SearchProblem(get_space(SPACE), max_madds=LIMIT)
    front = true_front(LIMIT)
    judged = judge([record(c, bench.entries()[c].mean, True) for c in front], problem)
    assert judged["regret"] == 0 and judged["hypervolume_fraction"] == pytest.approx(1.0)
    best = max((e for e in bench.entries().values() if e.flops <= LIMIT), key=lambda e: e.mean)
    assert judged["best"]["truth"] == best.mean and judged["best"]["madds"] <= LIMIT


def test_a_worse_pick_has_its_regret_and_a_partial_front_less_hypervolume():
    problem = SearchProblem(get_space(SPACE), max_madds=LIMIT)
    front = sorted(true_front(LIMIT), key=lambda c: bench.entries()[c].flops)
    cheap = front[0]  # the cheapest front member, scored best by a bad supernet
    records = [record(cheap, 0.9, True), record(front[-1], 0.5, False)]
    judged = judge(records, problem)
    assert judged["pick"]["code"] == cheap and records[0]["truth"] == bench.entries()[cheap].mean
    assert judged["regret"] == pytest.approx(judged["best"]["truth"] - records[0]["truth"])
    assert judged["regret"] > 0.01 and 0 < judged["hypervolume_fraction"] < 0.999
    other = judge(records, problem, choose=lambda rs: max(rs, key=lambda r: r["madds"]))
    assert other["pick"]["code"] == front[-1] and other["regret"] == 0
    assert other["hypervolume_fraction"] == judged["hypervolume_fraction"]


def test_judging_needs_the_benchmark_networks():
    with pytest.raises(ScarletError, match="needs a search of the nas-bench-macro space"):
        judge([], SearchProblem(get_space("scarlet-cifar")))
    with pytest.raises(ScarletError, match="accuracies of its networks at width 1.0"):
        judge([], SearchProblem(get_space(SPACE, width=0.5)))


@pytest.fixture(scope="module")
def macro_run(tmp_path_factory):
    from scarlet_tf.training.configs import SupernetConfig
    from scarlet_tf.training.supernet import train_supernet

    out = tmp_path_factory.mktemp("macro") / "run"
    train_supernet(SupernetConfig(out=str(out), space=SPACE, epochs=1, steps_per_epoch=2,
                                  batch_size=16), verbose=False)
    return out


def test_search_script_reports_the_truth_beside_the_supernet(macro_run, tmp_path):
    out = tmp_path / "search"
    result = subprocess.run(
        [SCRIPT, "search", "--supernet", str(macro_run), "--out", str(out), "--truth", SPACE,
         "--max-madds", "45.5M", "--population", "4", "--generations", "2",
         "--recal-batches", "1", "--max-images", "32"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "judged by nas-bench-macro (never used to choose)" in result.stdout
    assert "regret" in result.stdout and "true hypervolume" in result.stdout
    pareto = json.loads((out / "pareto.json").read_text())
    judged = pareto["judged"]
    with open(out / "history.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == judged["evaluated"] == 8
    for row in rows:
        assert float(row["truth"]) == pytest.approx(bench.entries()[row["code"]].mean)
    assert all(m["truth"] == bench.entries()[m["code"]].mean for m in pareto["front"])
    best_supernet = max(rows, key=lambda r: float(r["accuracy"]))
    assert judged["pick"]["code"] == best_supernet["code"]
    assert judged["regret"] == pytest.approx(judged["best"]["truth"] - judged["pick"]["truth"])
    assert judged["best"]["madds"] <= 45.5e6 and judged["regret"] >= 0
    assert 0 < judged["hypervolume_fraction"] <= 1 + 1e-9
    assert np.isclose(judged["best"]["truth"], max(
        e.mean for e in bench.entries().values() if e.flops <= 45.5e6))


def test_search_script_refuses_a_truth_of_another_space(tiny_supernet_dir, tmp_path):
    result = subprocess.run(
        [SCRIPT, "search", "--supernet", str(tiny_supernet_dir), "--out", str(tmp_path / "s"),
         "--truth", SPACE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "needs a search of the nas-bench-macro space, not scarlet-cifar" in result.stderr
    assert not (tmp_path / "s").exists()
