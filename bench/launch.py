"""Runs a command and prints its wall time, peak RSS (KiB), exit code and CPU time (user + system, s).

A child's peak RSS counts the memory it had between fork and exec, so it is measured from this
small launcher rather than from the benchmark, whose SMTP server makes it large.
"""

import os
import sys
import time

started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(
    time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime
)
