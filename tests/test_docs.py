"""The documentation says what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import rejuv.lab
import rejuv.model
import rejuv.report
import rejuv.sim
import rejuv.study
import rejuv.trace
from rejuv.cli.main import COMMANDS
from rejuv.model import SYMBOLS

ROOT = Path(__file__).resolve().parent.parent


def api_names(section: str) -> list[str]:
    text = (ROOT / "docs" / "api.md").read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- `([A-Za-z_][A-Za-z0-9_]*)`", body, flags=re.MULTILINE)


@pytest.mark.parametrize(
    "package",
    [rejuv.model, rejuv.trace, rejuv.sim, rejuv.lab, rejuv.study, rejuv.report],
    ids=lambda p: p.__name__,
)
def test_api_reference_lists_exactly_each_package_all(package: object) -> None:
    """docs/api.md names every public name of each package, in __all__'s order, and nothing else."""
    assert api_names(package.__name__) == list(package.__all__)  # type: ignore[attr-defined]


def test_symbol_table_in_the_docs_matches_the_code() -> None:
    """docs/parameters.md carries the symbol table exactly as rejuv.model.SYMBOLS defines it."""
    rows = ["| symbol | paper | name | unit | meaning |", "|---|---|---|---|---|"]
    rows += [f"| `{s.symbol}` | {s.paper} | `{s.name}` | {s.unit} | {s.meaning} |" for s in SYMBOLS]
    assert "\n".join(rows) in (ROOT / "docs" / "parameters.md").read_text()


def test_readme_documents_every_command() -> None:
    """The README's command table has a row for every rejuv command."""
    readme = (ROOT / "README.md").read_text()
    for name in COMMANDS:
        assert f"| `rejuv {name}" in readme


def test_readme_test_command_is_what_ci_runs() -> None:
    """.ci/run calls the README's test command."""
    assert "make test" in (ROOT / "README.md").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()
