"""Search spaces and architectures: the single description of the network.

Every other module (plain models, the supernet, costs, search, latency tables) reads
the layer table from a :class:`SearchSpace`; none keeps its own copy. A space belongs to
a :class:`Family` (``scarlet``, ``scarlet-cifar``, ``nas-bench-macro``), the fixed frame
of stem, stages, head, activations and candidate choices.

Architecture text form: one comma-separated token per searchable layer (19 in the
SCARLET spaces, 8 in ``nas-bench-macro``), each ``e{3|6}k{3|5|7}`` with an optional
``se`` suffix, or ``skip``; e.g. ``e3k7,e6k5,...``. ``nas-bench-macro`` also reads the
benchmark's digit codes (``02012100``: 0 skip, 1 e3k3, 2 e6k5).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.space.choices import ALL_CHOICES, ALLOWED_TOKENS, SKIP, Choice

# (out channels, layers, stride of the first layer) of SCARLET's six searchable stages.
STAGES = ((32, 2, 2), (40, 4, 2), (80, 4, 2), (96, 4, 1), (192, 4, 2), (320, 1, 1))


NUM_LAYERS = sum(n for _, n, _ in STAGES)  # of the SCARLET spaces


def _stage_layout(stages=STAGES):
    """Yield (stage 1-based, first-in-stage, out channels, stride) for each layer."""
    for stage, (channels, repeats, stride) in enumerate(stages, start=1):
        for i in range(repeats):
            yield stage, i == 0, channels, stride if i == 0 else 1


# In the SCARLET spaces skip is allowed exactly where stride is 1 and channels are
# unchanged at width 1.0: every layer but the first of its stage (13 of 19). Width does
# not change this set, so an architecture is valid in every space and width.
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
    activation: str = "hard_swish"  # of its MBConv blocks: "hard_swish" or "relu"

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

    @property
    def skip_projects(self) -> bool:
        """True when ``skip`` here is a projection (1x1 conv with the layer's stride, BN):
        a layer that changes stride or channels has no identity."""
        return self.can_skip and not self.residual


@dataclass(frozen=True)
class SearchSpace:
    """A whole network: stem (with SCARLET's separable block), searchable layers, head.

    ``input_size`` is the image side in pixels; channel counts already include the
    width multiplier (rounded to multiples of 8). ``sep_channels`` is 0 where the stem
    has no separable block; ``frame_activation`` is the stem's and head's activation.
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
    choice_set: tuple[Choice, ...] = ALL_CHOICES
    frame_activation: str = "relu6"

    @property
    def stem_resolution(self) -> int:
        """Side of the stem's output feature map."""
        return math.ceil(self.input_size / self.stem_stride)

    @property
    def stem_out_channels(self) -> int:
        """Channels the stem hands to the first searchable layer."""
        return self.sep_channels or self.stem_channels

    @property
    def head_resolution(self) -> int:
        return self.layers[-1].out_resolution

    @property
    def family(self) -> Family:
        return FAMILIES[self.name]

    @property
    def num_choices(self) -> tuple[int, ...]:
        return tuple(len(layer.choices) for layer in self.layers)

    def encode(self, arch: Architecture) -> tuple[int, ...]:
        """The integer path of ``arch``: each layer's index into its ``choices``."""
        if not isinstance(arch, Architecture):
            raise ScarletError(f"expected an Architecture, got {type(arch).__name__} "
                               f"{arch!r:.60}; parse names and strings with resolve_arch")
        self.family.check(arch)
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
        if self.choice_set != self.family.choices:
            described["choices"] = ",".join(c.token for c in self.choice_set)
        return described


@dataclass(frozen=True, kw_only=True)
class Family:
    """The fixed frame of a space: everything but width, classes, input size and a
    restriction of the choices.

    ``stages``: (out channels, layers, stride of the first layer) per stage, at width 1.0;
    ``first_stride`` overrides layer 1's stride; ``sep_channels`` 0 means no separable
    block in the stem. ``skip_everywhere``: ``skip`` is allowed at a stage's first layer
    too (a projection there, see :attr:`LayerSpec.skip_projects`); otherwise only where
    the layer keeps stride and channels. ``digits``: the choices a digit code names, in
    digit order (empty: no digit codes).
    """

    name: str
    stages: tuple
    input_size: int
    num_classes: int
    stem_channels: int
    stem_stride: int
    first_stride: int
    sep_channels: int
    head_channels: int
    activation: str
    frame_activation: str
    choices: tuple[Choice, ...]
    skip_everywhere: bool = False
    digits: tuple[Choice, ...] = ()

    @property
    def num_layers(self) -> int:
        return sum(n for _, n, _ in self.stages)

    def allowed(self, index: int) -> tuple[Choice, ...]:
        """The candidates layer ``index`` (0-based) may hold, in path order."""
        return self._allowed[index]

    @cached_property
    def _allowed(self) -> tuple[tuple[Choice, ...], ...]:
        """Per layer, its candidates (computed once: ``check`` runs on every encode)."""
        return tuple(tuple(c for c in self.choices
                           if not c.is_skip or self.skip_everywhere or not first)
                     for _, first, _, _ in _stage_layout(self.stages))

    def check(self, arch: Architecture) -> Architecture:
        """``arch`` if it fits this frame (layer count, a choice each layer may hold);
        otherwise one clear error naming the layer and what is allowed there."""
        if len(arch.choices) != self.num_layers:
            raise ScarletError(f"an architecture of {self.name} has {self.num_layers} layers,"
                               f" got {len(arch.choices)}")
        for index, choice in enumerate(arch.choices):
            allowed = self.allowed(index)
            if choice in allowed:
                continue
            if choice.is_skip:
                raise ScarletError(
                    f"layer {index + 1}: 'skip' is not allowed in the first layer of a stage "
                    f"(layers {self._unskippable()} cannot skip); use {self._tokens()}")
            raise ScarletError(f"layer {index + 1}: {choice.token!r} is not a choice of "
                               f"{self.name}; allowed: {self._tokens()}")
        return arch

    def parse(self, text: str) -> Architecture:
        """Parse a named model, comma-separated tokens or (where the family has them) a
        digit code into an architecture of this frame."""
        text = text.strip()
        if self.digits and re.fullmatch(r"\d+", text):
            return self._parse_code(text)
        text = NAMED.get(text.lower(), text) if self.num_layers == NUM_LAYERS else text
        tokens = text.split(",")
        if len(tokens) == 1:
            names = f"a name ({', '.join(NAMED)})" if self.num_layers == NUM_LAYERS else (
                f"a code of {self.num_layers} digits")
            raise ScarletError(f"unknown architecture {text!r}: give {names} or "
                               f"{self.num_layers} comma-separated tokens")
        if len(tokens) != self.num_layers:
            raise ScarletError(f"an architecture needs {self.num_layers} comma-separated "
                               f"tokens, got {len(tokens)}")
        choices = []
        for number, token in enumerate(tokens, 1):
            try:
                choices.append(Choice.parse(token))
            except ValueError:
                raise ScarletError(f"layer {number}: unknown token {token.strip()!r}; "
                                   f"allowed: {self._tokens()}") from None
        return self.check(Architecture(tuple(choices)))

    def _parse_code(self, code: str) -> Architecture:
        if len(code) != self.num_layers or any(int(d) >= len(self.digits) for d in code):
            raise ScarletError(f"{self.name} code {code!r}: need {self.num_layers} digits "
                               f"0-{len(self.digits) - 1} "
                               f"({', '.join(f'{i} {c}' for i, c in enumerate(self.digits))})")
        return self.check(Architecture(tuple(self.digits[int(d)] for d in code)))

    def code(self, arch: Architecture) -> str:
        """The digit code of ``arch`` (``02012100``); families with digit codes only."""
        if not self.digits:
            raise ScarletError(f"{self.name} has no digit codes")
        self.check(arch)
        return "".join(str(self.digits.index(c)) for c in arch.choices)

    def _tokens(self) -> str:
        if self.choices == ALL_CHOICES:
            return ALLOWED_TOKENS
        return ", ".join(c.token for c in self.choices)

    def _unskippable(self) -> str:
        return ", ".join(str(i + 1) for i in range(self.num_layers)
                         if SKIP not in self.allowed(i))


_NAS_BENCH_MACRO_CHOICES = (SKIP, Choice(3, 3), Choice(6, 5))  # digits 0, 1, 2


FAMILIES = {
    family.name: family for family in (
        Family(name="scarlet", stages=STAGES, input_size=224, num_classes=1000,
               stem_channels=32, stem_stride=2, first_stride=2, sep_channels=16,
               head_channels=1280, activation="hard_swish", frame_activation="relu6",
               choices=ALL_CHOICES),
        Family(name="scarlet-cifar", stages=STAGES, input_size=32, num_classes=10,
               stem_channels=32, stem_stride=1, first_stride=1, sep_channels=16,
               head_channels=1280, activation="hard_swish", frame_activation="relu6",
               choices=ALL_CHOICES),
        # NAS-Bench-Macro (Su et al., CVPR 2021): ReLU, no squeeze-excite, no separable
        # block; the skip at a stage's first layer is a strided 1x1 conv with BN.
        Family(name="nas-bench-macro", stages=((64, 2, 2), (128, 3, 2), (256, 3, 2)),
               input_size=32, num_classes=10, stem_channels=32, stem_stride=1,
               first_stride=2, sep_channels=0, head_channels=1280, activation="relu",
               frame_activation="relu",
               choices=tuple(c for c in ALL_CHOICES if c in _NAS_BENCH_MACRO_CHOICES),
               skip_everywhere=True, digits=_NAS_BENCH_MACRO_CHOICES),
    )
}


SPACE_NAMES = tuple(FAMILIES)


def parse_choice_set(tokens, family: Family | None = None) -> tuple[Choice, ...]:
    """Candidate set from tokens (``"e3k3,e6k5se,skip"`` or a list), in path order, out
    of ``family``'s choices (default: all 13)."""
    candidates = family.choices if family else ALL_CHOICES
    if isinstance(tokens, str):
        tokens = tokens.split(",")
    chosen = set()
    for token in tokens:
        try:
            choice = Choice.parse(token)
        except ValueError:
            choice = None
        if choice not in candidates:
            allowed = ", ".join(c.token for c in candidates) if family else ALLOWED_TOKENS
            raise ScarletError(f"unknown choice {token.strip()!r}; allowed: {allowed}")
        chosen.add(choice)
    if not chosen - {SKIP}:
        raise ScarletError("a choice set needs at least one MBConv choice besides 'skip'")
    return tuple(c for c in candidates if c in chosen)


def get_space(name: str | SearchSpace = "scarlet", *, width: float | None = None,
              num_classes: int | None = None, input_size: int | None = None,
              choices=None) -> SearchSpace:
    """Build a search space by name.

    ``scarlet`` is the paper's ImageNet space (224x224, stem stride 2, 1000 classes);
    ``scarlet-cifar`` has the same layers and choices with stem and first stage at
    stride 1, so 32x32 inputs end at 4x4 (10 classes). ``nas-bench-macro`` is the
    network of NAS-Bench-Macro (32x32, 10 classes, 8 layers of skip, e3k3 or e6k5, ReLU,
    see :data:`FAMILIES`). ``width`` (default 1.0) scales every channel count (stem,
    separable block, stages and head), rounded to multiples of 8. ``choices`` restricts
    every layer to a subset of the family's candidates (tokens, e.g.
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
    family = get_family(name)
    if not width > 0:
        raise ScarletError(f"width must be a positive number, got {width}")
    input_size = input_size or family.input_size
    num_classes = num_classes or family.num_classes
    if input_size < 8 or num_classes < 2:
        raise ScarletError(f"need input_size >= 8 and num_classes >= 2, got {input_size}, "
                           f"{num_classes}")
    choice_set = family.choices if choices is None else parse_choice_set(choices, family)
    channels = lambda c: make_divisible(c * width)  # noqa: E731
    resolution = math.ceil(input_size / family.stem_stride)
    in_ch = channels(family.sep_channels or family.stem_channels)
    layers = []
    for index, (stage, _first, out, stride) in enumerate(_stage_layout(family.stages)):
        stride = family.first_stride if index == 0 else stride
        allowed = family.allowed(index)
        layer_choices = tuple(c for c in choice_set if c in allowed)
        layers.append(LayerSpec(index, stage, in_ch, channels(out), stride, resolution,
                                SKIP in allowed, layer_choices, family.activation))
        resolution = layers[-1].out_resolution
        in_ch = channels(out)
    sep = channels(family.sep_channels) if family.sep_channels else 0
    return SearchSpace(name, input_size, num_classes, width, channels(family.stem_channels),
                       family.stem_stride, sep, channels(family.head_channels), tuple(layers),
                       choice_set, family.frame_activation)


def get_family(name) -> Family:
    """The :class:`Family` of a space name or :class:`SearchSpace`."""
    if isinstance(name, SearchSpace):
        return name.family
    if name not in FAMILIES:
        raise ScarletError(f"unknown search space {name!r}; allowed: {', '.join(FAMILIES)}")
    return FAMILIES[name]


@dataclass(frozen=True)
class Architecture:
    """An immutable choice per searchable layer.

    Build one with :meth:`parse` (tokens, a named model or a digit code, checked against
    a space's frame), :meth:`load` (JSON), :meth:`random`, or a space's
    :meth:`SearchSpace.decode` (integer path).
    """

    choices: tuple[Choice, ...]

    def __post_init__(self):
        if not self.choices:
            raise ScarletError("an architecture needs at least one layer")

    @classmethod
    def parse(cls, text: str, space: str | SearchSpace = "scarlet") -> Architecture:
        """Parse tokens (``e3k7,e6k5,...``), a named model (``scarlet-a``) or, in
        ``nas-bench-macro``, a digit code (``02012100``), checked against ``space``."""
        return get_family(space).parse(text)

    @classmethod
    def random(cls, seed=None, space: str | SearchSpace = "scarlet") -> Architecture:
        """A uniformly sampled architecture of the space (default: full ``scarlet``)."""
        return get_space(space).sample(seed)

    @classmethod
    def load(cls, path: str | os.PathLike, space: str | SearchSpace = "scarlet"
             ) -> Architecture:
        """Read a JSON file holding ``{"arch": "..."}`` (other keys are ignored)."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise ScarletError(f"cannot read architecture JSON {path}: {err}") from None
        text = data.get("arch") if isinstance(data, dict) else data
        if not isinstance(text, str):
            raise ScarletError(f"{path}: expected a JSON object with an 'arch' string")
        return cls.parse(text, space)

    def save(self, path: str | os.PathLike, **extra) -> None:
        """Write ``{"arch": canonical string, **extra}`` as JSON."""
        Path(path).write_text(json.dumps({"arch": str(self), **extra}, indent=2) + "\n")

    @property
    def depth(self) -> int:
        """Number of searchable layers that are not skipped."""
        return sum(not c.is_skip for c in self.choices)

    def __str__(self) -> str:
        return ",".join(c.token for c in self.choices)


# The released SCARLET-A/B/C of Chu et al. (SCARLET-NAS), by name;
# Architecture.parse accepts the names.
NAMED = {
    "scarlet-a": "e3k7,e6k5,e3k5,e3k7se,e6k3se,e3k5se,e6k3se,e3k3,e3k7se,e3k7,"
                 "e3k5,e3k7se,e3k3,e3k7se,e6k3se,e6k5se,e3k3se,e6k3se,e6k7se",
    "scarlet-b": "e3k3se,e3k5se,e3k3se,e6k7se,e3k3,e3k5,e6k7se,e3k3se,skip,e3k5,"
                 "e3k3se,e3k3se,e6k7se,e3k3se,e6k5se,e6k5se,skip,e6k7se,e6k5se",
    "scarlet-c": "e3k5se,e3k3se,e3k5se,skip,skip,e3k3,e6k7se,e3k3se,e3k3se,e3k5,"
                 "e3k7se,e3k7,e3k3se,e3k7se,e3k3se,skip,e6k3se,e6k7se,e6k5se",
}


def resolve_arch(spec: str | os.PathLike | Architecture,
                 space: str | SearchSpace = "scarlet") -> Architecture:
    """Accept an Architecture, a named model, a canonical string, a digit code (in
    ``nas-bench-macro``) or a JSON file path; checked against ``space``'s frame."""
    family = get_family(space)
    if isinstance(spec, Architecture):
        return family.check(spec)
    text = os.fspath(spec)
    if text.lower().endswith(".json") or ("," not in text and os.path.isfile(text)):
        if not os.path.isfile(text):
            raise ScarletError(f"architecture file not found: {text}")
        return Architecture.load(text, space)
    return family.parse(text)
