"""Timing TFLite models: one latency statistic for the whole tool.

A model's latency (ms) is the fastest timed run over several fresh interpreters
(:func:`measure`, settings in :class:`Protocol`): ``warmup`` untimed then ``runs`` timed
invocations per interpreter, at least ``rounds`` interpreters and more until the model's
timing took ``seconds`` of wall time. On a CPU shared with other processes the median of
one interpreter drifts with their load while the fastest run stays put, and one
interpreter instance can be slow as a whole (its memory layout, its thread's core), so
the minimum over fresh interpreters is the figure that repeats. ``scarlet-tf benchmark``,
``export-tflite``'s report and the latency tables (their parts, calibration and
validation) all measure it with :func:`measure`; the first interpreter's median, mean
and p90 (a :class:`Timing`) are reported beside it for information.

The host runner (:class:`HostRunner`) uses the LiteRT interpreter with XNNPACK; the
Android one (:mod:`scarlet_tf.latency.android`) runs ``benchmark_model`` over adb, one process per
interpreter. Importing this module is light: LiteRT loads on the first timed model.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass, fields
from importlib import metadata
from pathlib import Path
from typing import ClassVar

import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.quiet import native_stderr

STATISTIC = "fastest-of-fresh-interpreters"  # recorded in tables and reports


@dataclass(frozen=True)
class Timing:
    """One interpreter's statistics in ms over ``runs`` timed runs (None: not reported)."""

    mean_ms: float
    median_ms: float | None
    p90_ms: float | None
    std_ms: float
    min_ms: float
    runs: int
    threads: int
    target: str

    @classmethod
    def from_samples(cls, samples_ms, threads: int, target: str = "host") -> Timing:
        x = np.asarray(samples_ms, float)
        return cls(float(x.mean()), float(np.median(x)), float(np.percentile(x, 90)),
                   float(x.std()), float(x.min()), len(x), threads, target)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class Protocol:
    """How a latency is measured: per fresh interpreter ``warmup`` untimed then ``runs``
    timed invocations on ``threads`` threads; at least ``rounds`` interpreters per model,
    then more (up to ``max_rounds``) until ``seconds`` of wall time went into the model.
    The latency is the fastest of all its timed runs (:func:`measure`)."""

    threads: int = 1
    runs: int = 50
    warmup: int = 10
    rounds: int = 3
    seconds: float = 2.0
    max_rounds: int = 24

    def __post_init__(self):
        if (self.threads < 1 or self.runs < 1 or self.warmup < 0 or self.seconds < 0
                or not 1 <= self.rounds <= self.max_rounds):
            raise ScarletError(f"need threads >= 1, runs >= 1, warmup >= 0, seconds >= 0 and "
                               f"1 <= rounds <= max_rounds; got {self.settings()}")

    def settings(self) -> dict:
        """The protocol's fields and the statistic's name, as tables record them."""
        return {"statistic": STATISTIC,
                **{f.name: getattr(self, f.name) for f in fields(Protocol)}}


PROTOCOL_FIELDS = tuple(f.name for f in fields(Protocol))


@dataclass(frozen=True)
class Latency:
    """One model's latency in ms by the :class:`Protocol` (``latency_ms``: the fastest
    timed run over ``interpreters`` fresh interpreters) and, for information, the first
    interpreter's statistics (``one``)."""

    latency_ms: float
    interpreters: int
    runs: int
    warmup: int
    threads: int
    delegate: str
    one: Timing

    def to_dict(self) -> dict:
        """Flat settings and ``latency_ms``; the first interpreter's ``mean_ms``,
        ``median_ms``, ``p90_ms``, ``std_ms`` and ``min_ms`` under ``one_interpreter``."""
        one = {k: v for k, v in self.one.to_dict().items() if k.endswith("_ms")}
        return {"latency_ms": self.latency_ms, "statistic": STATISTIC,
                "interpreters": self.interpreters, "runs": self.runs, "warmup": self.warmup,
                "threads": self.threads, "delegate": self.delegate, "target": self.one.target,
                "one_interpreter": one}


def measure(models, runner) -> list[Latency]:
    """The :class:`Latency` of each model (TFLite path, or flatbuffer bytes on the host)
    on ``runner`` (a :class:`HostRunner` or :class:`~scarlet_tf.latency.android.AdbRunner`, whose
    :class:`Protocol` fields apply), in round-robin passes of one fresh interpreter per
    model: fast models, whose passes are cheap, get more of them, and a burst of load on
    a shared CPU spoils at most one pass of each model."""
    passes = [[] for _ in models]
    spent = [0.0] * len(models)
    for done in range(runner.max_rounds):
        for i, model in enumerate(models):
            if done < runner.rounds or spent[i] < runner.seconds:
                start = time.perf_counter()
                passes[i].append(runner.time(model))
                spent[i] += time.perf_counter() - start
    return [Latency(min(t.min_ms for t in timings), len(timings), runner.runs, runner.warmup,
                    runner.threads, runner.delegate, timings[0]) for timings in passes]


def benchmark(model: str | os.PathLike | bytes, runner=None, **protocol) -> Latency:
    """The :class:`Latency` of one TFLite model (path, or flatbuffer bytes on the host):
    on ``runner``, or on a :class:`HostRunner` built from the :class:`Protocol` keywords
    (``threads``, ``runs``, ``warmup``, ``rounds``, ``seconds``, ``max_rounds``)."""
    if runner is not None and protocol:
        raise ScarletError("give a runner or protocol keywords, not both")
    return measure([model], runner or HostRunner(**protocol))[0]


