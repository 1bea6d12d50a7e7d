"""The multi-worker cluster of `--strategy=multi_worker`: TF_CONFIG and the start-up wait.

`parse_tf_config` checks `TF_CONFIG` before TensorFlow starts (one-line errors);
`start_multi_worker` waits, in plain Python, until every other chief/worker answers on
its address (at most `SAGAN_STARTUP_TIMEOUT` seconds, 300 when unset), honouring SIGTERM
and Ctrl-C, then creates `MultiWorkerMirroredStrategy`. See `start_multi_worker` for why
the wait cannot happen inside TensorFlow's constructor.
"""

import contextlib
import faulthandler
import json
import os
import signal
import socket
import sys
import threading
import time

import tensorflow as tf
from absl import logging

STARTUP_TIMEOUT_VARIABLE = "SAGAN_STARTUP_TIMEOUT"
DEFAULT_STARTUP_TIMEOUT = 300.0
_PROBE_EVERY = 0.5  # seconds between rounds of TCP connects to the other workers
_PROBE_TIMEOUT = 1.0  # seconds one TCP connect may take
_COORDINATED_JOBS = ("chief", "worker")  # the jobs MultiWorkerMirroredStrategy joins
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ClusterStartupError(ValueError):
    """Some workers of the cluster did not start within the start-up timeout.

    A ValueError, so that sagan-train reports it in one line like other settings that
    cannot work.
    """


class StartupInterrupted(SystemExit):
    """SIGTERM or SIGINT arrived while waiting for the other workers to start.

    Uncaught, it ends the program with status 128 + the signal number (143 for
    SIGTERM, 130 for Ctrl-C) and no traceback.
    """

    def __init__(self, signum):
        super().__init__(128 + signum)
        self.signum = signum


def start_multi_worker(cluster, task_type, task_id, startup_timeout):
    """`MultiWorkerMirroredStrategy` over the cluster of `parse_tf_config(TF_CONFIG)`
    (`cluster, task_type, task_id`; the strategy reads TF_CONFIG too), once every
    other chief and worker of it has started.

    TensorFlow's constructor blocks until every worker has joined, inside one C++ call
    that holds Python's global lock: a worker that never starts would hang it
    forever, and no Python code (no signal handler, no other thread) runs meanwhile;
    TensorFlow even replaces the SIGTERM handler with one that only logs. So this
    first waits in plain Python:

    1. This worker listens on its own TF_CONFIG port (where TensorFlow's server will
       listen), so that the others see that it has started, and connects to every
       other chief/worker address of the cluster every `_PROBE_EVERY` seconds until
       each has answered once (a worker waiting here answers, and so does one already
       in TensorFlow). A port that another process holds is a ValueError.
    2. SIGTERM and SIGINT (Ctrl-C) during this wait raise `StartupInterrupted`: the
       program ends with status 128 + the signal number after a one-line warning.
    3. After `startup_timeout` seconds, a `ClusterStartupError` (a ValueError) names
       the workers that never answered. TensorFlow's runtime has not started, so the
       program then exits normally.
    4. Then this worker closes its listener and creates the strategy. Every other
       worker has started, so that takes seconds. Should it still not return within
       `startup_timeout` seconds (a worker died just then, or one answers at its
       address but runs with another TF_CONFIG cluster), `faulthandler` ends the
       process with status 1 after writing where each thread was: nothing else can
       run. A SIGTERM during this step is caught by TensorFlow; afterwards the SIGTERM
       and SIGINT handlers of before step 1 are back.

    Signals are only handled when called from the main thread (Python's rule).
    """
    me = f"{task_type} {task_id}"
    others = {(job, index): address for job in _COORDINATED_JOBS
              for index, address in sorted(cluster.get(job, {}).items())
              if (job, index) != (task_type, task_id)}
    main_thread = threading.current_thread() is threading.main_thread()
    previous = {s: signal.getsignal(s) for s in _SIGNALS} if main_thread else {}
    if others:
        with contextlib.ExitStack() as stack:
            if main_thread:
                stack.enter_context(_signals_interrupt(me))
            listener = stack.enter_context(_listening(cluster[task_type][task_id], me))
            _wait_for(others, startup_timeout, me, listener)
        logging.info("All %d tasks of the cluster have started: joining them (should "
                     "that take over %g s, this process ends with status 1).",
                     len(others) + 1, startup_timeout)
    faulthandler.dump_traceback_later(startup_timeout, exit=True, file=_stderr_fd())
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=tf.distribute.cluster_resolver.TFConfigClusterResolver())
    finally:
        faulthandler.cancel_dump_traceback_later()
        for signum, handler in previous.items():
            if handler is not None:  # None: not installed from Python, cannot restore
                signal.signal(signum, handler)  # replaces TensorFlow's (it only logs)
    return strategy


