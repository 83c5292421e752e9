#!/usr/bin/env python3
"""One fault experiment's accounting (scripts/chaos/lib.sh calls it after the run).

Reads OUT/summary.json (loadgen's figures and each fault's recovery), OUT/access.log
(nginx: `msec method uri status`, so the loans acknowledged to clients are the
201s to POST /loans) and OUT/api.log (both API instances' logs: each delivered
event is a `notification` line naming its kind and loan). Prints the details and,
last, one Markdown row for docs/RELIABILITY.md's results table.
"""
import argparse
import json
import re
import sys
from datetime import date

ANSI = re.compile(r"\x1b\[[0-9;]*m")
NOTIFICATION = re.compile(r'notification\b.*?kind="?([\w.]+)"?.*?\bloan=(\d+)')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("name")
    ap.add_argument("what")
    for flag in ("loans-before", "loans-after", "outbox-before", "outbox-after", "unsent", "loadgen-exit"):
        ap.add_argument("--" + flag, type=int, required=True)
    ap.add_argument("--event-delay", type=float, default=None,
                    help="the longest an event waited in the outbox, seconds")
    a = ap.parse_args()

    s = json.load(open(f"{a.out}/summary.json"))
    acked = sum(1 for line in open(f"{a.out}/access.log") if line.split()[1:4] == ["POST", "/loans", "201"])
    stored = a.loans_after - a.loans_before
    delivered = set()
    for line in open(f"{a.out}/api.log", errors="replace"):
        m = NOTIFICATION.search(ANSI.sub("", line))
        if m:
            delivered.add((m.group(1), int(m.group(2))))
    written = a.outbox_after - a.outbox_before

    t = s["total"]
    faults = s.get("faults", [])
    recs = [f.get("recovery") for f in faults]
    recovered = [r["recovered_at"] for r in recs if r and r["recovered_at"] is not None]
    all_recovered = bool(recs) and len(recovered) == len(recs)
    after = None
    if all_recovered:
        last = max(recovered)
        after = sum(p["failures"] for p in s["series"] if p["second"] >= last)

    def fault_cell(f):
        r = f.get("recovery")
        at = f"{f['started_secs']:.0f} s" if f.get("started_secs") is not None else "-"
        if not r:
            return f"{at}: {f.get('no_recovery', '-')}"
        back = "not recovered" if r["recovered_after_secs"] is None else f"recovered in {r['recovered_after_secs']} s"
        return (f"{at}: {r['during_failures']}/{r['during_requests']} failed, worst P99 "
                f"{r['during_p99_us'] / 1000:.0f} ms, {back}, lost {r['lost']}")

    print(f"experiment {a.name}: {a.what}")
    print(f"load: {s['shape']['model']} model, connections {s['config'].get('connections')}, "
          f"{t['requests']} requests, {t['failures']} failed ({100 * t['failures'] / max(t['requests'], 1):.3f}%), "
          f"P99 {t['p99_us'] / 1000:.1f} ms, {t['rps']:.0f} req/s; loadgen exit {a.loadgen_exit}")
    for i, f in enumerate(faults, 1):
        print(f"fault {i} ({f['command']}; {f['outcome']}): {fault_cell(f)}")
    print(f"loans: {acked} acknowledged (201), {stored} stored, lost {max(acked - stored, 0)}")
    print(f"events: {written} written to the outbox, {a.unsent} unsent after the drain, "
          f"{len(delivered)} distinct delivered, lost {max(written - len(delivered), 0) + a.unsent}"
          + ("" if a.event_delay is None else f"; the longest wait in the outbox {a.event_delay:.1f} s"))
    if s.get("aborted_by"):
        print(f"ABORTED: {s['aborted_by']['why']}")
    lost_loans = max(acked - stored, 0)
    lost_events = max(written - len(delivered), 0)
    ok = (all_recovered and lost_loans == 0 and lost_events == 0 and a.unsent == 0
          and after == 0 and all(r and r["recovered_after_secs"] < 30 for r in recs))
    slowest = max((r["recovered_after_secs"] for r in recs if r and r["recovered_after_secs"] is not None), default=None)
    print(
        f"| {a.name} | {date.today().isoformat()} | {a.what} | "
        f"{sum(r['during_failures'] for r in recs if r)}/{sum(r['during_requests'] for r in recs if r)} | "
        f"{'not recovered' if not all_recovered else f'{slowest} s'} | "
        f"{sum(r['lost'] for r in recs if r)} | {'-' if after is None else after} | "
        f"{acked}/{stored}/{lost_loans} | {written}/{len(delivered)}/{a.unsent}"
        f"{'' if a.event_delay is None else f' (waited up to {a.event_delay:.1f} s)'} | "
        f"{'pass' if ok else 'FAIL'} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
