"""Host benchmarking, latency tables and the adb / benchmark_model tooling."""

import json
import shutil
import socket
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import keras
import pytest
from scarlet_tf.cli.main import main

from scarlet_tf import Architecture, ScarletError, costs, get_space
from scarlet_tf.export.pipeline import read_sidecar, sidecar
from scarlet_tf.export.tflite import to_tflite
from scarlet_tf.latency import android, builder
from scarlet_tf.latency.table import LatencyTable
from scarlet_tf.latency.timing import (
    STATISTIC,
    HostRunner,
    Timing,
    benchmark,
    measure,
    time_interpreter,
)
from scarlet_tf.space import stratified_archs

DATA = Path(__file__).parent / "data"
SMALL = dict(width=0.25, input_size=16)
SCRIPT = str(Path(sys.executable).with_name("scarlet-tf"))
QUICK = {"runs": 5, "warmup": 1, "seconds": 0.0}  # the protocol at its cheapest: 3 interpreters


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory):
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(16, 3, strides=2, activation="hard_swish")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(x)))
    path = tmp_path_factory.mktemp("tiny") / "tiny.tflite"
    path.write_bytes(to_tflite(model))
    return path


def test_one_interpreter_statistics(tiny_tflite, monkeypatch):
    """One interpreter's statistics are those of its 40 timed runs, recomputed here from
    the recorded samples (population std, linear 90th percentile)."""
    recorded, from_samples = [], Timing.from_samples

    def recording(samples_ms, *args, **kwargs):
        recorded.append(list(samples_ms))
        return from_samples(samples_ms, *args, **kwargs)

    monkeypatch.setattr(Timing, "from_samples", staticmethod(recording))
    timing = time_interpreter(tiny_tflite, threads=2, runs=40, warmup=3)
    assert timing.runs == 40 and timing.threads == 2 and timing.target == "host"
    (samples,) = recorded
    assert len(samples) == 40 and 0 < timing.min_ms == min(samples)
    assert timing.mean_ms == pytest.approx(statistics.fmean(samples))
    assert timing.median_ms == pytest.approx(statistics.median(samples))
    assert timing.p90_ms == pytest.approx(statistics.quantiles(samples, n=10,
                                                               method="inclusive")[-1])
    assert timing.std_ms == pytest.approx(statistics.pstdev(samples))
    assert time_interpreter(tiny_tflite.read_bytes(), runs=5).runs == 5
    assert len(recorded[1]) == 5


class RecordingRunner(HostRunner):
    """The host runner, keeping every fresh interpreter's Timing per model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        object.__setattr__(self, "passes", {})

    def time(self, model):
        timing = super().time(model)
        self.passes.setdefault(model, []).append(timing)
        return timing


def test_benchmark_reports_the_fastest_run_over_fresh_interpreters(tiny_tflite):
    """The latency is the minimum over every pass's runs; one interpreter's figures are the
    first pass's, so the latency is at most its median."""
    runner = RecordingRunner(runs=7, warmup=2, rounds=4, seconds=0.0, max_rounds=4)
    timed = benchmark(tiny_tflite, runner)
    passes = runner.passes[tiny_tflite]
    assert len(passes) == timed.interpreters == 4 and all(t.runs == 7 for t in passes)
    assert timed.latency_ms == min(t.min_ms for t in passes) <= timed.one.min_ms
    assert timed.one == passes[0] and timed.latency_ms <= timed.one.median_ms
    record = timed.to_dict()
    assert record["statistic"] == STATISTIC and record["target"] == "host"
    assert (record["runs"], record["warmup"], record["threads"]) == (7, 2, 1)
    assert record["one_interpreter"]["median_ms"] == passes[0].median_ms
    assert "median_ms" not in record  # one interpreter's median is not the latency
    assert benchmark(tiny_tflite.read_bytes(), runs=5, seconds=0.0).interpreters == 3
    with pytest.raises(ScarletError, match="not both"):
        benchmark(tiny_tflite, runner, runs=5)


def test_timing_statistics_of_known_samples():
    timing = Timing.from_samples([4.0, 1.0, 3.0, 2.0, 10.0], threads=1)
    assert (timing.min_ms, timing.median_ms, timing.mean_ms) == (1.0, 3.0, 4.0)
    assert timing.std_ms == pytest.approx(10.0 ** 0.5)  # sqrt((0+9+1+4+36) / 5)
    assert timing.p90_ms == pytest.approx(7.6) and timing.runs == 5  # 4 + 0.6 * (10 - 4)


