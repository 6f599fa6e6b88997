"""Rank statistics against hand-computed values, truth files, and the rank command."""

import json

import numpy as np
import pytest

from scarlet_tf import ScarletError, get_space
from scarlet_tf.evaluation.ranking import rank_statistics, read_truth, top_k_overlap, write_truth


def test_statistics_of_one_swapped_pair():
    # truth orders (0, 1, 3, 2): 5 of 6 pairs concordant -> tau = (5 - 1) / 6;
    # rank differences (0, 0, 1, 1) -> rho = 1 - 6 * 2 / (4 * 15) = 0.8 (= Pearson here).
    s = rank_statistics([1, 2, 3, 4], [10, 20, 40, 30])
    assert s["kendall_tau"] == pytest.approx(2 / 3)
    assert s["spearman_rho"] == pytest.approx(0.8)
    assert s["pearson_r"] == pytest.approx(0.8)
    assert s["top_k"] == 1 and s["top_k_overlap"] == 0.0  # best by truth is index 2
    assert rank_statistics([1, 2, 3, 4], [10, 20, 40, 30], top_k=2)["top_k_overlap"] == 1.0


def test_statistics_of_known_permutations():
    # (3, 1, 2, 5, 4) against (1..5): 3 inversions of 10 pairs -> tau = (7 - 3) / 10.
    assert rank_statistics([3, 1, 2, 5, 4], [1, 2, 3, 4, 5])["kendall_tau"] == pytest.approx(0.4)
    reversed_ = rank_statistics([1, 2, 3], [3, 2, 1])
    assert reversed_["kendall_tau"] == reversed_["spearman_rho"] == pytest.approx(-1)
    assert rank_statistics([5, 5, 5], [1, 2, 3])["kendall_tau"] is None  # undefined
    assert top_k_overlap([0.9, 0.8, 0.1, 0.2], [0.7, 0.1, 0.9, 0.3], 2) == 0.5
    with pytest.raises(ScarletError, match="at least 2"):
        rank_statistics([1], [1])


def test_truth_from_csv_and_run_dirs(tmp_path):
    space = get_space("scarlet-cifar")
    archs = [str(space.sample(seed)) for seed in range(3)]
    write_truth([(archs[0], 0.5), (archs[1], 0.25)], tmp_path / "truth.csv")
    run = tmp_path / "run"
    run.mkdir()
    (run / "result.json").write_text(json.dumps({"arch": archs[2], "test_accuracy": 0.75}))
    assert read_truth([tmp_path / "truth.csv", run]) == [
        (archs[0], 0.5), (archs[1], 0.25), (archs[2], 0.75)]
    with pytest.raises(ScarletError, match="more than once"):
        read_truth([tmp_path / "truth.csv", tmp_path / "truth.csv"])
    with pytest.raises(ScarletError, match="no result.json"):
        read_truth([tmp_path])
    (tmp_path / "bad.csv").write_text("name,acc\nx,1\n")
    with pytest.raises(ScarletError, match="header 'arch,accuracy'"):
        read_truth(tmp_path / "bad.csv")


