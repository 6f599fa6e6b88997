"""The candidate blocks of a searchable layer and their text tokens.

A :class:`Choice` is an inverted-residual (MBConv) block, ``e{3|6}k{3|5|7}`` with an
optional ``se`` suffix (expansion, depthwise kernel, squeeze-excite), or ``skip``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
