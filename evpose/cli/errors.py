"""Expected user errors print one line, not a traceback.

A missing or refused file, a bad setting, a folder without a dataset: the entry points
print ``evpose-<command>: error: <message>`` on stderr and exit with status 2. Any other
exception is a bug and keeps its traceback. ``HYDRA_FULL_ERROR=1`` shows the full
traceback of user errors too.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Callable

from hydra.errors import InstantiationException
from omegaconf.errors import MissingMandatoryValue

from ..errors import EvposeInputError

#: Exceptions that describe bad input (their message names the file or the setting).
USER_ERRORS = (EvposeInputError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError,
               MissingMandatoryValue)
#: Exit status of a user error (as argparse's).
EXIT_USER_ERROR = 2


def user_error_message(exc: BaseException) -> str | None:
    """The one-line message of a user error, or None when ``exc`` is not one.

    Looks through Hydra's InstantiationException (an error raised while building an
    object from config) and through exceptions re-raised from DataLoader workers.
    """
    seen = set()
    while isinstance(exc, InstantiationException) and exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__
    if not isinstance(exc, USER_ERRORS):
        return None
    if isinstance(exc, MissingMandatoryValue):
        key = getattr(exc, "full_key", None) or ""
        return f"{key} is required; set it on the command line, e.g. {key}=..." if key else str(exc).splitlines()[0]
    text = str(exc).strip()
    if text.startswith("Caught ") and "Original Traceback" in text:  # from a DataLoader worker
        last = [line for line in text.splitlines() if line.strip()][-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    if isinstance(exc, OSError) and exc.filename is not None and not text.startswith(str(exc.filename)):
        text = f"{exc.filename}: {exc.strerror or text}"
    return " ".join(text.split()) or type(exc).__name__


def one_line_errors(command: str) -> Callable:
    """Decorate an entry point so that user errors end it with one line and status 2.

    Args:
        command: the command's name in the message, e.g. ``"evpose-eval"``.
    """

    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as e:
                message = user_error_message(e)
                if message is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
                    raise
                print(f"{command}: error: {message}", file=sys.stderr, flush=True)
                sys.exit(EXIT_USER_ERROR)

        return run

    return wrap
