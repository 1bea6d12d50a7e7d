"""Whether the process a lock file names still runs on this host.

A pid alone is not enough: after the holder died, the pid may be reused by an unrelated
process. Where the system tells a process's start time (Linux: /proc/<pid>/stat, field
22, in clock ticks since boot), it is recorded beside the pid, and a pid that now runs
with another start time is another process: the lock is stale.
"""

import os
import socket


def start_time(pid):
    """The start time of process `pid` (an opaque integer), or None where unknown."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except (OSError, ValueError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def is_dead_here(host, pid, started=None):
    """Whether `pid` on `host` is known not to run any more: `host` is this host and
    no process `pid` runs, or one runs with another start time than `started` (a
    reused pid). False when it runs, or when that cannot be known (another host)."""
    if host != socket.gethostname() or isinstance(pid, bool) or not isinstance(pid, int):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # runs, as another user
        pass
    now = start_time(pid)
    return started is not None and now is not None and now != started