@pytest.mark.parametrize("key,value", [("runs", 0), ("threads", 0), ("warmup", -1),
                                       ("rounds", 0), ("rounds", 30), ("seconds", -1.0)])
def test_benchmark_bad_counts(tiny_tflite, key, value):
    with pytest.raises(ScarletError, match=f"need threads >= 1.*'{key}': {value}"):
        benchmark(tiny_tflite, **{key: value})


def test_benchmark_missing_or_broken_file(tmp_path, capsys):
    code, _, err = run_cli(["benchmark", str(tmp_path / "none.tflite")], capsys)
    assert code == 2 and "model file not found" in err
    (tmp_path / "junk.tflite").write_bytes(b"not a flatbuffer")
    with pytest.raises(ScarletError, match="LiteRT cannot load"):
        benchmark(tmp_path / "junk.tflite")


def synthetic_table(space, correction=None, settings=None):
    """Layer i's block costs i + 1 ms for every token, stem 10 ms, head 5 ms; timed (says
    ``settings``) with the default protocol on this host."""
    blocks = {(layer.index, c.token): layer.index + 1.0 for layer in space.layers
              for c in layer.choices if not c.is_skip}
    return LatencyTable(space.describe(), settings or HostRunner().describe(), 10.0,
                                5.0, blocks, correction)


def test_measure_gives_fast_models_more_fresh_interpreters(tiny_tflite, tmp_path):
    slow = tmp_path / "slow.tflite"
    inputs = keras.Input((192, 192, 3))
    x = keras.layers.DepthwiseConv2D(7, padding="same")(keras.layers.Conv2D(64, 3)(inputs))
    slow.write_bytes(to_tflite(keras.Model(inputs, x)))
    runner = RecordingRunner(runs=5, warmup=1, rounds=2, seconds=0.0)
    fast_ms, slow_ms = (t.latency_ms for t in measure([tiny_tflite, slow], runner))
    assert {k: len(v) for k, v in runner.passes.items()} == {tiny_tflite: 2, slow: 2}
    assert 0 < fast_ms < slow_ms
    start = time.perf_counter()
    runner.time(slow)
    one_pass = time.perf_counter() - start  # the slow model's passes fill the budget first
    runner = RecordingRunner(runs=5, warmup=1, rounds=2, seconds=1.5 * one_pass, max_rounds=8)
    measure([tiny_tflite, slow], runner)
    counts = {k: len(v) for k, v in runner.passes.items()}
    assert counts[tiny_tflite] == 8 and counts[slow] <= 4, counts


def test_a_table_from_another_cpu_warns_on_load(tmp_path):
    table = synthetic_table(get_space("scarlet"))
    table.save(tmp_path / "here.json")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LatencyTable.load(tmp_path / "here.json")
    table.settings["cpu_id"] = "cpu family 1 model 1 stepping 1, sse4_2"
    table.save(tmp_path / "there.json")
    with pytest.warns(UserWarning, match="there.json was timed on .*cpu family 1 model 1 "
                                         "stepping 1, sse4_2; this host is"):
        LatencyTable.load(tmp_path / "there.json")


def test_an_old_table_loads_with_one_warning_that_its_statistic_is_unknown(tmp_path):
    space = get_space("scarlet-cifar")
    old = {"target": "host", "cpu_model": HostRunner().describe()["cpu_model"],
           "statistic": "min", "threads": 1, "runs": 50, "warmup": 10}
    synthetic_table(space, settings=old).save(tmp_path / "old.json")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = LatencyTable.load(tmp_path / "old.json")
    assert [str(w.message) for w in caught] == [
        (f"latency table {tmp_path / 'old.json'} does not record how it was timed (an older "
         "table: no rounds, seconds, max_rounds); its statistic is unknown and may not be the "
         "latency `scarlet-tf benchmark` reports: build it again with `scarlet-tf "
         "latency-table`")]
    assert table.predict("scarlet-a") == synthetic_table(space).predict("scarlet-a")
    assert table.protocol({}) == {"threads": 1, "runs": 50, "warmup": 10}


