"""The nas-bench-macro space against the benchmark's own file, and ranking against it."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from scarlet_tf import Architecture, ScarletError, costs, get_space
from scarlet_tf.evaluation import nas_bench_macro
from scarlet_tf.space.choices import SKIP

SPACE = "nas-bench-macro"


def test_costs_equal_the_file_for_every_code():
    space = get_space(SPACE)
    entries = nas_bench_macro.entries()
    assert len(entries) == 3 ** 8
    for code, entry in entries.items():
        cost = costs(code, space)
        assert (cost.params, cost.madds) == (entry.params, entry.flops), code


@pytest.mark.parametrize("code", ["00000000", "02012100", "22222222", "10201020", "12012012"])
def test_plain_model_parameters_equal_the_file(code):
    from scarlet_tf.network.models import build_model

    model = build_model(code, SPACE)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == nas_bench_macro.entries()[code].params
    names = [layer.name for layer in model.layers]
    assert ("layer01_skip_project" in names) == (code[0] == "0")
    assert not any("hswish" in n or "relu6" in n or n.startswith("sep_") for n in names)


def test_codes_and_tokens_name_the_same_architecture():
    arch = Architecture.parse("02012100", SPACE)
    assert str(arch) == "skip,e6k5,skip,e3k3,e6k5,e3k3,skip,skip"
    assert Architecture.parse(str(arch), SPACE) == arch
    assert get_space(SPACE).family.code(arch) == "02012100"
    assert arch.choices[0] == SKIP and get_space(SPACE).layers[0].skip_projects
    for text, message in [("02012103", "need 8 digits 0-2"), ("0201210", "need 8 digits"),
                          ("e3k3," * 7 + "e3k7", ("layer 8: 'e3k7' is not a choice of "
                                                  "nas-bench-macro; allowed: e3k3, e6k5, skip")),
                          ("scarlet-a", "give a code of 8 digits")]:
        with pytest.raises(ScarletError, match=message):
            Architecture.parse(text, SPACE)
    with pytest.raises(ScarletError, match="has 19 layers, got 8"):
        costs(arch, "scarlet")


def test_canonical_codes_share_the_benchmark_record():
    entries = nas_bench_macro.entries()
    distinct = nas_bench_macro.distinct_codes()
    assert len(distinct) == 3969
    assert nas_bench_macro.canonical("10001000") == "10010000"  # stage 2: 0 0 1 -> 0 1 0
    assert nas_bench_macro.canonical("10001102") == "10010120"
    assert nas_bench_macro.siblings("10010120") == ["10001102", "10001120", "10010102",
                                                    "10010120"]
    for code, entry in entries.items():
        assert entry.seeds == entries[nas_bench_macro.canonical(code)].seeds
    means = [entries[c].mean for c in distinct]
    depth_tau = stats.kendalltau([entries[c].depth for c in distinct], means).statistic
    seed_tau = stats.kendalltau(*[[entries[c].seeds[i] for c in distinct] for i in (0, 1)])
    assert abs(depth_tau - 0.69) < 0.02 and abs(seed_tau.statistic - 0.88) < 0.02


def test_depth_stratified_sample_spreads_over_depth():
    sample = nas_bench_macro.depth_stratified(300, seed=1)
    assert len(sample) == len(set(sample)) == 300
    assert sample == nas_bench_macro.depth_stratified(300, seed=1)
    depths = np.bincount([nas_bench_macro.entries()[c].depth for c in sample], minlength=9)
    assert depths[0] == 1 and depths[1] == 12  # all the shallow ones there are
    assert depths[2:].min() >= 30 and depths[2:].max() - depths[2:].min() <= 1
    assert all(nas_bench_macro.canonical(c) == c for c in sample)
    assert len(nas_bench_macro.depth_stratified(None)) == 3969


def test_switched_supernet_path_equals_the_folded_plain_model():
    import keras
    import tensorflow as tf

    from scarlet_tf.evaluation.evaluator import batch_norms
    from scarlet_tf.evaluation.folding import extract_subnet
    from scarlet_tf.network.supernet import Supernet

    keras.utils.set_random_seed(1)
    net = Supernet(get_space(SPACE, width=0.25), zero_init_residual=False,
                   matched_init=False)
    rng = np.random.default_rng(0)
    for bn in batch_norms(net):
        n = bn.moving_mean.shape[0]
        bn.moving_mean.assign(rng.normal(size=n) * 0.3)
        bn.moving_variance.assign(rng.uniform(0.5, 2.0, size=n))
    for block in net.blocks:
        skip = block.options[block.spec.choices.index(SKIP)]
        if not block.spec.skip_projects:  # a stabilizer: identity plus noise
            c = skip.kernel.shape[-1]
            skip.kernel.assign((np.eye(c) + rng.normal(size=(c, c)) * 0.05)[None, None])
    images = rng.normal(size=(4, 32, 32, 3)).astype("float32")
    for code in ["00000000", "01200120", "10201020", "22222222"]:
        arch = Architecture.parse(code, SPACE)
        reference = net(images, tf.constant(net.space.encode(arch)), training=False).numpy()
        for fold in (True, False):
            model = extract_subnet(net, arch, fold_stabilizers=fold)
            gap = np.abs(model(images, training=False).numpy() - reference).max()
            assert gap <= 1e-4 * np.abs(reference).max(), (code, fold)


def run_cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "scarlet_tf.cli.main", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_info_gives_the_file_costs():
    result = run_cli("info", "02012100", "--space", SPACE, "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    entry = nas_bench_macro.entries()["02012100"]
    assert (record["params"], record["madds"], record["code"]) == (entry.params, entry.flops,
                                                                   "02012100")


@pytest.fixture(scope="module")
def macro_supernet(tmp_path_factory):
    from scarlet_tf.training.configs import SupernetConfig
    from scarlet_tf.training.supernet import train_supernet

    out = tmp_path_factory.mktemp("macro") / "run"
    train_supernet(SupernetConfig(out=str(out), space=SPACE, width=0.25, epochs=1,
                                  steps_per_epoch=3, batch_size=16), verbose=False)
    return out


def test_rank_against_the_benchmark_saves_resumes_and_reports(macro_supernet, tmp_path):
    out = tmp_path / "rank"
    args = ["rank", "--supernet", str(macro_supernet), "--truth", SPACE, "--out", str(out),
            "--siblings", "2", "--recal-batches", "1", "--max-images", "32"]
    first = run_cli(*args, "--archs", "12")
    assert first.returncode == 0, first.stderr
    assert "ranked 1/14 networks" in first.stderr and "kept layers" in first.stdout
    report = json.loads((out / "rank.json").read_text())
    assert report["networks"] == 12 and report["siblings"]["pairs"] == 2
    assert report["scored"]["images"] == 32 and set(report["scored"]["per_class"]) == set(
        "0123456789") and sum(report["scored"]["per_class"].values()) == 32
    assert "scored on 32 search images, 10 of 10 classes" in first.stdout
    for ranker in ("supernet", "supernet_loss", "depth", "flops", "params", "seed"):
        assert set(report["rankers"][ranker]) >= {"kendall_tau", "kendall_tau_ci",
                                                  "top1_regret", "top10pct_kendall_tau"}
    assert report["rankers"]["seed"]["kendall_tau"] > 0.5
    assert "tau inside one depth" in first.stdout and "two depths (" in first.stdout
    kinds = report["pair_kinds"]
    assert kinds["all_pairs"]["pairs"] == sum(
        t["pairs"] for k, t in kinds.items() if k != "all_pairs") <= 12 * 11 // 2
    rows = (out / "scores.csv").read_text().splitlines()
    assert len(rows) == 13 and rows[0].startswith("code,canonical,depth,flops")
    # A cut-short last row is dropped and scored again; nothing else is redone.
    (out / "scores.csv").write_text("\n".join(rows[:-1]) + "\n" + rows[-1][:12])
    # The same supernet named by a relative path resumes too.
    relative = [os.path.relpath(macro_supernet) if a == str(macro_supernet) else a
                for a in args]
    again = run_cli(*relative, "--archs", "12")
    assert again.returncode == 0, again.stderr
    assert "ranked 14/14 networks (the first" in again.stderr  # one network, not 14
    rescored = (out / "scores.csv").read_text().splitlines()
    assert rescored[:-1] == rows[:-1] and rescored[-1][:18] == rows[-1][:18]
    rows = rescored
    other = run_cli(*args, "--archs", "20")
    assert other.returncode == 2 and other.stderr.startswith("error: ")
    assert "archs" in other.stderr and len(other.stderr.splitlines()) == 1
    assert (out / "scores.csv").read_text().splitlines() == rows
    # Without the supernet, the saved scores give the same report back.
    from scarlet_tf.evaluation.rank_runs import report_saved_scores

    saved = json.loads((out / "rank.json").read_text())
    (out / "rank.json").unlink()
    rebuilt = report_saved_scores(out, saved["stabilizer"])
    text = lambda report: json.dumps(report, sort_keys=True)  # noqa: E731 (NaN != NaN)
    assert text(json.loads((out / "rank.json").read_text())) == text(
        {**saved, "siblings_scored": 2}) and rebuilt["siblings_scored"] == 2
    (out / "scores.csv").write_text("\n".join(rows[:-1]) + "\n")
    with pytest.raises(ScarletError, match="scores 11 of the sample's 12 networks"):
        report_saved_scores(out, saved["stabilizer"])


def test_rank_refuses_a_supernet_of_another_space(tiny_supernet_dir, tmp_path):
    result = run_cli("rank", "--supernet", str(tiny_supernet_dir), "--truth", SPACE,
                     "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert result.stderr.strip().endswith("needs one trained with --space nas-bench-macro")


def test_export_tflite_converts_a_benchmark_code_with_its_projection_skip(tmp_path):
    out = tmp_path / "code.tflite"
    result = subprocess.run(["scarlet-tf", "export-tflite", "02012100", "--space", SPACE,
                             "--random-init", "--parity-images", "16", "--out", str(out),
                             "--json"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    entry = nas_bench_macro.entries()["02012100"]
    assert (report["madds"], report["params"]) == (entry.flops, entry.params)
    assert report["parity"]["cosine"] > 0.999
    # float32 weights (BatchNorm folded into the convolutions: a little fewer)
    assert 0.95 * 4 * entry.params < out.stat().st_size < 1.2 * 4 * entry.params


def test_within_depth_tau_has_known_answers():
    """A score equal to the truth ranks every depth perfectly, its reverse at -1; FLOPs
    and the seed ceiling are measured the same way; depths with fewer than 10 networks
    are left out."""
    from scarlet_tf.evaluation.macro_ranking import within_depth

    rng = np.random.default_rng(0)
    rows = [{"depth": float(d), "truth": t, "supernet": t, "supernet_loss": t, "flops": -t,
             "seed0": t, "seed1": t}
            for d, n in ((3, 12), (5, 20), (7, 9)) for t in rng.random(n)]
    table = within_depth(rows)
    assert set(table) == {"3", "5"} and table["5"]["networks"] == 20
    for t in table.values():
        assert (t["supernet"], t["supernet_loss"]) == pytest.approx((1.0, -1.0))
        assert (t["flops"], t["seed"]) == pytest.approx((-1.0, 1.0))


def test_pair_kinds_say_which_pairs_a_ranker_orders():
    """Pairs are split by kept layers: a score equal to the truth agrees on every kind;
    counting layers says nothing inside one depth; a ranker that knows only where the
    layers sit says nothing between networks with the same kept layers."""
    from scarlet_tf.evaluation.macro_ranking import pair_kinds

    codes = ["11000000", "12000000", "21000000", "22000000",  # same kept layers
             "10100000", "00110000", "11100000", "22200000", "12210000"]
    depth = [sum(ch != "0" for ch in code) for code in codes]
    truth = depth + np.random.default_rng(0).random(len(codes))  # deeper is better
    where = [int("".join("1" if c != "0" else "0" for c in code), 2) for code in codes]
    rows = [{"canonical": c, "truth": t, "supernet": t, "supernet_loss": -t, "flops": w,
             "depth": float(d), "seed0": t, "seed1": -t}
            for c, t, w, d in zip(codes, truth, where, depth)]
    kinds = pair_kinds(rows, resamples=50)
    assert {k: v["pairs"] for k, v in kinds.items()} == {
        "same_layers": 7, "same_depth": 9, "across_depths": 20, "all_pairs": 36}  # 6+1; 15-6
    for kind in kinds.values():
        assert kind["supernet_loss"]["tau"] == kind["supernet"]["tau"] == 1.0
        assert kind["depth_then_loss"]["tau"] == 1.0  # kept layers, its ties broken by loss
        assert kind["depth"]["minus_depth_ci"] == [0.0, 0.0]
        assert kind["seed"]["tau"] == -1.0
        low, high = kind["supernet_loss"]["ci"]
        assert low <= 1.0 <= high + 1e-6
    assert kinds["same_layers"]["depth"]["tau"] == kinds["same_depth"]["depth"]["tau"] == 0.0
    assert kinds["same_layers"]["flops"]["tau"] == 0.0
    assert kinds["across_depths"]["depth"]["tau"] == 1.0
    # Over all pairs kept layers score a tie as 0 (tau-a), not out of the count (tau-b).
    assert kinds["all_pairs"]["depth"]["tau"] == pytest.approx(20 / 36)
    low, high = kinds["all_pairs"]["supernet_loss"]["minus_depth_ci"]
    assert 0 < low <= 16 / 36 <= high + 1e-6


def macro_study(module: str):
    """A module of the study (studies/nas_bench_macro/: ``plan``, ``macro_report``,
    ``study``), imported as the study's script imports its siblings."""
    import importlib
    from pathlib import Path

    folder = str(Path(__file__).resolve().parents[1] / "studies" / "nas_bench_macro")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(module)


