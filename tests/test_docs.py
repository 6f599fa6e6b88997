"""The README and docs/: short README with the two commands, links that resolve, commands
that name real commands and options, references generated from the code."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
# Markdown a reader follows from the README: the docs, the study, bench and results pages.
PAGES = [README, *DOCS, *sorted((ROOT / "studies").glob("*/README.md")),
         ROOT / "studies" / "README.md", ROOT / "bench" / "README.md",
         ROOT / "results" / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "mobile" / "README.md"]
INSTALL_AND_RUN = ("python3 -m venv .venv && . .venv/bin/activate && pip install . && "
                   "scarlet-tf quickstart")
INSTALL_AND_TEST = ("python3 -m venv .venv && . .venv/bin/activate && "
                    "pip install -e '.[test]' && pytest -n 2")


def code_blocks(language: str, page: Path = README) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(), re.DOTALL)


def shell_commands(page: Path) -> list[list[str]]:
    """Every `scarlet-tf ...` invocation in the page's bash blocks, as argv lists."""
    commands = []
    for block in code_blocks("bash", page):
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split("#")[0].strip()
            if "scarlet-tf " in line and not line.startswith(("docker", "#")):
                argv = shlex.split(line[line.index("scarlet-tf "):].split("&&")[0])
                commands.append(argv[1:])
    return commands


def relative_links(page: Path) -> list[str]:
    """Targets of the page's Markdown links and images outside code, without anchors
    (web, mail and same-page links left out)."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:|#", t)]


def test_readme_is_short_and_has_the_two_commands():
    assert README.stat().st_size < 8 * 1024
    bash = [line.strip() for line in "\n".join(code_blocks("bash")).splitlines()]
    assert INSTALL_AND_RUN in bash and INSTALL_AND_TEST in bash
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && pytest -n 2" in ci


def test_ci_lints_and_builds_the_docs_before_the_tests():
    ci = (ROOT / ".ci" / "run").read_text()
    tests = ci.index("pip install -e '.[test]' && pytest -n 2")
    assert -1 < ci.index("ruff check .") < tests
    assert -1 < ci.index("mkdocs build --strict") < tests


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    links = relative_links(page)
    assert page.name != "README.md" or page.parent != ROOT or len(links) >= 10
    missing = [link for link in links if not (page.parent / link).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing {missing}"


def test_docs_nav_lists_every_page():
    """Each page in docs/ is in mkdocs.yml's nav, and each nav entry exists."""
    nav = re.findall(r"^  - [^:]+: (\S+\.md)$", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE)
    assert sorted(nav) == sorted(page.name for page in DOCS)


def test_references_are_generated_from_the_code():
    """The command reference renders the click group; the API reference names every public
    name of scarlet_tf; the pages include the example files rather than copies of them."""
    import scarlet_tf

    commands = (ROOT / "docs" / "commands.md").read_text()
    assert "::: mkdocs-click\n    :module: scarlet_tf.cli.main\n    :command: cli" in commands
    api = (ROOT / "docs" / "api.md").read_text()
    documented = set(re.findall(r"^::: scarlet_tf\.[\w.]*\.(\w+)$", api, re.MULTILINE))
    assert set(scarlet_tf.__all__) <= documented, set(scarlet_tf.__all__) - documented
    for page in DOCS:
        for include in re.findall(r'--8<-- "([^"]+)"', page.read_text()):
            assert (ROOT / include).is_file(), include


def test_no_python_block_in_the_docs_copies_an_example():
    """Python blocks in docs/ are short sketches or included example files: a block of
    more than 15 lines must be an include, so it cannot drift from the tested script."""
    for page in DOCS:
        for block in code_blocks("python", page):
            assert block.startswith("--8<--") or block.count("\n") <= 15, page.name


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


def make_placeholders(command, given: dict, root: Path) -> None:
    """Create the files and folders the command refers to (paths must exist to parse): a
    file or a folder as the parameter's ``click.Path`` type asks, else by the name."""
    import click

    for param, value in given.items():
        for arg in value if isinstance(value, list) else [value]:
            if not isinstance(arg, str) or ("/" not in arg and not arg.endswith(
                    (".json", ".tflite", ".keras"))):
                continue
            kind = param.type if isinstance(param.type, click.Path) else None
            if kind and kind.file_okay != kind.dir_okay:
                _placeholder(root / arg, is_file=kind.file_okay)
            else:
                _placeholder(root / arg, is_file=Path(arg).suffix != "")


def _placeholder(path: Path, is_file: bool) -> None:
    if is_file:
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
        elif isinstance(param.flag_value, str) and not equals and (
                not rest or rest[0].startswith("-")):  # an option whose value is optional
            found[param] = param.flag_value
        elif param.multiple:
            found.setdefault(param, []).append(inline if equals else rest.pop(0))
        else:
            found[param] = inline if equals else rest.pop(0)
    assert len(positional) <= len(arguments), f"{command.name}: extra arguments {positional}"
    found.update(zip(arguments, positional))
    return found


DOC_COMMANDS = [(page, argv) for page in PAGES for argv in shell_commands(page)]


def test_the_pages_show_every_command():
    shown = {argv[0] for _, argv in DOC_COMMANDS}
    from scarlet_tf.cli.main import COMMANDS

    assert set(COMMANDS) <= shown, set(COMMANDS) - shown


@pytest.mark.parametrize("page,argv", DOC_COMMANDS,
                         ids=[f"{p.parent.name}/{p.stem}:{' '.join(a[:2])}"
                              for p, a in DOC_COMMANDS])
def test_documented_command_parses(page, argv, tmp_path, monkeypatch):
    """The command exists and click parses every option and argument as written: each one
    holds the written value (converted by its type) from the command line; the others hold
    their defaults."""
    from click.core import ParameterSource
    from scarlet_tf.cli.main import cli

    monkeypatch.chdir(tmp_path)
    command = cli.get_command(None, argv[0])
    assert command is not None, f"no command {argv[0]!r}"
    given = written(command, argv[1:])
    make_placeholders(command, given, tmp_path)
    context = command.make_context(argv[0], argv[1:], resilient_parsing=False)
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


def test_readme_python_block_builds_and_counts(tmp_path, monkeypatch):
    """The README's Python tour up to training runs as written (the rest, training and
    folding, is the tested examples/fold_supernet_path.py)."""
    monkeypatch.chdir(tmp_path)
    block = code_blocks("python")[0]
    head = block[:block.index("supernet, history")]
    names = {}
    exec(compile(head, "README.md", "exec"), names)
    assert str(names["arch"]).count(",") == 18
    assert round(names["cost"].madds / 1e6, 1) == 365.3  # the paper's 365M, at 224 px
    cifar = names["scarlet_tf"].costs(names["arch"], "scarlet-cifar")
    trainable = sum(int(w.numpy().size) for w in names["model"].trainable_weights)
    assert trainable == cifar.params
