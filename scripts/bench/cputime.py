#!/usr/bin/env python3
"""Runs a command and prints its CPU seconds (user+sys, children included) and peak RSS.

Usage: cputime.py OUTFILE [--show] -- COMMAND...   (writes "cpu_secs max_rss_kb" to OUTFILE;
the command's output is discarded unless --show)
"""
import resource
import subprocess
import sys

out = sys.argv[1]
show = sys.argv[2] == "--show"
cmd = sys.argv[4:] if show else sys.argv[3:]
quiet = {} if show else {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
code = subprocess.call(cmd, **quiet)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    f.write(f"{ru.ru_utime + ru.ru_stime:.3f} {ru.ru_maxrss}\n")
sys.exit(code)
