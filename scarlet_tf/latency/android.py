"""On-device latency over adb with TFLite's ``benchmark_model`` binary.

The binary (see ``mobile/README.md`` for where to get it) and the model are pushed to
``/data/local/tmp``, run with the requested threads, warm-up, runs and delegate, and
removed again; the binary's timing lines are parsed into a
:class:`~scarlet_tf.latency.timing.Timing`.
Each run is one fresh interpreter (one process): :func:`scarlet_tf.latency.timing.measure` runs
several and reports the fastest timed run, as on the host.
The adb server port follows adb's own ``ANDROID_ADB_SERVER_PORT`` variable.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from scarlet_tf.errors import ScarletError
from scarlet_tf.latency.timing import Protocol, Timing

REMOTE_DIR = "/data/local/tmp"
DELEGATES = ("cpu", "xnnpack", "gpu", "nnapi")
_DELEGATE_FLAGS = {"cpu": ["--use_xnnpack=false"], "xnnpack": ["--use_xnnpack=true"],
                   "gpu": ["--use_gpu=true"], "nnapi": ["--use_nnapi=true"]}
_NUMBER = r"([0-9.]+(?:e[+-]?[0-9]+)?)"
_STATS = re.compile(rf"count=(\d+) first={_NUMBER} curr={_NUMBER} min={_NUMBER} max={_NUMBER} "
                    rf"avg={_NUMBER} std={_NUMBER}"
                    rf"(?: p5={_NUMBER} median={_NUMBER} p95={_NUMBER})?")
_SUMMARY = re.compile(rf"Inference timings in us: Init: {_NUMBER}, First inference: {_NUMBER}, "
                      rf"Warmup \(avg\): {_NUMBER}, Inference \(avg\): {_NUMBER}")


@dataclass(frozen=True)
class AdbRunner(Protocol):
    """Times TFLite files on an Android device with ``benchmark_model`` over adb.

    ``serial`` picks the device (None: the only one attached); ``binary`` is the host
    path of an Android ``benchmark_model``; ``cpu_mask`` (hex, e.g. ``f0``) pins the run to
    those cores with ``taskset`` (big cores); ``op_profiling`` adds per-op timings to the
    binary's output. The :class:`~scarlet_tf.latency.timing.Protocol` fields (keywords) set the
    runs, threads and fresh interpreters.
    """

    binary: str
    serial: str | None = None
    delegate: str = "xnnpack"
    cpu_mask: str | None = None
    op_profiling: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.delegate not in DELEGATES:
            raise ScarletError(f"unknown delegate {self.delegate!r}; allowed: "
                               f"{', '.join(DELEGATES)}")
        if not Path(self.binary).is_file():
            raise ScarletError(f"benchmark_model binary not found: {self.binary} "
                               f"(see mobile/README.md)")

    def command(self, remote_model: str) -> list[str]:
        """The device-side command line that times ``remote_model``."""
        pin = ["taskset", self.cpu_mask] if self.cpu_mask else []
        return [*pin, f"{REMOTE_DIR}/benchmark_model", f"--graph={remote_model}",
                f"--num_threads={self.threads}", f"--warmup_runs={self.warmup}",
                f"--num_runs={self.runs}", *_DELEGATE_FLAGS[self.delegate],
                *(["--enable_op_profiling=true"] if self.op_profiling else [])]

    def run(self, path: str | os.PathLike) -> tuple[str, str]:
        """Push the binary and ``path``, run, clean up; returns (serial, benchmark stdout)."""
        serial = device_serial(self.serial)
        remote = f"{REMOTE_DIR}/scarlet_{Path(path).name}"
        binary = f"{REMOTE_DIR}/benchmark_model"
        try:
            adb(serial, "push", self.binary, binary)
            adb(serial, "shell", "chmod", "755", binary)
            adb(serial, "push", os.fspath(path), remote)
            return serial, adb(serial, "shell", shlex.join(self.command(remote)))
        finally:
            adb(serial, "shell", "rm", "-f", remote, binary, check=False)

    def time(self, path: str | os.PathLike) -> Timing:
        """The device Timing of ``path`` (see :meth:`run`)."""
        serial, output = self.run(path)
        return parse_benchmark_output(output, self.threads, f"android:{serial}")

    def describe(self) -> dict:
        return {"target": "android", **asdict(self), **self.settings()}


def adb_executable() -> str:
    """Path of the adb client, or a ScarletError saying how to install it."""
    path = shutil.which("adb")
    if path is None:
        raise ScarletError("adb not found on PATH: install Android platform-tools "
                           "(Debian/Ubuntu: apt-get install adb)")
    return path


def adb(serial: str | None, *args: str, check: bool = True) -> str:
    """Run ``adb [-s serial] args...``; returns stdout, raises ScarletError on failure."""
    command = [adb_executable(), *(["-s", serial] if serial else []), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if check and done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise ScarletError(f"adb {' '.join(args[:2])} failed: {message[-1]}")
    return done.stdout


def attached_devices() -> list[str]:
    """Serials of the devices ``adb devices`` lists as ready (state ``device``)."""
    lines = adb(None, "devices").splitlines()
    return [line.split()[0] for line in lines[1:] if line.split()[1:2] == ["device"]]


def device_serial(serial: str | None) -> str:
    """``serial`` when attached, else the only attached device; ScarletError otherwise."""
    devices = attached_devices()
    if not devices:
        raise ScarletError("no Android device attached (`adb devices` lists none ready)")
    if serial and serial not in devices:
        raise ScarletError(f"device {serial} not attached; attached: {', '.join(devices)}")
    if not serial and len(devices) > 1:
        raise ScarletError(f"several devices attached ({', '.join(devices)}): pass a serial "
                           f"to --adb")
    return serial or devices[0]


def parse_benchmark_output(text: str, threads: int, target: str = "android") -> Timing:
    """Timing (ms) from ``benchmark_model`` stdout: its last ``count=... avg=... std=...``
    line (the timed runs; median where the binary prints percentiles) and the
    ``Inference timings in us`` summary. Raises ScarletError when they are missing."""
    stats = list(_STATS.finditer(text))
    summary = _SUMMARY.search(text)
    if not stats or not summary:
        last = text.strip().splitlines()[-1:] or ["no output"]
        raise ScarletError(f"benchmark_model printed no timings (last line: {last[0]!r})")
    count, _, _, low, _, _, std, _, median, _ = stats[-1].groups()
    us = lambda value: None if value is None else float(value) / 1e3  # noqa: E731
    return Timing(us(summary.group(4)), us(median), None, us(std), us(low), int(count), threads,
                  target)