def test_table_protocol_fills_defaults_and_refuses_other_settings():
    table = synthetic_table(get_space("scarlet-cifar"),
                            settings=HostRunner(threads=2, runs=30, seconds=1.0).describe())
    assert table.protocol({}) == {"threads": 2, "runs": 30, "warmup": 10, "rounds": 3,
                                  "seconds": 1.0, "max_rounds": 24}
    assert table.protocol({"threads": 2, "seconds": 1.0})["runs"] == 30
    with pytest.raises(ScarletError, match=r"^the latency table was timed with --threads 2, "
                                           r"not 1: drop --threads .* --threads 1$"):
        table.protocol({"threads": 1, "runs": 30})
    with pytest.raises(ScarletError, match="--warmup 10, not 3"):
        table.protocol({"warmup": 3})
    with pytest.raises(ScarletError, match="timed on host, not android"):
        table.protocol({}, "android")


def test_table_predicts_sum_with_correction_and_round_trips(tmp_path):
    space = get_space("scarlet")
    fit = {"intercept": -1.0, "per_block": 0.5, "scale": {"k3": 2.0, "k5": 2.0, "k7": 2.0}}
    table = synthetic_table(space, correction=fit)
    arch = Architecture.parse("scarlet-c")  # skips layers 4, 5 and 16: 16 blocks kept
    raw = 15.0 + sum(range(1, 20)) - (4 + 5 + 16)
    expected = 15.0 - 1.0 + 2.0 * (raw - 15.0) + 0.5 * 16
    assert table.sum_ms(arch) == raw and table.predict(arch, space) == expected
    table.save(tmp_path / "lut.json")
    loaded = LatencyTable.load(tmp_path / "lut.json")
    assert loaded == table
    assert costs(arch, space, latency_table=loaded).latency_ms == expected
    assert costs(arch, space).latency_ms is None


def test_table_errors(tmp_path):
    space = get_space("scarlet")
    table = synthetic_table(space)
    del table.blocks[(6, "e6k7se")]
    with pytest.raises(ScarletError, match="no entry for layer 7 e6k7se"):
        table.predict("scarlet-c")
    with pytest.raises(ScarletError, match="latency table is for scarlet width 1.0 input 224 "
                                           "classes 1000, not scarlet width 0.5"):
        costs("scarlet-a", "scarlet", latency_table=table, width=0.5)
    table.save(tmp_path / "lut.json")
    with pytest.raises(ScarletError, match="^latency table is for scarlet width 1.0 input 224 "
                                           "classes 1000, not scarlet width 1.0 input 192") as err:
        costs("scarlet-a", "scarlet", latency_table=LatencyTable.load(tmp_path / "lut.json"),
              input_size=192)
    assert "\n" not in str(err.value)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ScarletError, match="cannot read latency table"):
        LatencyTable.load(tmp_path / "bad.json")
    table.correction = {"slope": 1.0, "intercept": 0.0}  # an older table's correction
    table.save(tmp_path / "old.json")
    with pytest.raises(ScarletError, match="build it again"):
        LatencyTable.load(tmp_path / "old.json")


def test_fit_correction_recovers_the_terms_and_only_when_it_helps():
    space = get_space("scarlet")
    table = synthetic_table(space)
    truth = {"intercept": 2.0, "per_block": -0.3, "scale": {"k3": 0.8, "k5": 1.0, "k7": 1.3}}
    records = [{"arch": str(arch), "measured_ms": synthetic_table(space, truth).predict(arch)}
               for arch in stratified_archs(space, 12, seed=0)]
    fit = builder.fit_correction(table, records)
    assert fit["intercept"] == pytest.approx(2.0) and fit["per_block"] == pytest.approx(-0.3)
    assert fit["scale"] == pytest.approx(truth["scale"])
    exact = [{"arch": r["arch"], "measured_ms": table.sum_ms(r["arch"])} for r in records]
    assert builder.fit_correction(table, exact) is None
    assert builder.fit_correction(table, records[:9]) is None  # fewer than 2 per term


def test_stratified_archs_cover_the_corners():
    space = get_space("scarlet")
    archs = stratified_archs(space, 10, seed=3)
    assert archs == stratified_archs(space, 10, seed=3)
    kernels = [{c.kernel for c in a.choices if not c.is_skip} for a in archs]
    assert kernels[1] == kernels[6] == {3} and kernels[2] == kernels[7] == {7}
    assert min(sum(c.is_skip for c in a.choices) for a in archs[3::5]) >= 4
    small = get_space("scarlet-cifar", choices="e3k3,skip")
    assert all(set(map(str, a.choices)) <= {"e3k3", "skip"}
               for a in stratified_archs(small, 5, seed=0))