def test_the_space_recipe_is_the_one_the_study_pins():
    from scarlet_tf.training.configs import RECIPE, SubnetConfig, SupernetConfig

    study = macro_study("plan")
    config = SupernetConfig(out="x", space=SPACE)
    for key in RECIPE[SPACE]:
        assert getattr(config, key) == study.RECIPE[key], key
    assert (config.lr, config.optimizer) == (study.RECIPE["lr"], study.RECIPE["optimizer"])
    assert SubnetConfig(arch="02012100", out="x", space=SPACE).weight_decay == 5e-4
    other = SupernetConfig(out="x", space="scarlet-cifar")
    assert (other.batch_size, other.label_smoothing) == (64, 0.1)
    chosen = SupernetConfig(out="x", space=SPACE, batch_size=32, label_smoothing=0.1)
    assert (chosen.batch_size, chosen.label_smoothing, chosen.weight_decay) == (32, 0.1, 5e-4)


def test_layer_effects_find_the_one_layer_that_scores():
    """Scores that only depend on keeping layer 1: its effect is 2 (half the networks
    keep it: a difference of 1 over a deviation of 0.5), layer 0's is 0, and a layer
    every network keeps has none."""
    rows = [{"depth": d, "canonical": f"1{k}{'1' * (d - 2)}" + "0" * (8 - d),
             "score": float(k)} for d in (3, 4, 5, 6, 7) for k in (0, 1) * 4]
    rows += [{**r, "canonical": "0" + r["canonical"][1:]} for r in rows]
    report = macro_study("macro_report")
    effects = report.layer_effects(rows, "score")
    assert len(effects) == 8
    assert effects[1] == pytest.approx(2.0) and effects[0] == pytest.approx(0.0)
    assert effects[2] is None and effects[7] is None
    assert report.layer_effects(rows, "score", -1)[1] == pytest.approx(-2.0)


def test_train_supernet_script_states_and_records_the_space_recipe(tmp_path):
    from pathlib import Path

    out = tmp_path / "run"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("scarlet-tf")), "train-supernet", "--out",
         str(out), "--space", SPACE, "--width", "0.25", "--epochs", "1",
         "--steps-per-epoch", "1", "--batch-size", "16", "--quiet"],
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert ("recipe: batch size 16, warmup epochs 0.5, weight decay 0.0005, label "
            "smoothing 0, lr 0.05") in result.stdout
    recorded = json.loads((out / "config.json").read_text())["config"]
    assert (recorded["batch_size"], recorded["label_smoothing"]) == (16, 0.0)
    assert (recorded["weight_decay"], recorded["warmup_epochs"]) == (5e-4, 0.5)
    from scarlet_tf.training.configs import SubnetConfig  # fine-tuning: the run's space

    tuned = SubnetConfig(arch="02012100", out="x", init_from_supernet=str(out))
    assert (tuned.space, tuned.weight_decay, tuned.label_smoothing) == (SPACE, 5e-4, 0.0)
