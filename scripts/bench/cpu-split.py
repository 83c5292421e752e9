#!/usr/bin/env python3
"""Where a benchmark's CPU went, per component of the stack.

  cpu-split.py start FILE   record cumulative CPU per process group now
  cpu-split.py end FILE [NAME=SECONDS...]
                            print CPU seconds per group since `start`, as a table;
                            NAME=SECONDS adds a process that has exited (measured
                            apart, e.g. by cputime.py), taken out of "other"

Groups by process name: loadgen, target-service, nginx, pgbouncer, postgres,
redis-server, rabbitmq (beam.smp and its helpers); the rest of the machine's busy
time is "other". Each process counts user+sys plus that of its reaped children, so
PostgreSQL backends that exit during the run still count (to the postmaster).
"""
import json
import os
import sys
import time

GROUPS = {
    "loadgen": "loadgen",
    "target-service": "target-service",
    "nginx": "nginx",
    "pgbouncer": "pgbouncer",
    "postgres": "postgres",
    "redis-server": "redis",
    "beam.smp": "rabbitmq",
    "epmd": "rabbitmq",
    "erl_child_setup": "rabbitmq",
    "inet_gethost": "rabbitmq",
}
TICK = os.sysconf("SC_CLK_TCK")


def per_group():
    """{group: cumulative CPU seconds} over the processes alive now."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        group = GROUPS.get(comm)
        if group is None:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        # utime, stime, cutime, cstime are fields 14-17 of stat (index 11-14 here).
        ticks = sum(int(x) for x in fields[11:15])
        out[group] = out.get(group, 0.0) + ticks / TICK
    return out


def machine_busy():
    """Busy CPU seconds of the whole machine (all cores) since boot."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return (sum(cpu[:8]) - idle) / TICK


def snapshot():
    return {"t": time.time(), "busy": machine_busy(), "groups": per_group()}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("start", "end"):
        sys.exit(__doc__)
    if sys.argv[1] == "start":
        with open(sys.argv[2], "w") as f:
            json.dump(snapshot(), f)
        return
    with open(sys.argv[2]) as f:
        before = json.load(f)
    now = snapshot()
    wall = now["t"] - before["t"]
    cores = os.cpu_count()
    busy = now["busy"] - before["busy"]
    print(f"CPU over {wall:.0f} s on {cores} cores ({wall * cores:.0f} CPU-s available, "
          f"{busy:.0f} busy = {100 * busy / (wall * cores):.0f}%):")
    print("| component      | CPU s  | cores used | share of busy |")
    print("|----------------|--------|------------|---------------|")
    rows = []
    for group in sorted(set(now["groups"]) | set(before["groups"])):
        used = now["groups"].get(group, 0.0) - before["groups"].get(group, 0.0)
        rows.append((used, group))
    for extra in sys.argv[3:]:
        name, _, secs = extra.partition("=")
        rows.append((float(secs), name))
    rows.append((max(busy - sum(u for u, _ in rows), 0.0), "other"))
    for used, group in sorted(rows, reverse=True):
        print(f"| {group:<14} | {used:6.1f} | {used / wall:10.2f} | {100 * used / max(busy, 1e-9):12.0f}% |")


if __name__ == "__main__":
    main()
