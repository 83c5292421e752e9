#!/usr/bin/env python3
"""How a `spike` run absorbed its burst, from summary.json's per-second series.

Usage: recovery.py RUN_DIR/summary.json [--settle SECS]

The burst starts at the stage with the largest rise in users and ends at the first
stage that falls from the peak. The baseline is the hold before the burst (median
of its per-second P99 and requests). "Recovered" is the first second from which
every second for --settle seconds (default 10) has no failure and a P99 within
2x the baseline P99 (at least baseline + 20 ms, so a 1 ms baseline is not held
to 2 ms). Printed: baseline, the worst second of the burst, time to recover after
the burst starts and after it ends.
"""
import json
import statistics
import sys


def phases(stages):
    """(burst_start, drop_start) in seconds from the stages' timeline."""
    t, times, prev = 0, [], 0
    for st in stages:
        times.append((t, prev, st.get("level", st.get("users"))))
        t += st["secs"]
        prev = st.get("level", st.get("users"))
    burst = max(times, key=lambda x: x[2] - x[1])
    peak = burst[2]
    drop = next((s for s, before, after in times if s > burst[0] and before == peak and after < peak), t)
    return burst[0], drop


def recovered_at(series, start, limit_us, settle):
    """First second >= start from which `settle` seconds are all healthy."""
    seconds = [p for p in series if p["second"] >= start]
    for i, p in enumerate(seconds):
        window = seconds[i : i + settle]
        if len(window) < settle:
            return None
        if all(w["failures"] == 0 and w["p99_us"] <= limit_us for w in window):
            return p["second"]
    return None


def main():
    args = sys.argv[1:]
    settle = 10
    if "--settle" in args:
        i = args.index("--settle")
        settle = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    s = json.load(open(args[0]))
    series = [p for p in s["series"] if p["requests"] > 0]
    burst, drop = phases(s["shape"]["stages"])
    base = [p for p in series if burst - 30 <= p["second"] < burst]
    if not base:
        sys.exit("no baseline seconds before the burst")
    base_p99 = statistics.median(p["p99_us"] for p in base)
    base_rps = statistics.median(p["requests"] for p in base)
    limit = max(2 * base_p99, base_p99 + 20_000)
    during = [p for p in series if burst <= p["second"] < drop]
    worst = max(during, key=lambda p: p["p99_us"]) if during else None
    fails = sum(p["failures"] for p in during)
    reqs = sum(p["requests"] for p in during)
    print(f"baseline (30 s before the burst at {burst} s): P99 {base_p99 / 1000:.1f} ms, {base_rps:.0f} req/s")
    if worst:
        peak_rps = max(p["requests"] for p in during)
        print(f"burst ({burst}-{drop} s): {reqs} requests, {fails} failed, peak {peak_rps} req/s, "
              f"worst second P99 {worst['p99_us'] / 1000:.1f} ms at {worst['second']} s")
    limit_ms = limit / 1000
    up = recovered_at(series, burst, limit, settle)
    down = recovered_at(series, drop, limit, settle)
    say = lambda at, since: "not within the run" if at is None else f"{at - since} s"
    print(f"recovered (no failure, P99 <= {limit_ms:.1f} ms for {settle} s): "
          f"{say(up, burst)} after the burst began; {say(down, drop)} after it ended")


if __name__ == "__main__":
    main()
