"""Run one command in a child process and measure its wall time and peak memory."""

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


def run(
    argv: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None
) -> Run:
    """Run ``argv`` to completion; its own peak RSS comes from the kernel's rusage for that child.

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
    return Run(" ".join(argv), seconds, usage.ru_maxrss / 1024, output)
