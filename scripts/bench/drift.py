#!/usr/bin/env python3
"""Soak drift: the stack's memory over a run, and P99 over the hold.

  drift.py sample FILE [EVERY_SECS]   append a line of memory per component every
                                      EVERY_SECS (default 30) until terminated
  drift.py report FILE SUMMARY_JSON   P99 and memory per window of the run's hold,
                                      and the drift from the first window to the last

Memory is PSS (proportional set size, /proc/PID/smaps_rollup) summed per component,
so PostgreSQL's shared buffers are not counted once per backend; each API instance
is its own column. Components as in cpu-split.py.
"""
import json
import os
import signal
import sys
import time

GROUPS = {
    "nginx": "nginx",
    "pgbouncer": "pgbouncer",
    "postgres": "postgres",
    "redis-server": "redis",
    "beam.smp": "rabbitmq",
}


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample():
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm == "target-service":
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = dict(
                        kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv
                    )
                name = "api" + env.get(b"BIND_ADDR", b"").decode().rpartition(":")[2]
            except OSError:
                name = f"api-pid{pid}"
        else:
            name = GROUPS.get(comm)
            if name is None:
                continue
        out[name] = out.get(name, 0) + pss_kb(pid)
    return out


def run_sampler(path, every):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    start = time.time()
    with open(path, "a") as f:
        while not stop:
            f.write(json.dumps({"t": round(time.time() - start), "kb": sample()}) + "\n")
            f.flush()
            for _ in range(every * 10):
                if stop:
                    break
                time.sleep(0.1)


def report(path, summary_path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    s = json.load(open(summary_path))
    stages = s["shape"]["stages"]
    hold_start = sum(st["secs"] for st in stages[:-1])
    series = [p for p in s["series"] if p["second"] >= hold_start and p["requests"] > 0]
    if not series or not rows:
        sys.exit("nothing to report: no hold seconds or no memory samples")
    span = series[-1]["second"] - hold_start
    window = max(span // 6, 60)
    print(f"hold from {hold_start} s to {series[-1]['second']} s; windows of {window} s")
    names = sorted({k for r in rows for k in r["kb"]})
    print("| window (s) | req/s | errors | P99 worst second ms | P99 median second ms | "
          + " | ".join(f"{n} MB" for n in names) + " |")
    print("|---" * (5 + len(names)) + "|")
    firsts, lasts = None, None
    t = hold_start
    while t < series[-1]["second"]:
        w = [p for p in series if t <= p["second"] < t + window]
        mem = [r for r in rows if t <= r["t"] < t + window]
        # A ragged last window (the run's final seconds) would compare nothing.
        if len(w) >= window // 2 and mem:
            p99s = sorted(p["p99_us"] for p in w)
            mb = {n: max(r["kb"].get(n, 0) for r in mem) / 1024 for n in names}
            firsts = firsts or (p99s[len(p99s) // 2], mb)
            lasts = (p99s[len(p99s) // 2], mb)
            print(f"| {t}-{t + window} | {sum(p['requests'] for p in w) / len(w):.0f} | "
                  f"{sum(p['failures'] for p in w)} | {p99s[-1] / 1000:.1f} | "
                  f"{p99s[len(p99s) // 2] / 1000:.1f} | "
                  + " | ".join(f"{mb[n]:.1f}" for n in names) + " |")
        t += window
    (p0, m0), (p1, m1) = firsts, lasts
    print(f"drift first -> last window: median-second P99 {p0 / 1000:.1f} -> {p1 / 1000:.1f} ms; "
          + ", ".join(f"{n} {m0[n]:.1f} -> {m1[n]:.1f} MB" for n in names))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "sample":
        run_sampler(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 30)
    elif len(sys.argv) == 4 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
