#!/usr/bin/env python3
"""Per-step figures of a run, from summary.json's per-second series.

Usage: steps.py RUN_DIR/summary.json [SERVER_CONNECTIONS_TXT]

One row per hold of the shape (a stage that keeps the level the previous one
reached): its level (users in a closed shape, iterations/s in an open one), the
seconds it lasted, requests per second, errors, the median and worst second's P99
(from each arrival's due time in an open run, with the median second's P99 from
the send beside it), the users busy (open) and the connections loadgen's users
held (median and max of the per-second count). With the file headline.sh writes
(`UNIX_SECONDS ESTABLISHED` lines, nginx's client connections sampled with `ss`),
each hold also shows what the server counted in it: the check that both sides
agree. Printed as a Markdown table.
"""
import json
import statistics
import sys
from datetime import datetime


def holds(stages):
    """(start_second, end_second, level) of every stage that holds its level."""
    t, prev, out = 0, 0, []
    for st in stages:
        level = st.get("level", st.get("users"))
        if level == prev and st["secs"] > 0:
            out.append((t, t + st["secs"], level))
        t += st["secs"]
        prev = level
    return out


def server_counts(path, start_unix):
    """Second of the run -> nginx's established connections, from headline.sh's samples."""
    counts = {}
    for line in open(path):
        parts = line.split()
        if len(parts) == 2:
            counts[int(parts[0]) - start_unix] = int(parts[1])
    return counts


def ms(us):
    return f"{us / 1000:.1f} ms"


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    s = json.load(open(sys.argv[1]))
    open_model = s["shape"].get("model") == "open"
    start_unix = int(datetime.fromisoformat(s["started_at"]).timestamp())
    server = server_counts(sys.argv[2], start_unix) if len(sys.argv) == 3 else {}
    series = s["series"]
    head = ["rate /s" if open_model else "users", "seconds", "req/s", "errors",
            "P99 median second", "P99 worst second"]
    if open_model:
        head += ["P99 from send, median second", "users busy (max)", "dropped"]
    head += ["connections held (median / max)"]
    if server:
        head += ["nginx counted, min-max (samples)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for start, end, level in holds(s["shape"]["stages"]):
        pts = [p for p in series if start <= p["second"] < end]
        if not pts:
            continue
        p99s = [p["p99_us"] for p in pts if p["requests"]]
        row = [f"{level:,}", str(len(pts)),
               f"{sum(p['requests'] for p in pts) / len(pts):,.0f}",
               f"{sum(p['failures'] for p in pts):,}",
               ms(statistics.median(p99s)) if p99s else "-",
               ms(max(p99s)) if p99s else "-"]
        if open_model:
            sp = [p["service_p99_us"] for p in pts if p.get("service_p99_us")]
            row += [ms(statistics.median(sp)) if sp else "-",
                    f"{max(p['users'] for p in pts):,}",
                    f"{sum(p.get('dropped', 0) for p in pts):,}"]
        conns = [p.get("connections", 0) for p in pts]
        row += [f"{statistics.median(conns):,.0f} / {max(conns):,}"]
        if server:
            seen = [v for k, v in server.items() if start <= k < end]
            row += [f"{min(seen):,}-{max(seen):,} ({len(seen)})" if seen else "-"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