def _stderr_fd():
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an in-memory stream
        return 2


@contextlib.contextmanager
def _signals_interrupt(me):
    """SIGTERM and SIGINT raise `StartupInterrupted` inside the block."""

    def interrupt(signum, frame):
        del frame
        logging.warning("Received %s while %s waited for the other workers to start: "
                        "exiting (nothing was trained).", signal.Signals(signum).name, me)
        raise StartupInterrupted(signum)

    previous = {s: signal.signal(s, interrupt) for s in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _listening(address, me):
    """Listens on all interfaces at `address`'s port, as TensorFlow's server will."""
    host, port = address
    try:
        if socket.has_dualstack_ipv6():
            listener = socket.create_server(("", port), family=socket.AF_INET6,
                                            dualstack_ipv6=True, backlog=128)
        else:
            listener = socket.create_server(("", port), backlog=128)
    except OSError as e:
        raise ValueError(
            f"This process is {me} of TF_CONFIG's cluster, at {host}:{port}, but port "
            f"{port} is taken ({os.strerror(e.errno) if e.errno else e}): stop the "
            "process that uses it (an earlier run?), or give this worker another port "
            "in every worker's TF_CONFIG.") from None
    listener.setblocking(False)
    try:
        yield listener
    finally:
        listener.close()  # TensorFlow's server listens there next


def _drain(listener):
    """Accepts and closes the other workers' probes, so that the backlog stays free."""
    while True:
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # e.g. a probe that reset before it was accepted
            continue
        connection.close()


def _wait_for(others, startup_timeout, me, listener):
    """Returns once each of `others` ({(job, index): (host, port)}) has answered a TCP
    connect; raises `ClusterStartupError` after `startup_timeout` seconds."""
    deadline = time.monotonic() + startup_timeout
    waiting = dict(others)
    said = False
    while True:
        for task, (host, port) in list(waiting.items()):
            if _answers(host, port):
                del waiting[task]
        _drain(listener)
        if not waiting:
            return
        if time.monotonic() >= deadline:
            raise ClusterStartupError(startup_error(waiting, startup_timeout, me))
        if not said:
            logging.info("%s waits up to %g s for %s to start (%s).", me, startup_timeout,
                         _names(waiting), STARTUP_TIMEOUT_VARIABLE)
            said = True
        time.sleep(_PROBE_EVERY)


def _answers(host, port):
    """Whether something listens at host:port (a started worker does)."""
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT):
            return True
    except OSError:  # refused, unreachable, timed out, or a name that does not resolve
        return False


def _names(tasks):
    """E.g. "worker 1 (10.0.0.2:2222) and worker 2 (10.0.0.3:2222)"."""
    names = [f"{job} {index} ({host}:{port})"
             for (job, index), (host, port) in tasks.items()]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def startup_error(missing, startup_timeout, me):
    """The message naming the tasks ({(job, index): (host, port)}) that did not start."""
    listed = _names(missing)
    fix = " or ".join(json.dumps({"type": job, "index": index}) for job, index in missing)
    return (f"{listed[0].upper()}{listed[1:]} did not start within {startup_timeout:g} s: "
            f'start sagan-train with the same flags there (TF_CONFIG "task": {fix}), or '
            f"check TF_CONFIG's cluster. This is {me}; {STARTUP_TIMEOUT_VARIABLE} sets "
            "how long it waits.")