def test_part_models_follow_the_layer_specs():
    space = get_space("scarlet-cifar", **SMALL)
    parts = dict(builder.part_models(get_space("scarlet-cifar", choices="e6k5se", **SMALL)))
    assert set(parts) == {"stem", "head"} | {(i, "e6k5se") for i in range(19)}
    assert parts["stem"].input_shape == (1, 16, 16, 3)
    assert parts["head"].output_shape == (1, space.num_classes)
    for layer in space.layers:
        block = parts[(layer.index, "e6k5se")]
        assert block.input_shape == (1, layer.resolution, layer.resolution, layer.in_channels)
        assert block.output_shape == (1, layer.out_resolution, layer.out_resolution,
                                      layer.out_channels)


@pytest.fixture(scope="module")
def small_table():
    """Every e3k3 block of a small space (width 0.25, 16 px), timed for real."""
    return builder.build_table("scarlet-cifar", choices="e3k3", calibrate=1,
                               runner=HostRunner(runs=20, warmup=3, seconds=0.01), **SMALL)


def test_build_and_validate_a_small_table(small_table, tmp_path):
    """The table's shape, its recorded settings (round-tripped through its file), and
    validation's arithmetic on what it measured."""
    table = small_table
    assert len(table.blocks) == 19 and table.correction is None  # too few to fit
    assert {k: table.settings[k] for k in ("statistic", "threads", "runs", "warmup", "rounds",
                                           "seconds", "target")} == {
        "statistic": STATISTIC, "threads": 1, "runs": 20, "warmup": 3, "rounds": 3,
        "seconds": 0.01, "target": "host"}
    assert (table.space["name"], table.space["input_size"], table.space["width"]) == (
        "scarlet-cifar", 16, 0.25)
    table.save(tmp_path / "lut.json")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a table that records its protocol: no warning
        assert LatencyTable.load(tmp_path / "lut.json") == table
    assert all(ms > 0 for ms in table.blocks.values()) and table.stem_ms > 0
    quick = HostRunner(runs=20, seconds=0.01)
    (record,), speed = builder.validate(table, 1, runner=quick, recheck=1)
    assert record["measured_ms"] > 0 and speed > 0
    assert record["predicted_ms"] == pytest.approx(table.predict(record["arch"]))
    assert record["error"] == pytest.approx(record["predicted_ms"] / record["measured_ms"] - 1)
    assert record["adjusted_error"] == pytest.approx(
        record["predicted_ms"] / speed / record["measured_ms"] - 1)


def test_validation_times_each_architecture_by_the_protocol(small_table):
    """Validation times with :func:`measure`: at least ``rounds`` fresh interpreters per
    architecture, no more when ``seconds`` is 0; without re-timed calibration
    architectures there is no host speed to adjust by."""
    runner = RecordingRunner(runs=3, warmup=0, rounds=2, seconds=0.0, max_rounds=2)
    (record,), speed = builder.validate(small_table, 1, runner=runner, recheck=0)
    assert [len(p) for p in runner.passes.values()] == [2]
    assert record["measured_ms"] == min(t.min_ms for t in list(runner.passes.values())[0])
    assert speed is None and "adjusted_error" not in record


@pytest.mark.slow  # two full conversions; random-init export itself is in test_export
def test_tables_convert_architectures_as_export_tflite_random_init(tmp_path, capsys):
    """The architecture a table times end to end is byte for byte the model
    `export-tflite --random-init` writes (same weights seed, BatchNorm recalibrated)."""
    space = get_space("scarlet-cifar", **SMALL)
    arch = stratified_archs(space, 1, seed=5)[0]
    keras.utils.set_random_seed(0)
    (converted,) = builder.convert_archs([arch], space, tmp_path)
    keras.utils.set_random_seed(0)
    out = tmp_path / "exported.tflite"
    code, _, err = run_cli(["export-tflite", str(arch), "--random-init", "--space",
                            "scarlet-cifar", "--width", "0.25", "--input-size", "16",
                            "--parity-images", "10", "--out", str(out)], capsys)
    assert code == 0, err
    assert converted.read_bytes() == out.read_bytes()


@pytest.mark.timing
def test_small_table_predicts_within_a_factor_of_two(small_table):
    """Live timings: the summed parts predict a whole model within a factor of 2, and the
    host's speed on a re-timing is within a factor of 2 of the build's (can miss on a
    busy shared machine, hence opt-in)."""
    quick = HostRunner(runs=20, seconds=0.01)
    (record,), speed = builder.validate(small_table, 1, runner=quick, recheck=1)
    assert 0.5 < record["predicted_ms"] / record["measured_ms"] < 2.0, record
    assert 0.5 < speed < 2.0, speed


