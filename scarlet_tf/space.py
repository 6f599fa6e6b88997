"""Search spaces, choices and architectures: the single description of the network.

Every other module (plain models, the supernet, costs, search, latency tables) reads
the layer table from a :class:`SearchSpace`; none keeps its own copy.

Architecture text form: 19 comma-separated tokens, one per searchable layer, each
``e{3|6}k{3|5|7}`` with an optional ``se`` suffix, or ``skip``; e.g. ``e3k7,e6k5,...``.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scarlet_tf.errors import ScarletError

# (out channels, layers, stride of the first layer) of the six searchable stages.
STAGES = ((32, 2, 2), (40, 4, 2), (80, 4, 2), (96, 4, 1), (192, 4, 2), (320, 1, 1))
NUM_LAYERS = sum(n for _, n, _ in STAGES)

_TOKEN = re.compile(r"^e([36])k([357])(se)?$")


@dataclass(frozen=True, order=True)
class Choice:
    """One candidate operation of a layer: an MBConv block, or ``skip`` (expansion 0)."""

    expansion: int = 0
    kernel: int = 0
    se: bool = False

    @property
    def is_skip(self) -> bool:
        return self.expansion == 0

    @property
    def token(self) -> str:
        if self.is_skip:
            return "skip"
        return f"e{self.expansion}k{self.kernel}" + ("se" if self.se else "")

    @classmethod
    def parse(cls, token: str) -> Choice:
        """Parse ``e3k7se``-style tokens or ``skip``; raises ValueError on anything else."""
        token = token.strip().lower()
        if token == "skip":
            return SKIP
        match = _TOKEN.match(token)
        if not match:
            raise ValueError(token)
        return cls(int(match.group(1)), int(match.group(2)), bool(match.group(3)))

    def __str__(self) -> str:
        return self.token


SKIP = Choice()
# The 13 candidates in path order (a layer's path index counts within its own choices).
MBCONV_CHOICES = tuple(
    Choice(e, k, se) for se in (False, True) for e in (3, 6) for k in (3, 5, 7)
)
ALL_CHOICES = MBCONV_CHOICES + (SKIP,)
ALLOWED_TOKENS = "e{3|6}k{3|5|7} with optional 'se' suffix, or 'skip'"


def _stage_layout():
    """Yield (stage 1-based, first-in-stage, out channels, stride) for the 19 layers."""
    for stage, (channels, repeats, stride) in enumerate(STAGES, start=1):
        for i in range(repeats):
            yield stage, i == 0, channels, stride if i == 0 else 1


# Skip is allowed exactly where stride is 1 and channels are unchanged at width 1.0:
# every layer but the first of its stage (13 of 19). Width does not change this set,
# so an architecture is valid in every space and width.
SKIPPABLE = tuple(not first for _, first, _, _ in _stage_layout())


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor``, never below 90% of ``value``."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


@dataclass(frozen=True)
class LayerSpec:
    """One searchable layer: its place, shapes and allowed choices.

    ``resolution`` is the side of the input feature map in pixels; the output side is
    ``ceil(resolution / stride)``.
    """

    index: int  # 0-based
    stage: int  # 1-based
    in_channels: int
    out_channels: int
    stride: int
    resolution: int
    can_skip: bool
    choices: tuple[Choice, ...] = ALL_CHOICES  # this layer's candidates, in path order

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def name(self) -> str:
        return f"layer{self.number:02d}"

    @property
    def out_resolution(self) -> int:
        return math.ceil(self.resolution / self.stride)

    @property
    def residual(self) -> bool:
        """True when an MBConv here adds its input (stride 1, Cin = Cout)."""
        return self.stride == 1 and self.in_channels == self.out_channels


@dataclass(frozen=True)
class SearchSpace:
    """A whole network: stem, separable block, 19 searchable layers and head.

    ``input_size`` is the image side in pixels; channel counts already include the
    width multiplier (rounded to multiples of 8).
    """

    name: str
    input_size: int
    num_classes: int
    width: float
    stem_channels: int
    stem_stride: int
    sep_channels: int
    head_channels: int
    layers: tuple[LayerSpec, ...]

    @property
    def stem_resolution(self) -> int:
        """Side of the stem's output feature map."""
        return math.ceil(self.input_size / self.stem_stride)

    @property
    def head_resolution(self) -> int:
        return self.layers[-1].out_resolution

    choice_set: tuple[Choice, ...] = ALL_CHOICES

    @property
    def num_choices(self) -> tuple[int, ...]:
        return tuple(len(layer.choices) for layer in self.layers)

    def encode(self, arch: Architecture) -> tuple[int, ...]:
        """The integer path of ``arch``: each layer's index into its ``choices``."""
        if not isinstance(arch, Architecture):
            raise ScarletError(f"expected an Architecture, got {type(arch).__name__} "
                               f"{arch!r:.60}; parse names and strings with resolve_arch")
        path = []
        for layer, choice in zip(self.layers, arch.choices):
            if choice not in layer.choices:
                raise ScarletError(
                    f"layer {layer.number}: {choice.token!r} is not a choice of this space; "
                    f"allowed there: {', '.join(c.token for c in layer.choices)}")
            path.append(layer.choices.index(choice))
        return tuple(path)

    def decode(self, path) -> Architecture:
        """The architecture of an integer path (one index per layer)."""
        return Architecture(tuple(layer.choices[int(i)] for layer, i in zip(self.layers, path)))

    def sample(self, seed=None) -> Architecture:
        """A uniformly sampled architecture; ``seed`` is an int or a numpy Generator."""
        rng = np.random.default_rng(seed)
        return self.decode([rng.integers(n) for n in self.num_choices])

    @property
    def size(self) -> int:
        """Number of architectures in the space."""
        return math.prod(self.num_choices)

    def describe(self) -> dict:
        """The settings that rebuild this space with :func:`get_space`."""
        described = {"name": self.name, "width": self.width, "num_classes": self.num_classes,
                     "input_size": self.input_size}
        if self.choice_set != ALL_CHOICES:
            described["choices"] = ",".join(c.token for c in self.choice_set)
        return described


