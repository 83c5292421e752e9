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
redis-server, rabbitmq (beam.smp and its helpers), softirq (ksoftirqd: loopback
traffic's kernel work deferred to its own threads; the rest of it is in the system
time of the process it interrupted).
The rest of the machine's busy time is "other": on a shared machine that is other
people's work (a compile), so the per-request sum leaves it out and names it.
Each process counts user+sys plus that of its reaped children. PostgreSQL is
shared: backends of other databases than STACK_DB ("library"; a test suite beside
the run) are their own row, left out with "other"; backends that exited during the
run are counted by the postmaster and cannot be told apart, so their row,
"postgres (exited)", is counted as the stack's (the vacuum loop's are) and is an
upper bound when someone else's clients came and went.
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
STACK_DB = os.environ.get("STACK_DB", "library")
OTHER_DB = "postgres (other dbs)"
EXITED = "postgres (exited)"
# Not the run's: left out of the per-request sum (named in the table).
NOT_OURS = ("other", OTHER_DB)


def pg_group(pid):
    """PostgreSQL's processes are shared: the server's own and the backends of the
    stack's database (STACK_DB, "library") are the stack's; backends of any other
    database (a test suite running beside the benchmark) are not."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().replace(b"\0", b" ").decode(errors="replace").split()
    except OSError:
        return "postgres"
    # A backend's title: "postgres: 15/main: USER DATABASE HOST(PORT) STATE".
    if len(title) >= 4 and title[0] == "postgres:" and "(" in " ".join(title[4:5]):
        return "postgres" if title[3] == STACK_DB else OTHER_DB
    return "postgres"


def per_process():
    """{pid:starttime: [group, own CPU s, reaped children's CPU s]} of the processes
    alive now that belong to a group."""
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
        if group == "postgres":
            group = pg_group(pid)
        fields = raw[raw.rindex(")") + 2 :].split()
        # utime, stime, cutime, cstime, starttime: fields 14-17 and 22 of stat.
        own = (int(fields[11]) + int(fields[12])) / TICK
        reaped = (int(fields[13]) + int(fields[14])) / TICK
        out[f"{pid}:{fields[19]}"] = [group, own, reaped]
    return out


def used_per_group(before, now):
    """CPU seconds per group between two per_process() snapshots. A process new
    since `before` counts from zero. The postmaster's reaped children are the
    backends that exited: the vacuum loop's and any other client's, apart."""
    used = {}
    for key, (group, own, reaped) in now.items():
        _, own0, reaped0 = before.get(key, (group, 0.0, 0.0))
        used[group] = used.get(group, 0.0) + own - own0
        if group == "postgres" and reaped > reaped0:
            used[EXITED] = used.get(EXITED, 0.0) + reaped - reaped0
        elif reaped > reaped0:
            used[group] += reaped - reaped0
    return used


def machine_busy():
    """Busy CPU seconds of the whole machine (all cores) since boot, and the part
    of it spent in interrupts (charged to no process)."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return (sum(cpu[:8]) - idle) / TICK, (cpu[5] + cpu[6]) / TICK


def snapshot():
    busy, irq = machine_busy()
    return {"t": time.time(), "busy": busy, "irq": irq, "procs": per_process()}


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
    print("| component            | CPU s  | cores used | share of busy |" + (" CPU-us per request |" if per_req else ""))
    print("|----------------------|--------|------------|---------------|" + ("--------------------|" if per_req else ""))
    used_by = used_per_group(before["procs"], now["procs"])
    # /proc/stat's irq and softirq time is mostly inside the processes' own system
    # time already (tick accounting charges it to the task it interrupted); only
    # what ran while a CPU idled is not, and that lands in "other", named apart.
    irq = now["irq"] - before["irq"]
    for extra in args[2:]:
        name, _, secs = extra.partition("=")
        used_by[name] = used_by.get(name, 0.0) + float(secs)
    rows = [(used, group) for group, used in used_by.items()]
    rows.append((max(busy - sum(u for u, _ in rows), 0.0), "other"))
    for used, group in sorted(rows, reverse=True):
        line = f"| {group:<20} | {used:6.1f} | {used / wall:10.2f} | {100 * used / max(busy, 1e-9):12.0f}% |"
        if per_req:
            line += f" {1e6 * used / requests:18.0f} |"
        print(line)
    if per_req:
        ours = sum(u for u, g in rows if g not in NOT_OURS)
        other = sum(u for u, g in rows if g in NOT_OURS)
        print(f"generator + stack: {1e6 * ours / requests:.0f} CPU-us per request over {requests} requests "
              f"({' and '.join(NOT_OURS)} left out: {1e6 * other / requests:.0f} us; "
              f"whole machine: {1e6 * busy / requests:.0f} us, of it interrupts {1e6 * irq / requests:.0f} us)")


if __name__ == "__main__":
    main()
