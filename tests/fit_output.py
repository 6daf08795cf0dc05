"""rejuv fit --json run in-process, for the tests that compare fits."""

from __future__ import annotations

import json

import pytest

from rejuv.cli import main


def fit_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, dict[str, float]]:
    """The estimates of ``rejuv fit --json ARGV`` by symbol; the fit must succeed."""
    status = main(["fit", "--json", *argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    estimates: dict[str, dict[str, float]] = json.loads(out)["estimates"]
    return estimates
