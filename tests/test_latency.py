"""Host benchmarking, latency tables and the adb / benchmark_model tooling."""

import json
import shutil
import socket
import statistics
import subprocess
import time
import warnings
from pathlib import Path

import keras
import pytest
from scarlet_tf.cli.main import main

from scarlet_tf import Architecture, ScarletError, android, costs, get_space, latency
from scarlet_tf.export import to_tflite
from scarlet_tf.timing import HostRunner, Timing, benchmark

DATA = Path(__file__).parent / "data"
SMALL = dict(width=0.25, input_size=16)


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


def test_host_benchmark_statistics(tiny_tflite, monkeypatch):
    """The statistics are those of the 40 timed runs, recomputed here from the recorded
    samples (population std, linear 90th percentile)."""
    recorded, from_samples = [], Timing.from_samples

    def recording(samples_ms, *args, **kwargs):
        recorded.append(list(samples_ms))
        return from_samples(samples_ms, *args, **kwargs)

    monkeypatch.setattr(Timing, "from_samples", staticmethod(recording))
    timing = benchmark(tiny_tflite, threads=2, runs=40, warmup=3)
    assert timing.runs == 40 and timing.threads == 2 and timing.target == "host"
    (samples,) = recorded
    assert len(samples) == 40 and 0 < timing.min_ms == min(samples)
    assert timing.mean_ms == pytest.approx(statistics.fmean(samples))
    assert timing.median_ms == pytest.approx(statistics.median(samples))
    assert timing.p90_ms == pytest.approx(statistics.quantiles(samples, n=10,
                                                               method="inclusive")[-1])
    assert timing.std_ms == pytest.approx(statistics.pstdev(samples))
    assert benchmark(tiny_tflite.read_bytes(), runs=5).runs == 5
    assert len(recorded[1]) == 5


def test_timing_statistics_of_known_samples():
    timing = Timing.from_samples([4.0, 1.0, 3.0, 2.0, 10.0], threads=1)
    assert (timing.min_ms, timing.median_ms, timing.mean_ms) == (1.0, 3.0, 4.0)
    assert timing.std_ms == pytest.approx(10.0 ** 0.5)  # sqrt((0+9+1+4+36) / 5)
    assert timing.p90_ms == pytest.approx(7.6) and timing.runs == 5  # 4 + 0.6 * (10 - 4)


@pytest.mark.parametrize("kwargs,message", [
    (dict(runs=0), "runs >= 1"), (dict(threads=0), "threads >= 1"), (dict(warmup=-1), "warmup >= 0")])
def test_benchmark_bad_counts(tiny_tflite, kwargs, message):
    with pytest.raises(ScarletError, match=message):
        benchmark(tiny_tflite, **kwargs)


def test_benchmark_missing_or_broken_file(tmp_path, capsys):
    code, _, err = run_cli(["benchmark", str(tmp_path / "none.tflite")], capsys)
    assert code == 2 and "model file not found" in err
    (tmp_path / "junk.tflite").write_bytes(b"not a flatbuffer")
    with pytest.raises(ScarletError, match="LiteRT cannot load"):
        benchmark(tmp_path / "junk.tflite")


def synthetic_table(space, correction=None):
    """Layer i's block costs i + 1 ms for every token, stem 10 ms, head 5 ms."""
    blocks = {(layer.index, c.token): layer.index + 1.0 for layer in space.layers
              for c in layer.choices if not c.is_skip}
    return latency.LatencyTable(space.describe(), {"target": "host"}, 10.0, 5.0, blocks,
                                correction)