def startup_timeout_from_env(environ=None):
    """The seconds `SAGAN_STARTUP_TIMEOUT` asks for (300 when unset or empty)."""
    environ = os.environ if environ is None else environ
    text = environ.get(STARTUP_TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_STARTUP_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise ValueError(
            f"{STARTUP_TIMEOUT_VARIABLE}={text!r} is not a positive number of seconds: "
            "set it to how long a worker waits for the others to start, e.g. "
            f"{STARTUP_TIMEOUT_VARIABLE}=600, or unset it for "
            f"{DEFAULT_STARTUP_TIMEOUT:g} s.")
    return seconds


_TF_CONFIG_EXAMPLE = ('e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:port", '
                      '"host2:port"]}, "task": {"type": "worker", "index": 0}}\' '
                      "(index 1 on the second host)")


def parse_tf_config(text):
    """Checks TF_CONFIG's text: returns (cluster, task_type, task_index).

    `cluster` maps each job name to {task index: (host, port)}. Raises a one-line
    ValueError naming TF_CONFIG and the problem when it is unset, not a JSON object,
    has no cluster or task, an address that is not host:port, or a task that is not
    a chief or worker of the cluster.
    """
    if not text or not text.strip():
        raise ValueError(
            "--strategy=multi_worker reads the cluster from the TF_CONFIG environment "
            f"variable, which is not set. Set it on every worker, {_TF_CONFIG_EXAMPLE}.")

    def bad(problem):
        return ValueError(f"TF_CONFIG {problem}. It must describe the cluster and this "
                          f"process's task, {_TF_CONFIG_EXAMPLE}.")

    try:
        tf_config = json.loads(text)
    except ValueError as e:
        raise bad(f"is not JSON ({e})") from None
    if not isinstance(tf_config, dict):
        raise bad(f"is a JSON {type(tf_config).__name__}, not an object")
    raw_cluster = tf_config.get("cluster")
    if not isinstance(raw_cluster, dict) or not raw_cluster:
        raise bad('has no "cluster" (an object of job name: list of "host:port")')
    cluster = {}
    for job, addresses in raw_cluster.items():
        if isinstance(addresses, list):
            addresses = dict(enumerate(addresses))
        elif isinstance(addresses, dict):  # {index: address}, as ClusterSpec allows
            try:
                addresses = {int(i): a for i, a in addresses.items()}
            except ValueError:
                raise bad(f'cluster job "{job}" has task indices that are not '
                          f"numbers: {sorted(addresses)}") from None
        else:
            raise bad(f'cluster job "{job}" is not a list of "host:port" addresses')
        if not addresses:
            raise bad(f'cluster job "{job}" has no addresses')
        cluster[job] = {i: _host_port(job, i, a, bad) for i, a in addresses.items()}
    task = tf_config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise bad('has no "task" with a "type" and an "index" (this process\'s place '
                  "in the cluster)")
    task_type, index = task["type"], task["index"]
    if task_type not in _COORDINATED_JOBS:
        raise bad(f'task type {task_type!r} is not "worker" or "chief", the tasks of '
                  "--strategy=multi_worker")
    if task_type not in cluster:
        raise bad(f'task type "{task_type}" is not a job of the cluster '
                  f"({', '.join(sorted(cluster))})")
    if isinstance(index, str) and index.strip().isdigit():
        index = int(index)
    if not isinstance(index, int) or isinstance(index, bool):
        raise bad(f"task index {index!r} is not a whole number")
    if index not in cluster[task_type]:
        raise bad(f"task index {index} is out of range: the cluster lists "
                  f'{len(cluster[task_type])} "{task_type}" task(s), with indices '
                  f"{', '.join(str(i) for i in sorted(cluster[task_type]))}")
    return cluster, task_type, index


def _host_port(job, index, address, bad):
    where = f"cluster {job} {index} address {address!r}"
    if not isinstance(address, str):
        raise bad(f'{where} is not a "host:port" string')
    host, sep, port = address.strip().rpartition(":")
    host = host.strip("[]")  # [::1]:port
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise bad(f'{where} is not "host:port"')
    return host, int(port)
