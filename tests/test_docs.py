"""The README's commands name real commands and options; its Python block runs (slow)."""

import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), re.S)


def readme_commands() -> list[list[str]]:
    """Every `scarlet-tf ...` invocation in the README's bash blocks, as argv lists."""
    commands = []
    for block in code_blocks("bash"):
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split("#")[0].strip()
            if "scarlet-tf " in line:
                argv = shlex.split(line[line.index("scarlet-tf "):].split("&&")[0])
                commands.append(argv[1:])
    return commands


def test_readme_has_the_two_commands():
    bash = "\n".join(code_blocks("bash"))
    assert "pip install . && scarlet-tf quickstart" in bash
    assert "pip install -e '.[test]' && pytest -n 2" in bash
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && pytest -n 2" in ci


def make_placeholders(argv, root: Path) -> None:
    """Create the files and folders the command refers to (paths must exist to parse)."""
    for arg in argv[1:]:
        if "/" not in arg and not arg.endswith((".json", ".tflite", ".keras")):
            continue
        path = root / arg
        if path.suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text('{"arch": "scarlet-a"}')
        else:
            path.mkdir(parents=True, exist_ok=True)


@pytest.mark.parametrize("argv", readme_commands(), ids=lambda a: " ".join(a[:2]))
def test_readme_command_parses(argv, tmp_path, monkeypatch):
    """The command exists and click accepts every option and argument as written."""
    from scarlet_tf.cli.main import cli

    monkeypatch.chdir(tmp_path)
    make_placeholders(argv, tmp_path)
    command = cli.get_command(None, argv[0])
    assert command is not None, f"no command {argv[0]!r}"
    context = command.make_context(argv[0], argv[1:], resilient_parsing=False)
    assert context.params


@pytest.mark.slow
def test_readme_python_block_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code_blocks("python")[0], "README.md", "exec"), {})
    assert (tmp_path / "best.tflite").is_file()
