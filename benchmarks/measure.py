"""Run one command in a child process and measure its wall time, CPU time and peak memory."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence

import attrs


@attrs.frozen
class Run:
    """What one command cost."""

    command: str
    seconds: float
    peak_rss_mb: float
    output: str
    #: user + system CPU time of the child: steadier than wall time on a shared machine
    cpu_seconds: float = 0.0


def run(
    argv: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None
) -> Run:
    """Run ``argv`` to completion; its peak RSS and CPU time come from the kernel's rusage for
    that child.

    Raises:
        RuntimeError: the command failed (its output is in the message).
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env or os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}:\n{output[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(" ".join(argv), seconds, usage.ru_maxrss / 1024, output, cpu)
