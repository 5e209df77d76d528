"""How steady is this machine? Times a fixed CPU loop (no containers, no I/O) again and again
for a while and prints its speed in 10-second windows: the floor under any benchmark's
run-to-run noise here, and the drift that interleaved confirmation (--confirm) cancels.

    .venv/bin/python bench/machine.py [SECONDS]      (default 120)
"""

from __future__ import annotations

import statistics
import sys
import time


def spin(n: int = 3_000_000) -> float:
    start = time.perf_counter()
    x = 0
    for j in range(n):
        x += j * j
    return time.perf_counter() - start


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 120
    samples: list[tuple[float, float]] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        samples.append((time.monotonic() - t0, spin()))
    values = [v for _, v in samples]
    med = statistics.median(values)
    windows: dict[int, list[float]] = {}
    for t, v in samples:
        windows.setdefault(int(t // 10), []).append(v)
    medians = [statistics.median(w) for _, w in sorted(windows.items())]
    within = [statistics.stdev(w) / statistics.median(w) for w in windows.values() if len(w) > 2]
    print(f"a fixed CPU loop, {len(values)} times over {seconds:.0f} s: median {1000 * med:.0f} ms, "
          f"cv {100 * statistics.stdev(values) / med:.1f}%")
    print(f"  within 10 s windows: cv {100 * statistics.median(within):.1f}% (median of windows)")
    print(f"  window medians (ms): {' '.join(f'{1000 * m:.0f}' for m in medians)}")
    print(f"  slowest window against the fastest: {100 * (max(medians) / min(medians) - 1):+.0f}%")


if __name__ == "__main__":
    main()
