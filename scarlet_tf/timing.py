"""Timing TFLite models on the host: LiteRT interpreter with XNNPACK.

:class:`Timing` holds the statistics of one model's timed runs; it is shared with the
Android runner (:mod:`scarlet_tf.android`). Importing this module is light: LiteRT loads
on the first timed model.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.quiet import native_stderr


@dataclass(frozen=True)
class Timing:
    """Latency statistics of one model in ms over ``runs`` timed runs (None: not reported)."""

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


def _check_counts(threads: int, runs: int, warmup: int) -> None:
    if threads < 1 or runs < 1 or warmup < 0:
        raise ScarletError(f"need threads >= 1, runs >= 1, warmup >= 0; got {threads}, {runs}, "
                           f"{warmup}")


def benchmark(model: str | os.PathLike | bytes, *, threads: int = 1, runs: int = 50,
              warmup: int = 10) -> Timing:
    """Time a TFLite model on the host: LiteRT interpreter with XNNPACK, batch-1 random
    input, ``warmup`` untimed then ``runs`` timed invocations on ``threads`` threads."""
    # LiteRT is heavy: loaded on the first timed model only
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    _check_counts(threads, runs, warmup)
    source = {"model_content": model} if isinstance(model, bytes) else {"model_path": os.fspath(model)}
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
        return rng.integers(info.min, info.max, detail["shape"], endpoint=True).astype(detail["dtype"])
    return rng.uniform(-1, 1, detail["shape"]).astype(detail["dtype"])


@dataclass(frozen=True)
class HostRunner:
    """Times TFLite files on this machine with :func:`benchmark`."""

    threads: int = 1
    runs: int = 50
    warmup: int = 10

    def time(self, path: str | os.PathLike) -> Timing:
        return benchmark(path, threads=self.threads, runs=self.runs, warmup=self.warmup)

    def describe(self) -> dict:
        """What the timings were measured on: CPU model, runtime and version, delegate."""
        return {"target": "host", "cpu_model": cpu_model(), "cpu_id": cpu_id(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(), "runtime": "LiteRT interpreter",
                "runtime_version": _version("ai-edge-litert"), "delegate": "XNNPACK",
                "statistic": "min", **asdict(self)}


def cpu_model() -> str:
    """The host CPU's model name (``/proc/cpuinfo``; the platform's processor elsewhere)."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_id() -> str:
    """The host CPU's generation and widest vector extension, e.g. ``cpu family 26 model 2
    stepping 1, avx512f`` (``CPU part`` on ARM): CPUs sold under one name (``AMD EPYC``)
    ran the same model 2-3x apart across generations. Empty without ``/proc/cpuinfo``."""
    fields = _cpuinfo()
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    isa = next((f for f in ("avx512f", "avx2", "sse4_2", "sve", "asimd") if f in flags), "")
    generation = " ".join(f"{key} {fields[key]}" for key in ("cpu family", "model", "stepping",
                                                             "CPU part") if key in fields)
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
