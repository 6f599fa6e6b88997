"""``scarlet-tf benchmark`` and ``latency-table``: time TFLite models (host or adb) and
build or validate latency tables, all with one timing protocol.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click
from click.core import ParameterSource

from scarlet_tf.errors import ScarletError
from scarlet_tf.latency.android import DELEGATES, AdbRunner
from scarlet_tf.latency.timing import HostRunner, Protocol, describe_latency, format_ms
from scarlet_tf.latency.timing import benchmark as measure_latency
from scarlet_tf.space.spaces import get_space

from .options import space_options

DEFAULTS = Protocol()


threads_option = click.option("--threads", type=int, default=DEFAULTS.threads,
                              show_default=True, help="CPU threads for timing.")


def runner_options(command):
    """The timing protocol's ``--threads/--runs/--warmup/--rounds/--seconds`` and the
    Android ``--adb`` options."""
    for option in reversed([
        threads_option,
        click.option("--runs", type=int, default=DEFAULTS.runs, show_default=True,
                     help="Timed runs per fresh interpreter."),
        click.option("--warmup", type=int, default=DEFAULTS.warmup, show_default=True,
                     help="Untimed runs first, per interpreter."),
        click.option("--rounds", type=int, default=DEFAULTS.rounds, show_default=True,
                     help="Fresh interpreters at least (more until --seconds); the latency "
                     "is the fastest run of all."),
        click.option("--seconds", type=float, default=DEFAULTS.seconds, show_default=True,
                     help="Wall time per model to fill with more fresh interpreters."),
        click.option("--adb", "adb_serial", is_flag=False, flag_value="", default=None,
                     metavar="[SERIAL]", help="Time on an Android device over adb (serial "
                     "optional when one device is attached)."),
        click.option("--benchmark-binary", type=click.Path(dir_okay=False),
                     help="Android benchmark_model binary (with --adb)."),
        click.option("--delegate", type=click.Choice(DELEGATES),
                     default="xnnpack", show_default=True, help="Android delegate (with --adb)."),
        click.option("--cpu-mask", help="taskset hex mask pinning the Android run, e.g. f0."),
    ]):
        command = option(command)
    return command


PROTOCOL_OPTIONS = ("threads", "runs", "warmup", "rounds", "seconds")


def chosen_protocol(params: dict, table=None) -> dict:
    """The protocol keywords of a command's ``params``; with a LatencyTable ``table``, its
    recorded settings replace the defaults and an explicit option that differs is an
    error (:meth:`LatencyTable.protocol`)."""
    context = click.get_current_context()
    given = {k: params[k] for k in PROTOCOL_OPTIONS}
    if table is None:
        return given
    explicit = {k: v for k, v in given.items()
                if context.get_parameter_source(k) is not ParameterSource.DEFAULT}
    target = "host" if params["adb_serial"] is None else "android"
    return {**given, **table.protocol(explicit, target)}


def make_runner(protocol, adb_serial, benchmark_binary, delegate, cpu_mask, op_profiling=False):
    """A HostRunner, or an AdbRunner when ``--adb`` was given, timing by ``protocol``
    (:class:`~scarlet_tf.latency.timing.Protocol` keywords)."""
    if adb_serial is None:
        if benchmark_binary or cpu_mask or op_profiling:
            raise ScarletError("--benchmark-binary, --cpu-mask and --op-profiling need --adb")
        return HostRunner(**protocol)
    if not benchmark_binary:
        raise ScarletError("--adb needs --benchmark-binary PATH (see mobile/README.md)")
    return AdbRunner(benchmark_binary, adb_serial or None, delegate, cpu_mask, op_profiling,
                     **protocol)


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@runner_options
@click.option("--op-profiling", is_flag=True, help="Per-op timings in the Android output.")
@click.option("--table", type=click.Path(dir_okay=False, exists=True),
              help="Latency table: time with its settings, and print its prediction for the "
              "architecture MODEL.json names (export-tflite's report).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def benchmark(model, adb_serial, benchmark_binary, delegate, cpu_mask, op_profiling, table,
              as_json, **params):
    """Time MODEL.tflite on the host (LiteRT + XNNPACK) or on Android (--adb).

    The latency is the fastest timed run over fresh interpreters (at least --rounds, more
    until --seconds), the statistic latency tables predict; one interpreter's median,
    mean and p90 are shown beside it."""
    from scarlet_tf.export.pipeline import read_sidecar
    from scarlet_tf.latency.table import LatencyTable

    lut = LatencyTable.load(table) if table else None
    runner = make_runner(chosen_protocol({**params, "adb_serial": adb_serial}, lut), adb_serial,
                         benchmark_binary, delegate, cpu_mask, op_profiling)
    sidecar = read_sidecar(model)
    predicted = None if lut is None else predicted_ms(lut, sidecar)
    if op_profiling:  # one profiled run, shown; the latency is timed without profiling
        click.echo(runner.run(model)[1], err=True)
        runner = dataclasses.replace(runner, op_profiling=False)
    record = {"model": model, **measure_latency(model, runner).to_dict(),
              "madds": sidecar.get("madds")}
    if lut is not None:
        record.update(table=table, arch=sidecar.get("arch"), predicted_ms=predicted,
                      error=None if predicted is None else predicted / record["latency_ms"] - 1)
    click.echo(json.dumps(record) if as_json else benchmark_summary(record))


def predicted_ms(table, report: dict) -> float | None:
    """``table``'s prediction (ms) for the architecture an export ``report`` names (None
    when it names none); ScarletError when the table is for another space."""
    if "arch" not in report or "space" not in report:
        return None
    from scarlet_tf.space.spaces import get_space

    return table.predict(report["arch"], get_space(**report["space"]))


def benchmark_summary(record) -> str:
    """A benchmark record in words: the latency, one interpreter's figures, mult-adds and,
    with a table, its prediction and error."""
    text = f"{record['model']} on {record['target']}: {describe_latency(record)}"
    if record["madds"]:
        text += (f"; {record['madds'] / 1e6:.1f}M mult-adds, "
                 f"{record['latency_ms'] / (record['madds'] / 1e9):.1f} ms/GMAC")
    if record.get("predicted_ms") is not None:
        text += (f"\ntable {record['table']} predicts {format_ms(record['predicted_ms'])} ms"
                 f" for {record['arch']} ({record['error']:+.1%} of the measured latency)")
    elif "table" in record:
        text += f"\nno prediction: {record['model']}.json names no architecture"
    return text


@click.command("latency-table")
@space_options()
@runner_options
@click.option("--calibrate", type=int, default=40, show_default=True,
              help="Stratified architectures timed end to end to fit the correction.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write the table here (JSON); with --validate, the validation records.")
@click.option("--validate", type=int, help="Measure N stratified architectures against --table "
              "(uniform, all-k3, all-k7, skip-heavy, mixed in turn).")
@click.option("--table", type=click.Path(dir_okay=False), help="Table to validate.")
@click.option("--recheck", type=int, default=10, show_default=True,
              help="With --validate: time this many of the table's calibration architectures "
              "again, to tell the host's speed shift since the build from the table's error.")
def latency_table(space, width, num_classes, input_size, adb_serial, benchmark_binary, delegate,
                  cpu_mask, calibrate, seed, out, validate, table, recheck, **params):
    """Time every block of a space (build, --out) or check a table (--validate N --table).

    Every model is timed as `scarlet-tf benchmark` times it (the fastest run over fresh
    interpreters); validation converts architectures as `export-tflite --random-init`
    does and times them with the table's settings."""
    from scarlet_tf.latency import builder
    from scarlet_tf.latency.table import LatencyTable

    params["adb_serial"] = adb_serial
    if validate is not None:
        if not table or validate < 1 or recheck < 0:
            raise ScarletError("--validate N needs N >= 1, --table FILE and --recheck >= 0")
        lut = LatencyTable.load(table)
        runner = make_runner(chosen_protocol(params, lut), adb_serial, benchmark_binary,
                             delegate, cpu_mask)
        records, speed = builder.validate(lut, validate, runner=runner, seed=seed + 1000,
                                          recheck=recheck,
                                          progress=lambda message: click.echo(message, err=True))
        for record in records:
            click.echo(f"{record['arch']}: predicted {record['predicted_ms']:.2f} ms, measured "
                       f"{record['measured_ms']:.2f} ms ({record['error']:+.1%})")
        click.echo(validation_summary(records))
        result = {"table": table, "records": records, "accuracy": builder.accuracy(records),
                  "host_speed": speed}
        if speed is not None:
            click.echo(f"host speed: {min(recheck, len(lut.calibration))} of the table's "
                       f"calibration architectures ran {speed:.3f}x as fast as when it was "
                       f"built; with that removed:")
            click.echo(validation_summary(records, "adjusted_error"))
            result["adjusted_accuracy"] = builder.accuracy(records, "adjusted_error")
        if out:
            Path(out).write_text(json.dumps(result, indent=1))
        return
    if not out:
        raise ScarletError("give --out FILE to build a table, or --validate N --table FILE")
    runner = make_runner(chosen_protocol(params), adb_serial, benchmark_binary, delegate,
                         cpu_mask)
    built = builder.build_table(get_space(space, width=width, num_classes=num_classes,
                                          input_size=input_size),
                                runner=runner, calibrate=calibrate, seed=seed,
                                progress=lambda message: click.echo(message, err=True))
    built.save(out)
    click.echo(f"wrote {out}: {len(built.blocks)} blocks, correction {built.correction}")


def validation_summary(records, key: str = "error") -> str:
    """Overall and per-stratum accuracy of validation records' ``key``, one line each."""
    from scarlet_tf.latency.builder import accuracy
    from scarlet_tf.space.strata import STRATA

    lines = []
    for name in ("all", *STRATA):
        chosen = [r for r in records if name == "all" or r["stratum"] == name]
        if chosen:
            fit = accuracy(chosen, key)
            lines.append(f"{name}: {fit['within_10']:.0%} within ±10%, {fit['within_5']:.0%} "
                         f"within ±5% of {fit['count']}; mean |error| {fit['mean_abs']:.1%}, "
                         f"max {fit['max_abs']:.1%}")
    return "\n".join(lines)
