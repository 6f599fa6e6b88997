"""A study's settings.json keeps every commit that computed into its folder."""

import json
import subprocess

from scarlet_tf.provenance import head_commit, write_settings


def commit_in(repo, message: str) -> str:
    """A new empty commit in ``repo`` (created on first use); its hash."""
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", message], check=True)
    return head_commit(repo)


def test_settings_keep_every_commit_and_an_earlier_reuse(tmp_path):
    repo, path = tmp_path / "repo", tmp_path / "settings.json"
    repo.mkdir()
    path.write_text(json.dumps({"commit": "old", "reuse": "ranking/e3"}))  # an older file
    first = commit_in(repo, "one")
    assert len(first) == 40
    write_settings(path, {"seeds": [0], "reuse": None}, repo, keep=("reuse",))
    write_settings(path, {"seeds": [0], "reuse": None}, repo, keep=("reuse",))  # same code
    assert json.loads(path.read_text()) == {"seeds": [0], "reuse": "ranking/e3",
                                            "commits": ["old", first]}
    second = commit_in(repo, "two")
    write_settings(path, {"seeds": [0, 1], "reuse": None}, repo)
    saved = json.loads(path.read_text())
    assert saved == {"seeds": [0, 1], "reuse": None, "commits": ["old", first, second]}
    assert head_commit(tmp_path / "not-a-repo") == ""