class CountingRunner(HostRunner):
    """The host runner, counting its fresh interpreters per file."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        object.__setattr__(self, "calls", {})

    def time(self, path):
        self.calls[path] = self.calls.get(path, 0) + 1
        return super().time(path)


def test_fastest_ms_gives_fast_models_more_fresh_interpreters(tiny_tflite, tmp_path):
    slow = tmp_path / "slow.tflite"
    inputs = keras.Input((192, 192, 3))
    x = keras.layers.DepthwiseConv2D(7, padding="same")(keras.layers.Conv2D(64, 3)(inputs))
    slow.write_bytes(to_tflite(keras.Model(inputs, x)))
    runner = CountingRunner(runs=5, warmup=1)
    fastest = latency.fastest_ms([tiny_tflite, slow], runner, rounds=2, seconds=0.0)
    assert runner.calls == {tiny_tflite: 2, slow: 2} and 0 < fastest[0] < fastest[1]
    start = time.perf_counter()
    runner.time(slow)
    one_pass = time.perf_counter() - start  # the slow model's passes fill the budget first
    runner.calls.clear()
    latency.fastest_ms([tiny_tflite, slow], runner, rounds=2, seconds=1.5 * one_pass,
                       max_rounds=8)
    assert runner.calls[tiny_tflite] == 8 and runner.calls[slow] <= 4, runner.calls


def test_a_table_from_another_cpu_warns_on_load(tmp_path):
    table = synthetic_table(get_space("scarlet"))
    table.settings = HostRunner().describe()
    table.save(tmp_path / "here.json")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        latency.LatencyTable.load(tmp_path / "here.json")
    table.settings["cpu_id"] = "cpu family 1 model 1 stepping 1, sse4_2"
    table.save(tmp_path / "there.json")
    with pytest.warns(UserWarning, match="there.json was timed on .*cpu family 1 model 1 "
                                         "stepping 1, sse4_2; this host is"):
        latency.LatencyTable.load(tmp_path / "there.json")


def test_table_predicts_sum_with_correction_and_round_trips(tmp_path):
    space = get_space("scarlet")
    fit = {"intercept": -1.0, "per_block": 0.5, "scale": {"k3": 2.0, "k5": 2.0, "k7": 2.0}}
    table = synthetic_table(space, correction=fit)
    arch = Architecture.parse("scarlet-c")  # skips layers 4, 5 and 16: 16 blocks kept
    raw = 15.0 + sum(range(1, 20)) - (4 + 5 + 16)
    expected = 15.0 - 1.0 + 2.0 * (raw - 15.0) + 0.5 * 16
    assert table.sum_ms(arch) == raw and table.predict(arch, space) == expected
    table.save(tmp_path / "lut.json")
    loaded = latency.LatencyTable.load(tmp_path / "lut.json")
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
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ScarletError, match="cannot read latency table"):
        latency.LatencyTable.load(tmp_path / "bad.json")
    table.correction = {"slope": 1.0, "intercept": 0.0}  # an older table's correction
    table.save(tmp_path / "old.json")
    with pytest.raises(ScarletError, match="build it again"):
        latency.LatencyTable.load(tmp_path / "old.json")


def test_fit_correction_recovers_the_terms_and_only_when_it_helps():
    space = get_space("scarlet")
    table = synthetic_table(space)
    truth = {"intercept": 2.0, "per_block": -0.3, "scale": {"k3": 0.8, "k5": 1.0, "k7": 1.3}}
    records = [{"arch": str(arch), "measured_ms": synthetic_table(space, truth).predict(arch)}
               for arch in latency.stratified_archs(space, 12, seed=0)]
    fit = latency.fit_correction(table, records)
    assert fit["intercept"] == pytest.approx(2.0) and fit["per_block"] == pytest.approx(-0.3)
    assert fit["scale"] == pytest.approx(truth["scale"])
    exact = [{"arch": r["arch"], "measured_ms": table.sum_ms(r["arch"])} for r in records]
    assert latency.fit_correction(table, exact) is None
    assert latency.fit_correction(table, records[:9]) is None  # fewer than 2 per term


def test_stratified_archs_cover_the_corners():
    space = get_space("scarlet")
    archs = latency.stratified_archs(space, 10, seed=3)
    assert archs == latency.stratified_archs(space, 10, seed=3)
    kernels = [{c.kernel for c in a.choices if not c.is_skip} for a in archs]
    assert kernels[1] == kernels[6] == {3} and kernels[2] == kernels[7] == {7}
    assert min(sum(c.is_skip for c in a.choices) for a in archs[3::5]) >= 4
    small = get_space("scarlet-cifar", choices="e3k3,skip")
    assert all(set(map(str, a.choices)) <= {"e3k3", "skip"}
               for a in latency.stratified_archs(small, 5, seed=0))


def test_part_models_follow_the_layer_specs():
    space = get_space("scarlet-cifar", **SMALL)
    parts = dict(latency.part_models(get_space("scarlet-cifar", choices="e6k5se", **SMALL)))
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
    return latency.build_table("scarlet-cifar", choices="e3k3", calibrate=2,
                               runner=HostRunner(runs=20, warmup=3), **SMALL)


def test_build_and_validate_a_small_table(small_table):
    """The table's shape and records, and validation's arithmetic on what it measured."""
    table = small_table
    assert len(table.blocks) == 19 and table.correction is None  # too few to fit
    assert table.settings["statistic"] == "min" and table.settings["runs"] == 20
    assert all(ms > 0 for ms in table.blocks.values()) and table.stem_ms > 0
    (record,), speed = latency.validate(table, 1, runner=HostRunner(runs=20), recheck=2)
    assert record["measured_ms"] > 0 and speed > 0
    assert record["predicted_ms"] == pytest.approx(table.predict(record["arch"]))
    assert record["error"] == pytest.approx(record["predicted_ms"] / record["measured_ms"] - 1)
    assert record["adjusted_error"] == pytest.approx(
        record["predicted_ms"] / speed / record["measured_ms"] - 1)
    (record,), speed = latency.validate(table, 1, runner=HostRunner(runs=20), recheck=0)
    assert speed is None and "adjusted_error" not in record


@pytest.mark.timing
def test_small_table_predicts_within_a_factor_of_two(small_table):
    """Live timings: the summed parts predict a whole model within a factor of 2, and the
    host's speed on a re-timing is within a factor of 2 of the build's (can miss on a
    busy shared machine, hence opt-in)."""
    (record,), speed = latency.validate(small_table, 1, runner=HostRunner(runs=20), recheck=2)
    assert 0.5 < record["predicted_ms"] / record["measured_ms"] < 2.0, record
    assert 0.5 < speed < 2.0, speed


@pytest.mark.slow
def test_table_holds_a_real_bound_on_held_out_architectures():
    """A calibrated table of a reduced space (3 choices with k3 and k7, width 0.5, 32 px)
    predicts 10 held-out stratified architectures (all-k3, all-k7, skip-heavy, ...) with at
    least 80% within ±10% and mean |error| at most 7%; the full scarlet-cifar table measured
    96% and 2.6% on 50 (one pinned core); the margin is for a shared CI machine."""
    runner = HostRunner(runs=30, warmup=5)
    table = latency.build_table("scarlet-cifar", choices="e3k3,e6k7se,skip", width=0.5,
                                calibrate=12, runner=runner)
    assert table.correction is not None
    fit = latency.accuracy(latency.validate(table, 10, runner=runner)[0])
    assert fit["within_10"] >= 0.8 and fit["mean_abs"] <= 0.07, fit


@pytest.mark.slow
def test_latency_table_cli_build_and_validate(tmp_path, capsys):
    lut = tmp_path / "lut.json"
    args = ["latency-table", "--space", "scarlet-cifar", "--width", "0.25", "--input-size", "16",
            "--runs", "20"]
    code, stdout, err = run_cli([*args, "--calibrate", "3", "--out", str(lut)], capsys)
    assert code == 0, err
    assert len(latency.LatencyTable.load(lut).blocks) == 19 * 12
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


def test_validate_needs_the_tables_thread_count(tmp_path, capsys):
    table = synthetic_table(get_space("scarlet"))
    table.settings["threads"] = 2
    table.save(tmp_path / "lut.json")
    code, _, err = run_cli(["latency-table", "--validate", "2", "--table", str(tmp_path / "lut.json")],
                           capsys)
    assert code == 2 and "measured with 2 thread(s)" in err


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
    assert code == 2 and err == "error: no Android device attached (`adb devices` lists none ready)\n"
    code, _, err = run_cli(["benchmark", str(tiny_tflite), "--adb", "emulator-5554",
                            "--benchmark-binary", str(tiny_tflite), "--runs", "5"], capsys)
    assert code == 2 and "no Android device attached" in err