_SPACES = {
    # name: (default input size, default classes, stem stride, first-stage stride)
    "scarlet": (224, 1000, 2, 2),
    "scarlet-cifar": (32, 10, 1, 1),
}
SPACE_NAMES = tuple(_SPACES)


def parse_choice_set(tokens) -> tuple[Choice, ...]:
    """Candidate set from tokens (``"e3k3,e6k5se,skip"`` or a list), in path order."""
    if isinstance(tokens, str):
        tokens = tokens.split(",")
    chosen = set()
    for token in tokens:
        try:
            chosen.add(Choice.parse(token))
        except ValueError:
            raise ScarletError(f"unknown choice {token.strip()!r}; allowed: "
                               f"{ALLOWED_TOKENS}") from None
    if not chosen - {SKIP}:
        raise ScarletError("a choice set needs at least one MBConv choice besides 'skip'")
    return tuple(c for c in ALL_CHOICES if c in chosen)


def get_space(name: str | SearchSpace = "scarlet", *, width: float | None = None,
              num_classes: int | None = None, input_size: int | None = None,
              choices=None) -> SearchSpace:
    """Build a search space by name.

    ``scarlet`` is the paper's ImageNet space (224x224, stem stride 2, 1000 classes);
    ``scarlet-cifar`` has the same layers and choices with stem and first stage at
    stride 1, so 32x32 inputs end at 4x4 (10 classes). ``width`` (default 1.0) scales
    every channel count (stem, separable block, stages and head), rounded to multiples
    of 8. ``choices`` restricts every layer to a subset of the 13 candidates (tokens, e.g.
    ``"e3k3,e6k5se,skip"``): a smaller supernet that traces and trains faster.

    A :class:`SearchSpace` is returned as it is; giving it together with ``width``,
    ``num_classes``, ``input_size`` or ``choices`` is an error (they build a space from a
    name; for a variant of a space use ``get_space(**{**space.describe(), "width": w})``).
    """
    if isinstance(name, SearchSpace):
        given = [key for key, value in (("width", width), ("num_classes", num_classes),
                                        ("input_size", input_size), ("choices", choices))
                 if value is not None]
        if given:
            raise ScarletError(f"{', '.join(given)} given with a SearchSpace ({name.name}, "
                               f"width {name.width}); they apply to a space name only: pass "
                               f"the name, or rebuild with get_space(**space.describe(), ...)")
        return name
    width = 1.0 if width is None else width
    if name not in _SPACES:
        raise ScarletError(f"unknown search space {name!r}; allowed: {', '.join(_SPACES)}")
    if not width > 0:
        raise ScarletError(f"width must be a positive number, got {width}")
    default_size, default_classes, stem_stride, first_stride = _SPACES[name]
    input_size = input_size or default_size
    num_classes = num_classes or default_classes
    if input_size < 8 or num_classes < 2:
        raise ScarletError(f"need input_size >= 8 and num_classes >= 2, got {input_size}, "
                           f"{num_classes}")
    choice_set = ALL_CHOICES if choices is None else parse_choice_set(choices)
    channels = lambda c: make_divisible(c * width)  # noqa: E731
    resolution = math.ceil(input_size / stem_stride)
    in_ch = channels(16)
    layers = []
    for index, (stage, first, out, stride) in enumerate(_stage_layout()):
        if index == 0:
            stride = first_stride
        layer_choices = tuple(c for c in choice_set if SKIPPABLE[index] or not c.is_skip)
        layers.append(LayerSpec(index, stage, in_ch, channels(out), stride, resolution,
                                SKIPPABLE[index], layer_choices))
        resolution = layers[-1].out_resolution
        in_ch = channels(out)
    return SearchSpace(name, input_size, num_classes, width, channels(32), stem_stride,
                       channels(16), channels(1280), tuple(layers), choice_set)


