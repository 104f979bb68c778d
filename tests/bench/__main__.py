"""Run the benchmarks, print their figures against the targets and write bench-results.json."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence

from tests.bench import (
    Figure,
    audit,
    cold_start,
    figure,
    intake,
    local_load,
    local_state,
    overhead,
    round_trips,
    sync,
    target_met,
)
from tests.bench.support import REPO_ROOT, RUN_CALLS, discarded_stdout

# A benchmark is a function returning its figures; add a module and register its function here.
BENCHMARKS: list[Callable[[], list[Figure]]] = [
    cold_start.run,
    round_trips.run,
    overhead.run,
    intake.run,
    audit.run,
    sync.run,
    local_load.run,
    local_state.run,
]
RESULTS = REPO_ROOT / "bench-results.json"


def benchmark_name(benchmark: Callable[[], list[Figure]]) -> str:
    """The benchmark's module name, e.g. "cold_start"."""
    return benchmark.__module__.rsplit(".", 1)[-1]


def _target_text(item: Figure) -> str:
    """The target as a bound, e.g. "<= 1.3"; "-" for an informational figure."""
    if item["target"] is None:
        return "-"
    return f"{'<=' if item['better'] == 'lower' else '>='} {item['target']:g}"


def render(figures: Sequence[Figure]) -> str:
    """The figures as a text table: name, value, target and whether the target is met."""
    rows = [("figure", "value", "target", "met")]
    for item in figures:
        met = target_met(item)
        value = f"{item['value']:g} {item['unit']}"
        rows.append(
            (item["name"], value, _target_text(item), "-" if met is None else ("yes" if met else "NO"))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected benchmarks (all by default); exit 0 whether or not targets are met."""
    names = [benchmark_name(b) for b in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("only", nargs="*", metavar="BENCHMARK", help=f"run only these: {', '.join(names)}")
    selected = set(parser.parse_args(argv).only or names)
    if unknown := selected - set(names):
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    figures: list[Figure] = []
    started = time.perf_counter()
    # The function logs a line per request at its deployed level (INFO): the cost stays in, the lines go.
    with RUN_CALLS, discarded_stdout():
        for benchmark in BENCHMARKS:
            if benchmark_name(benchmark) not in selected:
                continue
            print(f"running {benchmark_name(benchmark)} ...", file=sys.stderr, flush=True)
            figures.extend(benchmark())
    # Every DynamoDB call of the run was counted, the cold start subprocesses' included.
    figures.append(figure("scan_calls", RUN_CALLS.counts["Scan"], "calls", 0))
    print(render(figures))
    print(f"\n{len(figures)} figures in {time.perf_counter() - started:.0f} s; written to {RESULTS.name}")
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
