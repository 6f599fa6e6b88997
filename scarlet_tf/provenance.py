"""Which code computed a study's results: the commits that wrote into one folder.

A resumable study runs over several sessions, and the code can change between them; its
``settings.json`` keeps every commit that computed there, in order, not only the last.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from scarlet_tf.files import read_json, write_json


def head_commit(root: Path) -> str:
    """The git commit of the checkout at ``root`` ("" outside git)."""
    return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], text=True,
                          capture_output=True, check=False).stdout.strip()


def write_settings(path: Path, settings: dict, root: Path, keep: tuple[str, ...] = ()) -> None:
    """Write ``settings`` to ``path`` with ``commits``: the earlier file's commits, then
    ``root``'s if new. Keys in ``keep`` that ``settings`` leaves empty keep their earlier
    value (e.g. a folder whose scores an earlier run reused)."""
    old = read_json(path, {})
    commits = old.get("commits", [old["commit"]] if old.get("commit") else [])
    commit = head_commit(root)
    settings = {**settings, **{k: old[k] for k in keep if not settings.get(k) and old.get(k)}}
    write_json(path, {**settings, "commits": [*commits, *([commit] if commit not in commits
                                                           else [])]})