@dataclass(frozen=True)
class Architecture:
    """An immutable choice per searchable layer (19 of them).

    Build one with :meth:`parse` (canonical string or named model), :meth:`load`
    (JSON), :meth:`random`, or a space's :meth:`SearchSpace.decode` (integer path).
    """

    choices: tuple[Choice, ...]

    def __post_init__(self):
        if len(self.choices) != NUM_LAYERS:
            raise ScarletError(f"an architecture has {NUM_LAYERS} layers, got "
                               f"{len(self.choices)}")
        for number, (choice, can_skip) in enumerate(zip(self.choices, SKIPPABLE), 1):
            if choice.is_skip and not can_skip:
                raise ScarletError(
                    f"layer {number}: 'skip' is not allowed in the first layer of a stage "
                    f"(layers {_unskippable_numbers()} cannot skip); use {ALLOWED_TOKENS}")

    @classmethod
    def parse(cls, text: str) -> Architecture:
        """Parse a canonical string (``e3k7,e6k5,...``) or a named model (``scarlet-a``)."""
        text = NAMED.get(text.strip().lower(), text.strip())
        tokens = text.split(",")
        if len(tokens) == 1:
            raise ScarletError(f"unknown architecture {text!r}: give a name "
                               f"({', '.join(NAMED)}) or {NUM_LAYERS} comma-separated tokens")
        if len(tokens) != NUM_LAYERS:
            raise ScarletError(f"an architecture needs {NUM_LAYERS} comma-separated tokens, "
                               f"got {len(tokens)}")
        choices = []
        for number, token in enumerate(tokens, 1):
            try:
                choices.append(Choice.parse(token))
            except ValueError:
                raise ScarletError(f"layer {number}: unknown token {token.strip()!r}; "
                                   f"allowed: {ALLOWED_TOKENS}") from None
        return cls(tuple(choices))

    @classmethod
    def random(cls, seed=None) -> Architecture:
        """A uniformly sampled architecture of the full space (all 13 choices)."""
        return get_space("scarlet").sample(seed)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Architecture:
        """Read a JSON file holding ``{"arch": "..."}`` (other keys are ignored)."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise ScarletError(f"cannot read architecture JSON {path}: {err}") from None
        text = data.get("arch") if isinstance(data, dict) else data
        if not isinstance(text, str):
            raise ScarletError(f"{path}: expected a JSON object with an 'arch' string")
        return cls.parse(text)

    def save(self, path: str | os.PathLike, **extra) -> None:
        """Write ``{"arch": canonical string, **extra}`` as JSON."""
        Path(path).write_text(json.dumps({"arch": str(self), **extra}, indent=2) + "\n")

    @property
    def depth(self) -> int:
        """Number of searchable layers that are not skipped."""
        return sum(not c.is_skip for c in self.choices)

    def __str__(self) -> str:
        return ",".join(c.token for c in self.choices)


def _unskippable_numbers() -> str:
    return ", ".join(str(i) for i, s in enumerate(SKIPPABLE, 1) if not s)


# The paper's released models (PAPER.md), by name; Architecture.parse accepts the names.
NAMED = {
    "scarlet-a": "e3k7,e6k5,e3k5,e3k7se,e6k3se,e3k5se,e6k3se,e3k3,e3k7se,e3k7,"
                 "e3k5,e3k7se,e3k3,e3k7se,e6k3se,e6k5se,e3k3se,e6k3se,e6k7se",
    "scarlet-b": "e3k3se,e3k5se,e3k3se,e6k7se,e3k3,e3k5,e6k7se,e3k3se,skip,e3k5,"
                 "e3k3se,e3k3se,e6k7se,e3k3se,e6k5se,e6k5se,skip,e6k7se,e6k5se",
    "scarlet-c": "e3k5se,e3k3se,e3k5se,skip,skip,e3k3,e6k7se,e3k3se,e3k3se,e3k5,"
                 "e3k7se,e3k7,e3k3se,e3k7se,e3k3se,skip,e6k3se,e6k7se,e6k5se",
}


def resolve_arch(spec: str | os.PathLike | Architecture) -> Architecture:
    """Accept an Architecture, a named model, a canonical string or a JSON file path."""
    if isinstance(spec, Architecture):
        return spec
    text = os.fspath(spec)
    if text.lower().endswith(".json") or ("," not in text and os.path.isfile(text)):
        if not os.path.isfile(text):
            raise ScarletError(f"architecture file not found: {text}")
        return Architecture.load(text)
    return Architecture.parse(text)
