"""Lazy public names for a package's ``__init__``: a heavy submodule (Keras, TensorFlow,
keras-tuner) is imported on first use of one of its names, so light imports stay light."""

from __future__ import annotations

from importlib import import_module


def lazy_exports(package: str, exports: dict[str, str]):
    """A module-level ``__getattr__`` (PEP 562) for ``package`` that returns
    ``exports[name]``'s attribute ``name``, importing that submodule on first use."""

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(exports[name]), name)

    return __getattr__
