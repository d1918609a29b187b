"""Memory soak of the default generated project's local endpoint: does the server's memory level off under load?

Runs the load test of `loadtest.py` (keep-alive clients with its mix of valid and invalid requests, plus clients that
trickle their bodies and their headers) against the kept endpoint of a freshly baked default project for `--seconds`
(default 300), sampling the server's resident memory (gunicorn master + workers) every `--interval` seconds. Prints
the load report, the memory curve and the verdict: the memory levels off when it grew by at most `--max-growth`
percent over the second half of the run. Exits 1 when it did not (a leak to look for), 0 otherwise.
Usage: python scripts/soak.py [--seconds 300] [--interval 5] [--max-growth 3] [--clients 50] [--slow-clients 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass

from loadtest import add_load_options, check_load, drive, kept_endpoint, report

MAX_SECONDS = 3600.0
BAR_WIDTH = 50


@dataclass(frozen=True)
class Verdict:
    """The memory at the start, at the middle and at the end of the run (MB), and whether it levelled off."""

    first: float
    middle: float
    last: float
    max_growth_percent: float

    @property
    def second_half_growth_percent(self) -> float:
        return 100 * (self.last - self.middle) / self.middle

    @property
    def levels_off(self) -> bool:
        return self.second_half_growth_percent <= self.max_growth_percent

    def __str__(self) -> str:
        outcome = "levels off" if self.levels_off else "still growing: look for a leak"
        return (
            f"RSS {self.first:.0f} MB at the start, {self.middle:.0f} MB at half time, {self.last:.0f} MB at the end: "
            f"{self.second_half_growth_percent:+.1f} % over the second half (limit {self.max_growth_percent:g} %): "
            f"{outcome}"
        )


def verdict(samples: list[tuple[float, float]], max_growth_percent: float) -> Verdict:
    """The verdict on (seconds, MB) samples: the sample nearest the middle of the run against the last one."""
    middle_time = samples[-1][0] / 2
    middle = min(samples, key=lambda sample: abs(sample[0] - middle_time))[1]
    return Verdict(samples[0][1], middle, samples[-1][1], max_growth_percent)


def print_curve(samples: list[tuple[float, float]]) -> None:
    """One line per sample: the time, the RSS and a bar scaled between the lowest and the highest sample."""
    low, high = min(mb for _, mb in samples), max(mb for _, mb in samples)
    for seconds, mb in samples:
        width = 1 + round((BAR_WIDTH - 1) * (mb - low) / (high - low)) if high > low else 1
        print(f"{seconds:7.0f} s {mb:7.0f} MB  {'#' * width}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_options(parser, seconds=300.0, max_seconds=MAX_SECONDS)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between memory samples (1..60)")
    parser.add_argument(
        "--max-growth", type=float, default=3.0, help="percent the RSS may grow over the second half (default 3)"
    )
    arguments = parser.parse_args()
    check_load(parser, arguments, MAX_SECONDS)
    if not 1 <= arguments.interval <= min(60.0, arguments.seconds / 4):
        parser.error("keep --interval in 1..60 s, and at most a quarter of --seconds")
    print(f"load average before: {os.getloadavg()[0]:.2f}  cores: {os.cpu_count()}", flush=True)
    with kept_endpoint() as endpoint:
        tallies, samples = asyncio.run(drive(endpoint, arguments, arguments.interval))
    report(tallies, arguments.seconds)
    print(f"server RSS (master + workers) every {arguments.interval:g} s under load:")
    print_curve(samples)
    result = verdict(samples, arguments.max_growth)
    print(result)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    sys.exit(0 if result.levels_off else 1)


if __name__ == "__main__":
    main()