@pytest.mark.slow
def test_table_holds_a_real_bound_on_held_out_architectures():
    """A calibrated table of a reduced space (3 choices with k3 and k7, width 0.5, 32 px)
    predicts 10 held-out stratified architectures (all-k3, all-k7, skip-heavy, ...) with at
    least 80% within ±10% and mean |error| at most 7% (a margin for a shared CI machine;
    studies/latency has the full table's figures)."""
    runner = HostRunner(runs=30, warmup=5)
    table = builder.build_table("scarlet-cifar", choices="e3k3,e6k7se,skip", width=0.5,
                                calibrate=12, runner=runner)
    assert table.correction is not None
    fit = builder.accuracy(builder.validate(table, 10, runner=runner)[0])
    assert fit["within_10"] >= 0.8 and fit["mean_abs"] <= 0.07, fit


@pytest.mark.slow
def test_latency_table_cli_build_and_validate(tmp_path, capsys):
    lut = tmp_path / "lut.json"
    args = ["latency-table", "--space", "scarlet-cifar", "--width", "0.25", "--input-size", "16",
            "--runs", "20"]
    code, stdout, err = run_cli([*args, "--calibrate", "3", "--out", str(lut)], capsys)
    assert code == 0, err
    assert len(LatencyTable.load(lut).blocks) == 19 * 12
    code, stdout, err = run_cli([*args, "--validate", "3", "--table", str(lut), "--out",
                                 str(tmp_path / "val.json")], capsys)
    assert code == 0 and "within ±10%" in stdout
    result = json.loads((tmp_path / "val.json").read_text())
    assert len(result["records"]) == 3 and result["host_speed"] > 0
    assert f"ran {result['host_speed']:.3f}x as fast" in stdout
    assert result["adjusted_accuracy"]["count"] == 3


@pytest.mark.parametrize("args,message", [
    (["--validate", "3"], "--validate N needs N >= 1, --table FILE and --recheck >= 0"),
    ([], "give --out FILE"),
    (["--adb", "--out", "x.json"], "--adb needs --benchmark-binary"),
    (["--cpu-mask", "f0", "--out", "x.json"], "need --adb"),
])
def test_latency_table_bad_input(args, message, capsys):
    code, _, err = run_cli(["latency-table", *args], capsys)
    assert code == 2 and message in err and err.count("\n") == 1


