"""The paper's Figures 3 to 6, drawn from synthetic traces made with the paper's own parameters.

Figure 3: throughput during a warm and a cold reboot; Figure 4: during an OS
rejuvenation of one VM; Figure 5: during stop-and-copy and live migration of
every VM; Figure 6: during live migration with rate control. Each trace is made
by ``rejuv.trace.synthesize`` from the kourai2008 preset (11 VMs, as in the
paper's measurements), then measured back the way ``rejuv fit`` does it; the
figures shade what was found (Figures 5 and 6: every VM's move, on both hosts). ``traces.json`` holds, for every figure, the
preset's values beside the measured ones, so the round trip is visible.
Deterministic: every trace has a fixed seed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from rejuv.model import STRATEGIES, MigrationStrategy, Parameters, degradation_rates, load_preset
from rejuv.report import plot_migration_trace, plot_trace, write_figure, write_json
from rejuv.trace import (
    Migration,
    Settings,
    combine,
    event_from_parameters,
    event_kinds,
    fit_migration,
    measure,
    synthesize,
)

PRESET = "kourai2008"
VMS = 11  #: n in the paper's measurements

BEFORE = 120.0  #: s of steady service before the event
AFTER = 120.0  #: s after it
BASELINE = 60.0  #: s of baseline the segmentation reads
SEED = 2008
DPI = 90  #: six figures: kept small enough to commit
HERE = Path(__file__).resolve().parent
#: figure file stem -> event kind; host-wide events and the OS rejuvenation of VM 0
EVENTS = {"figure3-warm": "warm", "figure3-cold": "cold", "figure4-os": "os"}
#: figure file stem -> migration strategy (each holds its Table 1 profile)
MIGRATIONS = {
    "figure5-stop-and-copy": "migration",
    "figure5-live": "live",
    "figure6-live-rate-control": "live_rate_control",
}


def _load(params: Parameters) -> float:
    """req/s offered to each VM: p / n, which Table 1's absolute throughputs assume."""
    return float(params.host_throughput) / VMS


def _event_figure(params: Parameters, stem: str, kind: str, out: Path) -> dict[str, object]:
    event = event_from_parameters(params, kind, BEFORE)
    duration = BEFORE + event.length + AFTER
    trace = replace(
        synthesize(duration, vms=VMS, load=_load(params), events=[event], seed=SEED), source=f"{stem} ({PRESET})"
    )
    measured = measure(trace, kind, Settings(baseline_window=BASELINE))
    write_figure(plot_trace(trace, measured, BASELINE), out / f"{stem}.png", dpi=DPI)
    found = combine(measured)
    return {
        symbol: {
            "preset": params.scalar()[symbol],
            "measured": found[symbol].value,
            "uncertainty": found[symbol].uncertainty,
        }
        for symbol in event_kinds()[kind]
    }


def _migration_figure(params: Parameters, stem: str, key: str, out: Path) -> dict[str, object]:
    item = STRATEGIES[key]
    assert isinstance(item, MigrationStrategy)
    profile = item.profile(params)
    duration = BEFORE + profile.total_time(VMS) + AFTER
    trace = synthesize(duration, vms=VMS, load=_load(params), migrations=[Migration(BEFORE, profile)], seed=SEED)
    trace = replace(trace, source=f"{stem} ({PRESET})")
    write_figure(plot_migration_trace(trace), out / f"{stem}.png", dpi=DPI)
    fit = fit_migration([trace])
    model = params.replace(vms_per_host=VMS)
    assert fit.degradation is not None, fit.notes
    return {
        "degradation_rate": {
            "preset": float(degradation_rates(model)[key]),
            "measured": fit.degradation.value,
            "uncertainty": fit.degradation.uncertainty,
        },
        "time_to_move_all_vms": {
            "preset": float(profile.total_time(VMS)),
            "measured": fit.total_time.value,
            "uncertainty": fit.total_time.uncertainty,
        },
        "forms": {column: item.form for column, item in fit.fits.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    params = load_preset(PRESET)
    document: dict[str, object] = {"preset": PRESET, "vms": VMS, "load_per_vm": _load(params), "seed": SEED}
    for stem, kind in EVENTS.items():
        document[stem] = _event_figure(params, stem, kind, args.out)
        print(f"wrote {args.out / stem}.png")
    for stem, key in MIGRATIONS.items():
        document[stem] = _migration_figure(params, stem, key, args.out)
        print(f"wrote {args.out / stem}.png")
    print(f"wrote {write_json(args.out / 'traces.json', document)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
