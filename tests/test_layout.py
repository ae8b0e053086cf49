"""The package's shape: every module imports, no import cycles, dependencies point one way."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import digitlab

PACKAGE = Path(digitlab.__file__).parent
# What each part may import. Figures and the README read results: nothing that computes a
# result imports them. The command line and the notebook runner sit on top of everything.
ALLOWED = {
    "core": {"core"},
    "images": {"core", "images"},
    "mnist": {"core", "mnist"},
    "numbers": {"core", "images", "mnist", "numbers"},
    "serve": {"core", "images", "mnist", "numbers", "serve"},
    "transfer": {"core", "images", "mnist", "serve", "transfer"},
    "plots": {"core", "images", "mnist", "numbers", "serve", "plots"},
    "report": {"core", "mnist", "serve", "report"},
    "top": {"core", "images", "mnist", "numbers", "serve", "transfer", "plots", "report",
            "top"},
}
TOP = {"digitlab.cli", "digitlab.__main__", "digitlab.notebooks"}


def module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = module_names()


def source(name: str) -> Path:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imports(name: str) -> set[str]:
    """The digitlab modules `name` imports anywhere in its code (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(source(name).read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("digitlab")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("digitlab"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return found - {name, "digitlab"}


def part(name: str) -> str:
    if name in TOP:
        return "top"
    pieces = name.split(".")
    return pieces[1] if len(pieces) > 2 or source(name).name == "__init__.py" else "core"


def test_every_module_imports_in_a_fresh_interpreter():
    code = "import importlib\n" + "".join(f"importlib.import_module({name!r})\n"
                                          for name in MODULES if name != "digitlab.__main__")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_there_is_no_import_cycle():
    graph = {name: imports(name) for name in MODULES}
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph.get(name, ())):
            if state.get(other) == "open":
                cycle = path[path.index(other):] + [other] if other in path else [name, other]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if other not in state:
                visit(other, [*path, other])
        state[name] = "done"

    for name in MODULES:
        if name not in state:
            visit(name, [name])


def test_dependencies_point_one_way():
    wrong = [f"{name} imports {other}" for name in MODULES for other in imports(name)
             if part(other) not in ALLOWED[part(name)]]
    assert not wrong, "\n".join(wrong)


def test_the_cycle_check_catches_a_cycle(tmp_path, monkeypatch):
    # The check above must be able to fail: two modules importing each other.
    monkeypatch.setitem(globals(), "MODULES", ["digitlab.a", "digitlab.b"])
    fake = {"digitlab.a": {"digitlab.b"}, "digitlab.b": {"digitlab.a"}}
    monkeypatch.setitem(globals(), "imports", lambda name: fake[name])
    with pytest.raises(pytest.fail.Exception, match="import cycle: digitlab.a -> digitlab.b"):
        test_there_is_no_import_cycle()


def test_the_top_level_names_are_the_subpackages_own():
    from digitlab.images.preprocess import prepare
    from digitlab.serve.predict import Predictor

    assert digitlab.prepare is prepare and digitlab.Predictor is Predictor
    assert set(digitlab.__all__) == {"__version__", "load_mnist", "load_model", "prepare",
                                     "Predictor"}
    with pytest.raises(AttributeError, match="no attribute 'evaluate'"):
        digitlab.evaluate  # noqa: B018 - the old flat names are gone


@pytest.mark.parametrize("modules", ["digitlab, digitlab.config",
                                     # a worker of the study reads its data before TensorFlow
                                     "digitlab.transfer.study"])
def test_importing_does_not_load_tensorflow(modules):
    done = subprocess.run([sys.executable, "-c", f"import sys, {modules}\n"
                           "print('tensorflow' in sys.modules)"], capture_output=True, text=True)
    assert done.stdout.strip() == "False"


def test_the_readme_organisation_section_names_every_module():
    readme = (PACKAGE.parents[1] / "README.md").read_text()
    section = readme[readme.index("## How the code is organised"):]
    tree = section[:section.index("What flows where")]
    missing = [name for name in MODULES
               if name.rsplit(".", 1)[-1] not in tree and not name.endswith("__main__")
               and name != "digitlab"]
    assert not missing, f"README's organisation section does not mention {missing}"
