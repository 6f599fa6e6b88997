"""Small, safe file helpers (light: no TensorFlow): atomic text and JSON writes, CSV rows
that an interrupted run resumes from, and the one check that resumed work keeps its
settings."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from scarlet_tf.errors import ScarletError


def write_text(path: Path, text: str) -> None:
    """Write a file atomically (temp file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, data) -> None:
    """Write JSON atomically (temp file, then rename)."""
    write_text(path, json.dumps(data, indent=2) + "\n")


def read_json(path: Path, default=None):
    """The JSON in ``path``, or ``default`` when there is no such file."""
    return json.loads(path.read_text()) if path.is_file() else default


def read_rows(path: Path) -> list[dict]:
    """The complete rows of a CSV written by :class:`RowWriter` (a row cut short by a
    kill is dropped)."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if None not in r.values() and all(v != "" for v in r.values())]


class RowWriter:
    """Appends dict rows to a CSV, each flushed to disk before the next is scored. The
    file is first rewritten (atomically) from ``rows``, the complete rows read back."""

    def __init__(self, path: Path, fields: tuple[str, ...], rows: list[dict]):
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fields)
        writer.writeheader()
        writer.writerows(rows)
        write_text(path, text.getvalue())
        self.file = open(path, "a", newline="")  # noqa: SIM115 (closed by close())
        self.writer = csv.DictWriter(self.file, fields)

    def write(self, row: dict) -> None:
        self.writer.writerow(row)
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


def refuse_other_settings(where: str, stored: dict, current: dict, remedy: str) -> None:
    """Raise ScarletError when work saved with ``stored`` settings would be resumed with
    ``current`` ones (two settings' work mixed in one place): what differs, and ``remedy``."""
    changes = setting_changes(stored, current)
    if changes:
        raise ScarletError(f"{where} was made with other settings ({changes}); {remedy}")


def setting_changes(stored: dict, current: dict) -> str:
    """``key: stored -> current`` for every differing setting (nested dicts as
    ``key.inner``), joined by '; '; empty when none differ."""
    changes = []
    for name in sorted(set(stored) | set(current)):
        old, new = stored.get(name), current.get(name)
        if isinstance(old, dict) and isinstance(new, dict):
            changes += [f"{name}.{change}" for change in setting_changes(old, new).split("; ")
                        if change]
        elif old != new:
            changes.append(f"{name}: {old} -> {new}")
    return "; ".join(changes)
