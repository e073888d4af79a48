"""`make bench`: every benchmark of wetwacht, one after the other, each printing its figures.

Benchmarks measure speed and memory; tests never time anything. Run one alone with
`python -m bench.bench_<name>`; `python -m bench <name> ...` runs only those named.
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = ("bench_sources", "bench_matching", "bench_history", "bench_cli", "bench_webhooks", "bench_telegram",
           "bench_service", "bench_web")


def main(argv: list[str]) -> int:
    chosen = [b for b in BENCHES if not argv or b in argv or b.removeprefix("bench_") in argv]
    unknown = [a for a in argv if a not in BENCHES and f"bench_{a}" not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    for name in chosen:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        module.main()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
