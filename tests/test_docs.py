"""Docs that cannot go stale: every `digitlab.…` name, every backticked code name and every
`python -m digitlab …` command written in the README, the READMEs, the notebooks, the Makefile,
the docstrings and comments of the package and the benchmarks names something that exists."""

import ast
import builtins
import functools
import importlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from digitlab.cli import PASS_THROUGH, build_parser

ROOT = Path(__file__).resolve().parents[1]
CODE = sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")])
DOTTED = re.compile(r"\bdigitlab(?:\.[A-Za-z_]\w*)+")
BACKTICKED = re.compile(r"`([A-Za-z_][\w.]*)(?:\(\))?`")
COMMAND = re.compile(r"python -m (digitlab[\w.]*)([^`\"|)\n]*)")


def notebook_text(path: Path, kinds: tuple[str, ...] = ("markdown", "code")) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] in kinds)


def documents() -> dict[str, str]:
    """Every text that names code, by its path from the repository root."""
    found = {path: path.read_text() for path in [ROOT / "README.md", ROOT / "Makefile",
                                                 *ROOT.glob("data/*/README.md"), *CODE]}
    found.update({path: notebook_text(path) for path in ROOT.glob("notebooks/*.ipynb")})
    return {str(path.relative_to(ROOT)): text for path, text in sorted(found.items())}


def resolves(name: str) -> bool:
    """`digitlab.a.b.c`: the longest importable prefix, then attributes of it."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        try:
            if importlib.util.find_spec(".".join(parts[:end])) is None:
                continue
        except ModuleNotFoundError:  # a parent that is no package
            continue
        thing = importlib.import_module(".".join(parts[:end]))
        for attribute in parts[end:]:
            if not hasattr(thing, attribute):
                return False
            thing = getattr(thing, attribute)
        return True
    return False


def known_names() -> set[str]:
    """Every name the code defines or uses: functions, classes, variables, arguments,
    attributes, one-word strings (results' keys), module names; the notebooks' code too."""
    names = set(dir(builtins))
    sources = [path.read_text() for path in CODE]
    sources += ["\n".join(line for line in notebook_text(path, ("code",)).splitlines()
                           if not line.startswith("%"))  # IPython's magics
                for path in ROOT.glob("notebooks/*.ipynb")]
    names |= {path.stem for path in CODE}
    for text in sources:
        names |= identifiers(text)
    return names


def identifiers(text: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Name | ast.arg):
            found.add(node.id if isinstance(node, ast.Name) else node.arg)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            found.add(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.isidentifier():  # a key of a results file, not a docstring
            found.add(node.value)
    return found


DOCUMENTS = documents()


def test_every_dotted_digitlab_name_exists():
    stale = sorted({f"{path}: {name}" for path, text in DOCUMENTS.items()
                    for name in (match.rstrip(".") for match in DOTTED.findall(text))
                    if not resolves(name)})
    assert not stale, "names of code that does not exist:\n" + "\n".join(stale)


def test_every_backticked_code_name_exists():
    """A backticked name with an underscore (`load_runner`, `model_sha256`) is code."""
    known = known_names()
    stale = sorted({f"{path}: {name}" for path, text in DOCUMENTS.items()
                    for name in BACKTICKED.findall(text)
                    if "_" in name.split(".")[-1] and not name.startswith("digitlab")
                    and name.split(".")[-1] not in known})
    assert not stale, "names of code that does not exist:\n" + "\n".join(stale)


@functools.cache
def help_text(module: str, command: str) -> str:
    argv = [sys.executable, "-m", module, *([command] if command else []), "--help"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(argv[1:])}: {done.stderr[-500:]}"
    return done.stdout


def commands() -> list[tuple[str, str, str, list[str]]]:
    """(document, module, command, options) of each `python -m digitlab…` written down."""
    found = []
    for path, text in DOCUMENTS.items():
        for module, rest in COMMAND.findall(text):
            words = [word for word in rest.split() if word not in ("[--verbose]", "--verbose")]
            command = ""
            if module == "digitlab" and words and re.fullmatch(r"[a-z]+", words[0]):
                command = words.pop(0)
            options = sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", " ".join(words))))
            found.append((path, module, command, options))
    return found


COMMANDS = commands()


def test_commands_are_found():
    assert {("digitlab", "predict"), ("digitlab", "finetune"), ("digitlab", "train"),
            ("digitlab.serve.digit_check", "")} <= {(m, c) for _, m, c, _ in COMMANDS}


@pytest.mark.parametrize("module, command", sorted({(m, c) for _, m, c, _ in COMMANDS}))
def test_every_written_command_exists_with_its_options(module, command):
    assert importlib.util.find_spec(module) is not None, f"python -m {module}: no such module"
    if module == "digitlab" and command:
        names = set(PASS_THROUGH) | set(build_parser()._subparsers._group_actions[0].choices)
        assert command in names, f"python -m digitlab {command}: no such command"
    elif module == "digitlab" or module == "digitlab.tflog":
        return  # the bare command (its usage), and the filter, which reads stdin
    written = sorted({option for _, m, c, options in COMMANDS if (m, c) == (module, command)
                      for option in options})
    unknown = [option for option in written if option not in help_text(module, command)]
    assert not unknown, f"python -m {module} {command}: no option {unknown}"
