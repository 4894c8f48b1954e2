"""Checking an uploaded template within limits of size, time, memory and output.

A template is a program: a loop inside a loop, a macro that calls itself, ``'x' * 10**9``
would hang the server or eat its memory while the check renders the sample. So the check
(``validate_html`` / ``validate_docx``, which parse the template and render the sample)
runs in a child Python with its own limits, and is killed when it runs over:

- Not in the server's process: Streamlit runs pages in threads, where ``signal.alarm``
  cannot interrupt and nothing can stop a thread. A cooperative check (counting calls in
  the sandbox) misses loops that call nothing and single C operations (``'x' * 10**9``,
  which Jinja even folds while compiling), and nothing cooperative bounds memory. A
  process can be killed, and rlimits bound its memory and CPU time.
- A fresh interpreter (``python -m docgen.template_limits``), not ``multiprocessing``:
  forking a threaded server is unsafe, and spawn and forkserver re-import the parent's
  ``__main__`` (Streamlit's, pytest's).
- Cost, measured: 0.3-0.36 s to check a built-in template, against 0.01-0.1 s in the
  server's process (the child's start and import of docgen); only uploads pay it,
  generating documents does not.

The child reads the template on stdin and writes its problems to stdout as JSON.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from docgen.errors import Problem
from docgen.templates import TOO_DEEP, TOO_HUNGRY

# Upload sizes: the built-in templates are 10 kB (HTML) and 40 kB (Word); a Word file
# carries its images and fonts.
MAX_TEMPLATE_BYTES = {"html": 1_000_000, "docx": 5_000_000}
KINDS = {"html": "an HTML template", "docx": "a Word template"}
# The sample renders in ~0.1 s; a template that needs 50 times that is broken or hostile.
CHECK_SECONDS = 5
# What one render may produce, in characters (each at least a byte): a real document is a
# few hundred kB of HTML or Word XML.
MAX_OUTPUT_CHARS = 5_000_000
# The child's address space: the interpreter and docgen take ~60 MB of it, the check of a
# built-in template ~20 MB more.
MEMORY_BYTES = 512 << 20
# The parent's hard stop, for what the child's own clock cannot interrupt: a slow start on a
# busy machine, or one long C operation between two Python bytecodes.
KILL_AFTER_SECONDS = CHECK_SECONDS + 10

TOO_SLOW = f"took longer than {CHECK_SECONDS} s to render the sample"

_ROOT = Path(__file__).resolve().parent.parent


def check_template(body: bytes, fmt: str, purpose: str) -> list[Problem]:
    """Why ``body`` cannot serve as a template of format ``fmt`` for ``purpose``; [] when it
    can. The size is checked here, the rest in a child process within the limits above."""
    if fmt not in MAX_TEMPLATE_BYTES:
        return [Problem(None, f"unknown format {fmt!r}; use html or docx")]
    limit = MAX_TEMPLATE_BYTES[fmt]
    if len(body) > limit:
        return [
            Problem(None, f"the file is larger than {limit / 1e6:g} MB, the most for {KINDS[fmt]}")
        ]
    if fmt == "html":
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return [Problem(None, "the file is not UTF-8 text")]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "docgen.template_limits", fmt, purpose],
            input=body,
            capture_output=True,
            timeout=KILL_AFTER_SECONDS,
            cwd=_ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired:  # run() has killed it
        return [Problem(None, TOO_SLOW)]
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return [Problem(None, TOO_SLOW)]
    try:
        return [Problem(line, message) for line, message in json.loads(done.stdout)]
    except ValueError:
        return [Problem(None, f"could not be checked (the check stopped with {done.returncode})")]


class _OutOfTime(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` of the render
    swallows it and moves on to the next purpose."""


def _out_of_time(signum: int, frame: FrameType | None) -> None:
    raise _OutOfTime


def _limit_self() -> None:
    """Bound this process: memory, CPU time (killed by SIGXCPU past it), no core file."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(used.ru_utime + used.ru_stime) + CHECK_SECONDS + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.setitimer(signal.ITIMER_REAL, CHECK_SECONDS)


def _check(body: bytes, fmt: str, purpose: str) -> list[Problem]:
    from docgen.templates import DocumentEnvironment, validate_html
    from docgen.word import validate_docx

    DocumentEnvironment.output_limit = MAX_OUTPUT_CHARS
    _limit_self()
    try:
        if fmt == "html":
            return validate_html(body.decode("utf-8"), purpose)
        return validate_docx(body, purpose)
    except _OutOfTime:
        return [Problem(None, TOO_SLOW)]
    except MemoryError:
        return [Problem(None, TOO_HUNGRY)]
    except RecursionError:
        return [Problem(None, TOO_DEEP)]
    except Exception as exc:  # the promise is problems, never a crash
        return [Problem(None, f"could not be checked ({type(exc).__name__}: {exc})")]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _main() -> None:
    fmt, purpose = sys.argv[1:3]
    answer, sys.stdout = sys.stdout, sys.stderr  # nothing the check prints garbles the answer
    problems = _check(sys.stdin.buffer.read(), fmt, purpose)
    json.dump([[problem.line, problem.message] for problem in problems], answer)


if __name__ == "__main__":
    _main()
