"""Server and worker processes of the tests and the benchmarks: a free port, a process
started with its output in a log file, waiting for it to answer, and stopping it."""
import http.client
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit


def free_port() -> int:
    """A loopback port nothing listens on (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command, env: dict, log_path: Path, cwd=None, **popen) -> subprocess.Popen:
    """``command`` in a process of its own, its output (stdout and stderr) in ``log_path``:
    a file, not a pipe nobody reads (it would fill up and block the process). ``popen``:
    more of ``subprocess.Popen``'s arguments."""
    with open(log_path, "w") as log:  # the child holds its own copy
        process = subprocess.Popen([str(part) for part in command], env=env, cwd=cwd,
                                   stdout=log, stderr=subprocess.STDOUT, **popen)
    process.log_path = Path(log_path)  # what wait_for_url shows when the process dies
    return process


def log_of(process: subprocess.Popen) -> str:
    """What a process ``start`` started has written so far."""
    return process.log_path.read_text(encoding="utf-8", errors="replace")


def wait_for_url(url: str, seconds: float, process: subprocess.Popen | None = None) -> int:
    """Wait until ``url`` answers a GET (any HTTP status: the server is up) and return its
    status. Fails at once, with its log, when ``process`` (started by ``start``) exits
    first; raises ``TimeoutError`` after ``seconds``."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    deadline = time.monotonic() + seconds
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited ({process.returncode}) before "
                               f"{url} answered; its log:\n{log_of(process)}")
        # A slow first answer (a server still warming up) is waited for, up to the deadline.
        connection = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=max(1.0, min(10.0, deadline - time.monotonic())))
        try:
            connection.request("GET", path)
            return connection.getresponse().status
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {seconds} s") from None
            time.sleep(0.2)
        finally:
            connection.close()


def stop(process: subprocess.Popen, timeout: float = 30, sig: int = signal.SIGINT) -> int:
    """Ask ``process`` to stop (``sig``: Ctrl-C by default, SIGTERM for gunicorn and huey's
    quick stop), kill it when it has not exited within ``timeout`` seconds; its exit code
    (``-signal.SIGKILL`` when it had to be killed)."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
