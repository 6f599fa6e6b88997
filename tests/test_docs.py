"""The README's commands name real commands and options; its Python block runs (slow)."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), re.DOTALL)


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


def test_one_version_source():
    """setup.py takes scarlet_tf.__version__; CITATION.cff and CHANGELOG.md name it too."""
    import scarlet_tf

    root = README.parent
    result = subprocess.run([sys.executable, "setup.py", "--version"], cwd=root, check=True,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.split()[-1] == scarlet_tf.__version__
    citation = (root / "CITATION.cff").read_text()
    assert re.search(r"^version: (\S+)$", citation, re.MULTILINE)[1] == scarlet_tf.__version__
    assert f"## [{scarlet_tf.__version__}]" in (root / "CHANGELOG.md").read_text()
    assert "Version 2.0, January 2004" in (root / "LICENSE").read_text()


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


def written(command, args: list[str]) -> dict:
    """``{parameter: text as written}`` for every option and argument in ``args``, read
    independently of click's parser (flags map to the value they set)."""
    import click

    options = {opt: p for p in command.params if isinstance(p, click.Option)
               for opt in (*p.opts, *p.secondary_opts)}
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    found, positional, rest = {}, [], list(args)
    while rest:
        token = rest.pop(0)
        if not token.startswith("-"):
            positional.append(token)
            continue
        name, equals, inline = token.partition("=")
        assert name in options, f"{command.name} has no option {name}"
        param = options[name]
        if param.is_bool_flag:  # --x/--no-x
            found[param] = name in param.opts
        elif param.is_flag:
            found[param] = param.flag_value
        elif param.multiple:
            found.setdefault(param, []).append(inline if equals else rest.pop(0))
        else:
            found[param] = inline if equals else rest.pop(0)
    assert len(positional) <= len(arguments), f"{command.name}: extra arguments {positional}"
    found.update(zip(arguments, positional))
    return found


@pytest.mark.parametrize("argv", readme_commands(), ids=lambda a: " ".join(a[:2]))
def test_readme_command_parses(argv, tmp_path, monkeypatch):
    """The command exists and click parses every option and argument as written: each one
    holds the written value (converted by its type) from the command line; the others hold
    their defaults."""
    from click.core import ParameterSource
    from scarlet_tf.cli.main import cli

    monkeypatch.chdir(tmp_path)
    make_placeholders(argv, tmp_path)
    command = cli.get_command(None, argv[0])
    assert command is not None, f"no command {argv[0]!r}"
    context = command.make_context(argv[0], argv[1:], resilient_parsing=False)
    given = written(command, argv[1:])
    assert given or argv == ["quickstart"]
    for param in command.params:
        source = context.get_parameter_source(param.name)
        if param not in given:
            assert source == ParameterSource.DEFAULT, (param.name, source)
            continue
        flag = getattr(param, "is_flag", False)
        expected = given[param] if flag else param.type_cast_value(context, given[param])
        assert source == ParameterSource.COMMANDLINE, (param.name, source)
        assert context.params[param.name] == expected, (param.name, given[param])


@pytest.mark.slow
def test_readme_python_block_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code_blocks("python")[0], "README.md", "exec"), {})
    assert (tmp_path / "best.tflite").is_file()