def test_rank_command_writes_report_and_plot(tiny_supernet_dir, tmp_path):
    from click.testing import CliRunner
    from scarlet_tf.cli.main import cli

    from scarlet_tf.evaluation.runs import SupernetRun

    space = SupernetRun(tiny_supernet_dir).space
    truth = [(str(space.sample(seed)), 0.1 * seed) for seed in range(4)]
    write_truth(truth, tmp_path / "truth.csv")
    result = CliRunner().invoke(cli, [
        "rank", "--supernet", str(tiny_supernet_dir), "--truth", str(tmp_path / "truth.csv"),
        "--out", str(tmp_path / "report"), "--recal-batches", "2", "--max-images", "64"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report" / "rank.json").read_text())
    assert [e["arch"] for e in report["entries"]] == [a for a, _ in truth]
    assert all(0 <= e["supernet"] <= 1 for e in report["entries"])
    assert report["statistics"]["n"] == 4 and report["statistics"]["top_k"] == 1
    assert (tmp_path / "report" / "rank.png").stat().st_size > 1000
    assert read_truth(tmp_path / "report" / "truth.csv") == truth


def test_bootstrap_intervals_cover_the_statistic_and_narrow_with_more_data():
    from scarlet_tf.evaluation.ranking import bootstrap_intervals

    rng = np.random.default_rng(0)
    def noisy(n):
        truth = rng.normal(size=n)
        return truth + rng.normal(scale=0.7, size=n), truth
    small, large = bootstrap_intervals(*noisy(12)), bootstrap_intervals(*noisy(200))
    tau = rank_statistics(*noisy(200))["kendall_tau"]
    for interval in (small, large):
        low, high = interval["kendall_tau"]
        assert -1 <= low < high <= 1
    assert large["kendall_tau"][1] - large["kendall_tau"][0] < \
        small["kendall_tau"][1] - small["kendall_tau"][0]
    assert large["spearman_rho"][0] > large["kendall_tau"][0]  # rho > tau for correlated data
    assert 0.3 < tau < 0.8 and large["kendall_tau"][0] < 0.8 and large["kendall_tau"][1] > 0.3
    assert bootstrap_intervals([1, 2, 3, 4], [1, 2, 3, 4])["kendall_tau"] == [1.0, 1.0]
    with pytest.raises(ScarletError, match="at least 3 scores"):
        bootstrap_intervals([1, 2], [1, 2])


def test_tau_difference_separates_a_good_ranker_from_a_poor_one():
    from scarlet_tf.evaluation.ranking import bootstrap_tau_difference

    rng = np.random.default_rng(1)
    truth = rng.normal(size=40)
    good, poor = truth + rng.normal(scale=0.3, size=40), truth + rng.normal(scale=3, size=40)
    result = bootstrap_tau_difference(good, poor, truth)
    assert result["interval"][0] > 0 and result["share_above_zero"] > 0.97
    assert result["interval"][0] < result["difference"] < result["interval"][1]
    swapped = bootstrap_tau_difference(poor, good, truth)
    assert swapped["difference"] == pytest.approx(-result["difference"])
    assert swapped["interval"][1] < 0


def test_study_report_ranks_supernets_baselines_and_the_seed_ceiling(tmp_path):
    """studies/ranking_study/ranking_report.py on synthetic numbers: a supernet that
    orders the truth exactly gets tau 1, one that reverses it -1; mult-adds (here equal to
    the truth's order) is a baseline row; the second seed gives the ceiling."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "studies" / "ranking_study"))
    from ranking_report import write_report

    archs = [{"arch": f"a{i}", "madds": str(10 + i), "params": str(100 - i)} for i in range(8)]
    truth = [{"arch": f"a{i}", "seed": seed,
              "test_accuracy": 0.4 + 0.01 * i + 0.001 * seed * (i % 2)}
             for i in range(8) for seed in (0, 1)]
    with open(tmp_path / "scores.csv", "w") as f:
        f.write("variant,arch,accuracy,loss,seconds\n")
        f.writelines(f"{v},a{i},{0.3 + s * 0.01 * i},1.0,1.0\n"
                     for v, s in (("learnable", 1), ("none", -1)) for i in range(8))
    summary = write_report(tmp_path, archs, truth, {}, settings={})
    assert summary["supernets"]["learnable"]["all"]["kendall_tau"] == pytest.approx(1.0)
    assert summary["supernets"]["none"]["all"]["kendall_tau"] == pytest.approx(-1.0)
    assert summary["baselines"]["madds"]["kendall_tau"] == pytest.approx(1.0)
    assert summary["baselines"]["params"]["kendall_tau"] == pytest.approx(-1.0)
    assert summary["ceiling"]["n"] == 8
    assert summary["differences"]["learnable - none"]["difference"] > 1.5
    table = (tmp_path / "table.md").read_text()
    assert "| madds alone (no supernet) | 8 | 1.000" in table and "(ceiling) | 8 |" in table
    assert (tmp_path / "scatter.png").stat().st_size > 1000
