"""``rejuv validate`` prints the comparison table and the reasons for each difference."""

from __future__ import annotations

import json

import pytest

from rejuv.cli.main import main


def test_validate_prints_every_strategy_agreeing_on_the_paper_preset(capsys: pytest.CaptureFixture[str]) -> None:
    """On the paper's parameters at m = 10 and 100 every row agrees and no reason is given."""
    assert main(["validate", "--hosts", "10,100"]) == 0
    out = capsys.readouterr().out
    assert out.count(" yes") == 10
    assert "NO" not in out and "why they differ" not in out
    assert "Warm-VM Reboot" in out and "Live migration, rate control" in out


def test_validate_names_spare_host_queueing_where_one_spare_saturates(capsys: pytest.CaptureFixture[str]) -> None:
    """With T_vmm = 1 d and m = 600 one spare cannot keep up: the row disagrees and says why."""
    args = ["validate", "--hosts", "600", "--strategies", "migration", "--set", "T_vmm=1d", "--spare-reboot", "0s"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "NO" in out
    assert "spare-host queueing" in out


def test_validate_json_has_one_entry_per_strategy_and_host_count(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the model's and the simulated loss for each pair, with the reasons (none here)."""
    assert main(["validate", "--hosts", "10", "--strategies", "warm,cold", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    entries = document["comparisons"]
    assert [(e["strategy"], e["hosts"]) for e in entries] == [("warm", 10), ("cold", 10)]
    assert all(e["agrees"] and e["reasons"] == [] for e in entries)


def test_validate_rejects_an_unknown_strategy(capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong --strategies value is a usage error naming the option."""
    assert main(["validate", "--strategies", "hot"]) == 2
    assert "error: --strategies: unknown strategy 'hot'" in capsys.readouterr().err


def test_validate_rejects_a_bad_spare_reboot_time(capsys: pytest.CaptureFixture[str]) -> None:
    """A --spare-reboot that is not a duration is a usage error naming the option."""
    assert main(["validate", "--spare-reboot", "soon"]) == 2
    assert "error: --spare-reboot:" in capsys.readouterr().err


def test_validate_names_failures_and_random_durations_as_departures(capsys: pytest.CaptureFixture[str]) -> None:
    """With --aging and --durations the rows differ from the model, and the reasons name both departures."""
    args = ["validate", "--hosts", "50", "--strategies", "warm", "--durations", "gamma:0.3", "--aging", "2:60d:15min"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "software-aging failures:" in out and "mean time to failure 60 d" in out
    assert "random durations (gamma:0.3)" in out
