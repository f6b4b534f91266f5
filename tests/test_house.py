"""The house stays easy to read: small modules and functions, no import cycle, the pure
parts free of torch, and every notation readable after a plain ``import rlnas``.

The forbidden arrows themselves (arch imports nothing, strategies never the trainer, ...)
are import-linter contracts in pyproject.toml, which the test command runs.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import grimp

from rlnas.cli import main

PACKAGE = Path(__file__).parent.parent / "rlnas"
README = Path(__file__).parent.parent / "README.md"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def sources():
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_over_400_lines_and_no_function_over_60():
    long_modules = [
        (str(p.relative_to(PACKAGE)), n)
        for p in sources()
        if (n := p.read_text().count("\n")) > MAX_MODULE_LINES
    ]
    long_functions = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long_functions.append((str(path.relative_to(PACKAGE)), node.name, lines))
    assert long_modules == [] and long_functions == []


def test_no_import_cycle_between_any_two_modules():
    graph = grimp.build_graph("rlnas", exclude_type_checking_imports=True)
    cycles = sorted(
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if graph.chain_exists(importer=imported, imported=importer)
    )
    assert cycles == []


def test_the_cycle_check_sees_a_cycle():
    graph = grimp.build_graph("rlnas", exclude_type_checking_imports=True)
    graph.add_import(importer="rlnas.arch.grammar", imported="rlnas.spaces.base")
    assert graph.chain_exists(importer="rlnas.spaces.base", imported="rlnas.arch.grammar")
    assert graph.chain_exists(importer="rlnas.arch.grammar", imported="rlnas.spaces.base")


def run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)


def test_the_mdp_and_tabular_q_learning_import_without_torch():
    code = "import rlnas.spaces, rlnas.strategies.qlearning, sys; print('torch' in sys.modules)"
    assert run(code).stdout.strip() == "False"


CLI_WITHOUT_TORCH = """
import contextlib, io, sys
from rlnas.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    codes = [main(["search", "--budget", "many"]), main(["show", sys.argv[1]]),
             main(["show", sys.argv[1], "--json"]), main(["show", sys.argv[1] + "x"])]
print(codes, "torch" in sys.modules)
"""


def test_cli_errors_and_show_start_without_torch(tmp_path):
    """Torch takes seconds to import: a typo and `rlnas show` must not wait for it."""
    main(["search", "--dataset", "tabular:digits-tiny", "--budget", "3", "--top-k", "0",
          "--run-dir", str(tmp_path / "run")])  # fmt: skip
    code = CLI_WITHOUT_TORCH
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert out.strip() == "[2, 0, 0, 2] False"


def readme_architectures():
    """Every architecture the README writes in a notation, e.g. ``[C(32,3,1), SM(10)]``."""
    found = re.findall(r"\[(?:[A-Z]+\(\d+(?:,\d+)*\)(?:, )?)+\]", README.read_text())
    return sorted(set(found))


def test_import_rlnas_reads_every_notation_of_the_readme():
    examples = readme_architectures()
    tokens = {re.match(r"\[([A-Z]+)", e).group(1) for e in examples}
    assert {"C", "BC", "STEM", "CELL"} <= tokens  # chain, BlockQNN, ENAS and recurrent cells
    code = (
        "import rlnas\n"  # and nothing else: every notation must be registered by it
        f"for text in {examples!r}:\n"
        "    assert str(rlnas.arch.parse(text)) == text, text\n"
    )
    run(code)


def test_library_code_never_imports_the_test_helpers():
    importers = [
        str(p.relative_to(PACKAGE))
        for p in sources()
        if "testing" not in p.parts
        and re.search(r"^\s*(from|import) rlnas\.testing", p.read_text(), re.M)
    ]
    assert importers == []
