"""The package's layout holds: every stage's public names resolve, the light packages load
no TensorFlow, and every ``scarlet_tf`` import in the repository (library, commands,
tests, studies, benchmarks, examples) names something that exists."""

import ast
import importlib
import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import pytest

from scarlet_tf import ScarletError, names

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["scarlet_tf", "scarlet_tf.space", "scarlet_tf.network", "scarlet_tf.training",
            "scarlet_tf.evaluation", "scarlet_tf.search", "scarlet_tf.standalone",
            "scarlet_tf.export", "scarlet_tf.latency"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves(package):
    module = importlib.import_module(package)
    assert module.__doc__ and module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        module.nosuch  # noqa: B018


def test_light_packages_load_no_tensorflow():
    code = ("import sys, scarlet_tf, scarlet_tf.space, scarlet_tf.search, scarlet_tf.latency,"
            " scarlet_tf.latency.table, scarlet_tf.evaluation.nas_bench_macro, scarlet_tf.files\n"
            "print(sorted({'tensorflow', 'keras'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def imported_names(path: Path):
    """(line, module, name or None) of each ``scarlet_tf`` import of ``path``, and
    (line, alias, attribute) of each attribute read from an imported module alias."""
    tree = ast.parse(path.read_text())
    imports = [(node.lineno, node.module, alias.name, alias.asname or alias.name)
               for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and (node.module or "").startswith("scarlet_tf")
               and not node.module.startswith("scarlet_tf.cli") for alias in node.names]
    reads = [(node.lineno, node.value.id, node.attr) for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)]
    return imports, reads


def resolve(module: str, name: str):
    try:
        return getattr(importlib.import_module(module), name)
    except AttributeError:
        return importlib.import_module(f"{module}.{name}")


def has(module: types.ModuleType, attr: str) -> bool:
    """Whether ``module.attr`` exists, a submodule not yet imported included."""
    return hasattr(module, attr) or (
        hasattr(module, "__path__")
        and importlib.util.find_spec(f"{module.__name__}.{attr}") is not None)


def test_every_repository_import_resolves():
    files = [p for folder in ("scarlet_tf", "cli", "tests", "studies", "bench", "examples")
             for p in sorted((ROOT / folder).rglob("*.py"))]
    missing = []
    for path in files:
        imports, reads = imported_names(path)
        modules = {}
        for line, module, name, alias in imports:
            try:
                value = resolve(module, name)
            except (ImportError, AttributeError):
                missing.append(f"{path.relative_to(ROOT)}:{line}: {module}.{name}")
                continue
            if isinstance(value, types.ModuleType):
                modules[alias] = value
        missing += [f"{path.relative_to(ROOT)}:{line}: {modules[alias].__name__}.{attr}"
                    for line, alias, attr in reads
                    if alias in modules and not has(modules[alias], attr)]
    assert len(files) > 100 and not missing, "\n".join(missing)


STAGES = ["space", "network", "training", "evaluation", "search", "standalone", "export",
          "latency"]  # the pipeline's order; the ground floor (data, files, ...) is below all


def stage_of(module: str) -> int:
    """The stage index of a ``scarlet_tf`` module, -1 for the ground floor."""
    part = (module.split(".") + [""])[1]
    return STAGES.index(part) if part in STAGES else -1


def test_imports_run_down_the_stages():
    """No module imports from a later stage (function-level imports included); the root
    package's facade is the one place that names every stage."""
    assert sorted(PACKAGES[1:]) == sorted(f"scarlet_tf.{s}" for s in STAGES)
    upward = []
    for path in sorted((ROOT / "scarlet_tf").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if module == "scarlet_tf.__init__":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            upward += [f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in names
                       if name.startswith("scarlet_tf") and stage_of(name) > stage_of(module)]
    assert not upward, "imports running up a stage:\n" + "\n".join(upward)


@pytest.mark.parametrize("kind,table", [("optimizer", names.OPTIMIZERS),
                                        ("sampler", names.SAMPLERS)])
def test_each_registered_name_is_its_class(kind, table):
    """A name registered once in ``names`` builds the class that answers to it; an
    unknown name gets the allowed ones."""
    for name in table:
        cls = names.registered(kind, table, name)
        assert isinstance(cls, type) and getattr(cls, "name", name) == name
    with pytest.raises(ScarletError, match=f"unknown {kind} 'x'; allowed: " + ", ".join(table)):
        names.registered(kind, table, "x")
