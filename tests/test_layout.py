"""The tests' own code stays in its place: test modules import the support package
(tests/support/) and never each other, and so do the benchmarks and scripts. Shared fixtures are
in conftest.py."""

import ast
from pathlib import Path

import pytest
from support.sites import REPO_ROOT

TESTS = REPO_ROOT / "tests"
# The modules pytest puts on sys.path from tests/: none of them is for importing.
TEST_MODULES = {path.stem for path in TESTS.glob("*.py")}
IMPORTERS = sorted(
    [
        *TESTS.glob("*.py"),
        *(TESTS / "support").glob("*.py"),
        *(REPO_ROOT / "benchmarks").glob("*.py"),
        *(REPO_ROOT / "scripts").glob("*.py"),
    ]
)


def imported_modules(path: Path) -> set[str]:
    """The top-level names of the modules a Python file imports (relative imports aside)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_tests_hold_only_test_modules_and_conftest():
    """Code for the tests to share goes into tests/support/, where it is imported as support.*."""
    misplaced = [
        name for name in sorted(TEST_MODULES) if name != "conftest" and not name.startswith("test_")
    ]
    assert not misplaced, f"move {misplaced} into tests/support/"


@pytest.mark.parametrize("path", IMPORTERS, ids=lambda path: path.relative_to(REPO_ROOT).as_posix())
def test_code_imports_the_support_package_not_tests(path):
    """One spelling, support.*: `tests` as a package would load each support module twice."""
    wrong = imported_modules(path) & (TEST_MODULES | {"tests"})
    assert not wrong, (
        f"{path.relative_to(REPO_ROOT)} imports {sorted(wrong)}: move what it needs into "
        "tests/support/ (fixtures into tests/conftest.py) and import it from there"
    )