def test_validate_refuses_other_timing_settings_than_the_tables(tmp_path, capsys):
    table = synthetic_table(get_space("scarlet"), settings=HostRunner(threads=2).describe())
    table.save(tmp_path / "lut.json")
    code, _, err = run_cli(["latency-table", "--validate", "2", "--table",
                            str(tmp_path / "lut.json"), "--threads", "1"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: the latency table was timed with --threads 2, not 1")


def run_script(*args):
    """The installed ``scarlet-tf`` script in a subprocess: (exit status, stdout, stderr)."""
    done = subprocess.run([SCRIPT, *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def exported(tiny_tflite, tmp_path):
    """The tiny model with an export report naming scarlet-a in a small scarlet-cifar
    space, and a table of that space saying how it was timed (cheaply) on this host."""
    space = get_space("scarlet-cifar", **SMALL)
    model = tmp_path / "m.tflite"
    model.write_bytes(tiny_tflite.read_bytes())
    sidecar(model).write_text(json.dumps({"arch": "scarlet-a", "space": space.describe()}))
    table = synthetic_table(space, settings=HostRunner(**QUICK).describe())
    table.save(tmp_path / "lut.json")
    return model, tmp_path / "lut.json", table


def test_benchmark_with_a_table_refuses_other_threads_in_one_line(exported):
    model, lut, _ = exported
    code, out, err = run_script("benchmark", model, "--table", lut, "--threads", "2")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err == ("error: the latency table was timed with --threads 1, not 2: drop --threads "
                   "(the table's settings are the defaults) or build a table with --threads 2\n")


def test_benchmark_with_a_table_times_by_its_settings_and_shows_its_prediction(exported,
                                                                               capsys):
    model, lut, table = exported
    code, out, err = run_cli(["benchmark", str(model), "--table", str(lut), "--json"], capsys)
    assert code == 0, err
    record = json.loads(out)
    assert (record["runs"], record["warmup"], record["interpreters"]) == (5, 1, 3)
    assert record["arch"] == "scarlet-a" and record["predicted_ms"] == table.predict("scarlet-a")
    assert record["error"] == pytest.approx(record["predicted_ms"] / record["latency_ms"] - 1)
    code, out, _ = run_cli(["benchmark", str(model), "--table", str(lut), "--runs", "5"], capsys)
    assert code == 0 and f"table {lut} predicts {record['predicted_ms']:.2f} ms for scarlet-a (" \
        in out and "% of the measured latency)" in out
    sidecar(model).write_text(json.dumps({"arch": "scarlet-a", "space": get_space(
        "scarlet-cifar", width=0.5, input_size=16).describe()}))
    code, _, err = run_cli(["benchmark", str(model), "--table", str(lut)], capsys)
    assert code == 2 and "latency table is for scarlet-cifar width 0.25" in err
    assert err.count("\n") == 1


def test_benchmark_output_names_the_statistic(exported, capsys):
    model = exported[0]
    sidecar(model).unlink()
    code, out, _ = run_cli(["benchmark", str(model), "--runs", "5", "--seconds", "0",
                            "--rounds", "4"], capsys)
    assert code == 0 and read_sidecar(model) == {}
    assert " on host: latency " in out and ("ms (fastest of 5-run passes over 4 fresh "
                                            "interpreters, 1 thread, XNNPACK); one interpreter: "
                                            "median ") in out


# ---------------------------------------------------------------- Android / benchmark_model

def test_parse_benchmark_model_output_with_percentiles():
    timing = android.parse_benchmark_output((DATA / "benchmark_model_android.txt").read_text(), 4,
                                            "android:abc")
    assert timing.to_dict() == pytest.approx(dict(
        mean_ms=13.0553, median_ms=13.013, p90_ms=None, std_ms=0.229, min_ms=12.744, runs=78,
        threads=4, target="android:abc"))


def test_parse_legacy_benchmark_model_output():
    timing = android.parse_benchmark_output((DATA / "benchmark_model_legacy.txt").read_text(), 1)
    assert timing.mean_ms == pytest.approx(1006.14) and timing.median_ms is None
    assert timing.runs == 50 and timing.min_ms == pytest.approx(998.213)
    with pytest.raises(ScarletError, match="benchmark_model printed no timings"):
        android.parse_benchmark_output("ERROR: Could not open 'x.tflite'.\n", 1)


def test_adb_command_line(tmp_path):
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"")
    runner = android.AdbRunner(str(binary), "R5CT", threads=4, runs=80, warmup=5, delegate="gpu",
                               cpu_mask="f0", op_profiling=True)
    assert runner.command("/data/local/tmp/m.tflite") == [
        "taskset", "f0", "/data/local/tmp/benchmark_model", "--graph=/data/local/tmp/m.tflite",
        "--num_threads=4", "--warmup_runs=5", "--num_runs=80", "--use_gpu=true",
        "--enable_op_profiling=true"]
    assert android.AdbRunner(str(binary)).command("m")[-1] == "--use_xnnpack=true"
    with pytest.raises(ScarletError, match="unknown delegate 'tpu'"):
        android.AdbRunner(str(binary), delegate="tpu")
    with pytest.raises(ScarletError, match="benchmark_model binary not found"):
        android.AdbRunner(str(tmp_path / "missing"))


def test_no_adb_on_path_is_one_line_error(tiny_tflite, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = run_cli(["benchmark", str(tiny_tflite), "--adb", "--benchmark-binary",
                            str(tiny_tflite)], capsys)
    assert code == 2 and err.startswith("error: adb not found on PATH") and err.count("\n") == 1


@pytest.fixture
def private_adb_server(monkeypatch):
    """A real adb client talking to its own server port, killed afterwards."""
    if shutil.which("adb") is None:
        pytest.skip("adb not installed (apt-get install adb)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", port)
    yield port
    subprocess.run(["adb", "-P", port, "kill-server"], capture_output=True, timeout=30)


def test_no_device_is_one_line_error_with_real_adb(private_adb_server, tiny_tflite, capsys):
    assert android.attached_devices() == []
    code, _, err = run_cli(["benchmark", str(tiny_tflite), "--adb", "--benchmark-binary",
                            str(tiny_tflite)], capsys)
    assert code == 2
    assert err == "error: no Android device attached (`adb devices` lists none ready)\n"
    code, _, err = run_cli(["benchmark", str(tiny_tflite), "--adb", "emulator-5554",
                            "--benchmark-binary", str(tiny_tflite), "--runs", "5"], capsys)
    assert code == 2 and "no Android device attached" in err