def time_export(out: str | os.PathLike, **protocol) -> dict:
    """Time an exported model (:func:`benchmark`, ``protocol`` its settings: threads, runs,
    ...) and add the result to its sidecar ``out.json`` as ``latency``; returns the sidecar's
    report."""
    from scarlet_tf.files import read_json, write_json

    path = Path(f"{out}.json")
    report = read_json(path)
    if report is None:
        raise ScarletError(f"{out} has no export report {path}; export it first")
    report["latency"] = benchmark(out, **protocol).to_dict()
    write_json(path, report)
    return report


def time_interpreter(model: str | os.PathLike | bytes, *, threads: int = 1, runs: int = 50,
                     warmup: int = 10) -> Timing:
    """One fresh LiteRT interpreter (XNNPACK, ``threads`` threads) on batch-1 random input:
    ``warmup`` untimed then ``runs`` timed invocations; their statistics in ms."""
    # LiteRT is heavy: loaded on the first timed model only
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    source = ({"model_content": model} if isinstance(model, bytes)
              else {"model_path": os.fspath(model)})
    if "model_path" in source and not os.path.isfile(source["model_path"]):
        raise ScarletError(f"model file not found: {source['model_path']}")
    try:
        with native_stderr():  # LiteRT announces its XNNPACK delegate on fd 2
            interpreter = Interpreter(**source, num_threads=threads,
                                      experimental_op_resolver_type=OpResolverType.BUILTIN)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        raise ScarletError(f"LiteRT cannot load the model: {str(err).splitlines()[0]}") from None
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], _random_input(detail))
    for _ in range(warmup):
        interpreter.invoke()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        samples.append((time.perf_counter() - start) * 1e3)
    return Timing.from_samples(samples, threads)


def _random_input(detail):
    rng = np.random.default_rng(0)
    if np.issubdtype(detail["dtype"], np.integer):
        info = np.iinfo(detail["dtype"])
        values = rng.integers(info.min, info.max, detail["shape"], endpoint=True)
        return values.astype(detail["dtype"])
    return rng.uniform(-1, 1, detail["shape"]).astype(detail["dtype"])


def describe_latency(record: dict) -> str:
    """A :meth:`Latency.to_dict` record in words: ``latency 4.12 ms (fastest of 50-run
    passes over 6 fresh interpreters, 1 thread, XNNPACK); one interpreter: median 4.35,
    mean 4.40, p90 4.61 ms`` (figures the runner did not report left out)."""
    one = record["one_interpreter"]
    figures = ", ".join(f"{name} {format_ms(one[f'{name}_ms'])}"
                        for name in ("median", "mean", "p90") if one.get(f"{name}_ms") is not None)
    threads = f"{record['threads']} thread{'s' * (record['threads'] != 1)}"
    return (f"latency {format_ms(record['latency_ms'])} ms (fastest of {record['runs']}-run "
            f"passes over {record['interpreters']} fresh interpreters, {threads}, "
            f"{record['delegate'].upper()}); one interpreter: {figures} ms")


def format_ms(value: float) -> str:
    """Milliseconds to 2 decimals, or 3 significant digits below 1 ms."""
    return f"{value:.2f}" if value >= 1 else f"{value:.3g}"


@dataclass(frozen=True, kw_only=True)
class HostRunner(Protocol):
    """Times TFLite models on this machine: LiteRT interpreter with XNNPACK."""

    delegate: ClassVar[str] = "xnnpack"

    def time(self, model: str | os.PathLike | bytes) -> Timing:
        """One fresh interpreter's :class:`Timing` (:func:`time_interpreter`)."""
        return time_interpreter(model, threads=self.threads, runs=self.runs, warmup=self.warmup)

    def describe(self) -> dict:
        """What the timings were measured on (CPU model, runtime and version, delegate) and
        how (:meth:`Protocol.settings`)."""
        return {"target": "host", "cpu_model": cpu_model(), "cpu_id": cpu_id(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(), "runtime": "LiteRT interpreter",
                "runtime_version": _version("ai-edge-litert"), "delegate": "XNNPACK",
                **self.settings()}


def cpu_model() -> str:
    """The host CPU's model name (``/proc/cpuinfo``; the platform's processor elsewhere)."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_id() -> str:
    """The host CPU's generation and widest vector extension, e.g. ``cpu family 26 model 2
    stepping 1, avx512f`` (``CPU part`` on ARM): CPUs sold under one name (``AMD EPYC``)
    differ in speed across generations. Empty without ``/proc/cpuinfo``."""
    info = _cpuinfo()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    isa = next((f for f in ("avx512f", "avx2", "sse4_2", "sve", "asimd") if f in flags), "")
    generation = " ".join(f"{key} {info[key]}" for key in ("cpu family", "model", "stepping",
                                                           "CPU part") if key in info)
    return ", ".join(part for part in (generation, isa) if part)


def _cpuinfo() -> dict[str, str]:
    """The first processor's ``/proc/cpuinfo`` fields (empty where it is not readable)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    pairs = (line.split(":", 1) for line in text.split("\n\n")[0].splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
