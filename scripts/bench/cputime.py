#!/usr/bin/env python3
"""Runs a command and prints its CPU seconds (user+sys, children included) and peak RSS.

Usage: cputime.py OUTFILE -- COMMAND...   (writes "cpu_secs max_rss_kb" to OUTFILE)
"""
import resource
import subprocess
import sys

out, cmd = sys.argv[1], sys.argv[3:]
code = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    f.write(f"{ru.ru_utime + ru.ru_stime:.3f} {ru.ru_maxrss}\n")
sys.exit(code)
