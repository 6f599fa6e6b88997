"""Keep native libraries' log lines off stderr.

TensorFlow's C++ runtime prints notices while its shared libraries load (absl's
"All log messages before absl::InitializeLog() ..." and oneDNN's notice, even with
``TF_CPP_MIN_LOG_LEVEL=3``), and LiteRT prints "Created TensorFlow Lite XNNPACK delegate"
when an interpreter first allocates. These write to file descriptor 2 directly, so they
are silenced there, only for as long as that code runs; Python's own ``sys.stderr``
writes are unaffected outside those moments.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import logging
import os
import sys

NOISY_IMPORTS = ("tensorflow",)  # top-level packages whose import loads native libraries


@contextlib.contextmanager
def native_stderr():
    """Send file descriptor 2 to /dev/null inside the block, then restore it."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietLoader(importlib.abc.Loader):
    """Wraps a module's loader so that executing the module runs under :func:`native_stderr`."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        with native_stderr():
            self._loader.exec_module(module)

    def __getattr__(self, name):  # get_resource_reader, is_package, ...
        return getattr(self._loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds :data:`NOISY_IMPORTS` through the other finders and wraps their loaders."""

    def find_spec(self, name, path=None, target=None):
        if name not in NOISY_IMPORTS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


def quiet_tensorflow() -> None:
    """Silence TensorFlow's load-time notices and its C++ and Python log lines below ERROR
    for this process, whatever ``TF_CPP_MIN_LOG_LEVEL`` said (call before importing it)."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if not any(isinstance(finder, _QuietFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
