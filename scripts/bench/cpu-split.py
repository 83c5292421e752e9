#!/usr/bin/env python3
"""Where a benchmark's CPU went, per component of the stack.

  cpu-split.py start FILE   record cumulative CPU per process group now
  cpu-split.py end FILE [NAME=SECONDS...] [--requests N]
                            print CPU seconds per group since `start`, as a table;
                            NAME=SECONDS adds a process that has exited (measured
                            apart, e.g. by cputime.py), taken out of "other";
                            --requests N (the run's requests) adds CPU-us per
                            request per group and their sum over generator + stack

Groups by process name: loadgen, target-service, nginx, pgbouncer, postgres,
redis-server, rabbitmq (beam.smp and its helpers), softirq (ksoftirqd and the
interrupt time /proc/stat charges to no process: loopback traffic's kernel work).
The rest of the machine's busy time is "other": on a shared machine that is other
people's work (a compile), so the per-request sum leaves it out and names it.
Each process counts user+sys plus that of its reaped children, so PostgreSQL
backends that exit during the run still count (to the postmaster).
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
    # Loopback traffic's deferred kernel work (the stack's and the generator's).
    "ksoftirqd": "softirq",
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
        group = GROUPS.get(comm.split("/")[0])
        if group is None:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        # utime, stime, cutime, cstime are fields 14-17 of stat (index 11-14 here).
        ticks = sum(int(x) for x in fields[11:15])
        out[group] = out.get(group, 0.0) + ticks / TICK
    return out


def machine_busy():
    """Busy CPU seconds of the whole machine (all cores) since boot, and the part
    of it spent in interrupts (charged to no process)."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return (sum(cpu[:8]) - idle) / TICK, (cpu[5] + cpu[6]) / TICK


def snapshot():
    busy, irq = machine_busy()
    groups = per_group()
    groups["softirq"] = groups.get("softirq", 0.0) + irq
    return {"t": time.time(), "busy": busy, "groups": groups}


def main():
    args = sys.argv[1:]
    requests = None
    if "--requests" in args:
        at = args.index("--requests")
        requests = int(args[at + 1])
        del args[at : at + 2]
    if len(args) < 2 or args[0] not in ("start", "end"):
        sys.exit(__doc__)
    if args[0] == "start":
        with open(args[1], "w") as f:
            json.dump(snapshot(), f)
        return
    with open(args[1]) as f:
        before = json.load(f)
    now = snapshot()
    wall = now["t"] - before["t"]
    cores = os.cpu_count()
    busy = now["busy"] - before["busy"]
    print(f"CPU over {wall:.0f} s on {cores} cores ({wall * cores:.0f} CPU-s available, "
          f"{busy:.0f} busy = {100 * busy / (wall * cores):.0f}%):")
    per_req = requests is not None and requests > 0
    print("| component      | CPU s  | cores used | share of busy |" + (" CPU-us per request |" if per_req else ""))
    print("|----------------|--------|------------|---------------|" + ("--------------------|" if per_req else ""))
    used_by = {}
    for group in set(now["groups"]) | set(before["groups"]):
        used_by[group] = now["groups"].get(group, 0.0) - before["groups"].get(group, 0.0)
    for extra in args[2:]:
        name, _, secs = extra.partition("=")
        used_by[name] = used_by.get(name, 0.0) + float(secs)
    rows = [(used, group) for group, used in used_by.items()]
    rows.append((max(busy - sum(u for u, _ in rows), 0.0), "other"))
    for used, group in sorted(rows, reverse=True):
        line = f"| {group:<14} | {used:6.1f} | {used / wall:10.2f} | {100 * used / max(busy, 1e-9):12.0f}% |"
        if per_req:
            line += f" {1e6 * used / requests:18.0f} |"
        print(line)
    if per_req:
        # "other" is whatever else ran (a compile on a shared machine): not the run's.
        ours = sum(u for u, g in rows if g != "other")
        other = sum(u for u, g in rows if g == "other")
        print(f"generator + stack: {1e6 * ours / requests:.0f} CPU-us per request over {requests} requests "
              f"(other, left out: {1e6 * other / requests:.0f} us; whole machine: {1e6 * busy / requests:.0f} us)")


if __name__ == "__main__":
    main()
