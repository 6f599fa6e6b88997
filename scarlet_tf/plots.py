"""The one way the package draws (light: matplotlib only when called): a figure that is
saved as a PNG with a headless backend, and the front panel that searches share."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np


@contextmanager
def figure(path=None, *, size=(6, 4.5), panels: int = 1, dpi: int = 120):
    """Yield ``(fig, axes)`` (one Axes, or a list of ``panels``); on leaving, lay the figure
    out and, with ``path``, save it there as PNG and close it (Agg backend: no display)."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, panels, figsize=(size[0] * panels, size[1]), dpi=dpi,
                             squeeze=False)
    try:
        yield fig, list(axes[0]) if panels > 1 else axes[0][0]
        fig.tight_layout()
        if path is not None:
            fig.savefig(path)
    finally:
        if path is not None:
            plt.close(fig)


def front_panel(ax, points, front, *, xlabel: str, ylabel: str, title=None,
                label: str = "evaluated") -> None:
    """Every point (``[N, 2]``, x then y) in grey and the front (``[K, 2]``) joined in red
    by x, with a grid; the caller adds its marks, then :func:`legend`."""
    points = np.asarray(points, float).reshape(-1, 2)
    line = np.asarray(sorted(map(tuple, front)), float).reshape(-1, 2)
    ax.scatter(*points.T, s=10, c="0.65", label=f"{label} ({len(points)})")
    ax.plot(*line.T, "o-", color="tab:red", ms=4, label=f"Pareto front ({len(line)})")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)


def legend(ax) -> None:
    """The legend of everything labelled on ``ax``, in the corner a front leaves free."""
    ax.legend(loc="lower right", fontsize=8)
