"""Errors where a user looks: one line from a ``mimb-*`` command, the real
exception out of a failed stage's output.

Every console script wraps its ``main`` in :func:`cli_main`: an expected
failure (a missing or malformed file, a bad key or value, a refused
checkpoint) prints ``<prog>: error: <message>`` on stderr and exits 1 (2
for ``mimb-data`` and ``mimb-leaderboard``, as before), never a traceback;
``MIMB_TRACEBACK=1`` re-raises for debugging.

A ``mim train`` / ``mim test`` stage that fails prints the tool's own
traceback and then the wrappers around it (torchrun's ``ChildFailedError``
under ``--launcher pytorch``, mim's ``CalledProcessError``);
:func:`exception_lines` picks the former out of the output.
"""
import functools
import os
import pickle
import re
import sys
from typing import Callable, List, Optional, Sequence

# Failures of the user's input, not of our code: bad or missing files
# (OSError, NotACheckpointError and JSON errors are ValueErrors, refused
# checkpoints UnpicklingErrors), bad keys, bad values, a config file that is
# not Python.
EXPECTED_ERRORS = (OSError, ValueError, KeyError, pickle.UnpicklingError,
                   SyntaxError)
MIM_WRAPPER = 'subprocess.CalledProcessError'
# exceptions that only report a failed child: mim's, and torchrun's (under
# --launcher pytorch) after the ranks' own tracebacks
WRAPPERS = (MIM_WRAPPER, 'torch.distributed.elastic.multiprocessing.errors.'
            'ChildFailedError')
EXCEPTION_LINE = re.compile(r'^([A-Za-z_][\w.]*(Error|Exception)|Killed)\b')
TRACEBACK = 'Traceback (most recent call last):'


def error_message(err: BaseException) -> str:
    """The message of an exception (a ``KeyError``'s without the quotes
    ``str`` adds; the type's name when it has none)."""
    if isinstance(err, KeyError) and len(err.args) == 1:
        return str(err.args[0])
    return str(err).rstrip() or type(err).__name__


class ConfigFileError(ValueError):
    """A config file that does not parse or fails while it is executed."""


def read_config(path: str):
    """``mmengine.config.Config.fromfile`` with the file named in any error.

    Args:
        path (str): The config file.

    Returns:
        mmengine.config.Config: The parsed config.

    Raises:
        FileNotFoundError: The file does not exist.
        ConfigFileError: Anything else went wrong while reading it (a
            config is Python: a syntax error, a bad ``_base_``, ...).
    """
    from mmengine.config import Config
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config {path} does not exist')
    try:
        return Config.fromfile(path)
    except Exception as err:  # any failure of the file's own code
        raise ConfigFileError(
            f'cannot read config {path}: {type(err).__name__}: '
            f'{error_message(err)}') from err


def cli_main(prog: str, *errors: type, code: int = 1) -> Callable:
    """Decorate a console script's ``main(argv)`` so that expected failures
    end in one line and an exit code instead of a traceback.

    Args:
        prog (str): The command's name, e.g. ``'mimb-convert'``.
        *errors (type): Exception types of the command's own that are
            expected too (besides :data:`EXPECTED_ERRORS`).
        code (int): Exit code of an expected failure. Defaults to 1.

    Returns:
        Callable: The decorator.
    """
    expected = EXPECTED_ERRORS + errors

    def decorate(main: Callable) -> Callable:

        @functools.wraps(main)
        def run(argv: Optional[Sequence[str]] = None) -> int:
            try:
                return main(argv)
            except expected as err:
                if os.environ.get('MIMB_TRACEBACK'):
                    raise
                print(f'{prog}: error: {error_message(err)}',
                      file=sys.stderr)
                return code

        return run

    return decorate


def exception_lines(lines: Sequence[str], most: int = 8) -> List[str]:
    """The end of the last traceback in a tool's output that is not a
    wrapper around the failed tool (mim's, torchrun's): its last frame and
    the exception.

    Args:
        lines (Sequence[str]): The output, one line each.
        most (int): At most this many lines. Defaults to 8.

    Returns:
        list[str]: From the last ``File ...`` line of that traceback to its
        exception line; the last exception line alone when no traceback is
        found; empty when neither.
    """
    lines = [line.rstrip('\n') for line in lines]
    starts = [i for i, line in enumerate(lines) if line.strip() == TRACEBACK]
    for start in reversed(starts):
        end = next((i for i in range(start + 1, len(lines))
                    if EXCEPTION_LINE.match(lines[i])), None)
        if end is None or lines[end].startswith(WRAPPERS):
            continue
        frame = max((i for i in range(start, end)
                     if lines[i].lstrip().startswith('File ')),
                    default=end)
        return lines[frame:end + 1][-most:]
    found = [line for line in lines if EXCEPTION_LINE.match(line)
             and not line.startswith(WRAPPERS)]
    return found[-1:]
