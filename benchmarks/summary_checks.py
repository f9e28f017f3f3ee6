"""Typed reading of one pipeline summary for the leaderboard.

A summary is written by our hooks, but it is a JSON file on disk that a
person, an older version or a broken run may have changed: a metric may be
the string ``"45.0"``, an AP above 100, ``NaN``, a section a list.
:class:`SummaryValues` reads each value with its expected type and range;
a wrong one is reported with the file and the key path and dropped (read as
absent), so one bad value neither breaks the tables nor turns into a
300-character "number". A summary whose identity (method, backbone,
schedule, seed, smoke) is unusable raises :class:`UnusableSummary` and is
skipped as a whole.

A stage that finished but recorded no metrics (its run summary's
``metrics_missing``, or ``finished: true`` with empty ``metrics``) is told
apart from a stage that did not run by :func:`stage_metrics_missing`.
"""
import math
import sys
from typing import Any, Callable, List, Optional

# (key, type) of the fields that make a run a row of its setting
IDENTITY = (('method', str), ('backbone', str), ('schedule', str),
            ('seed', int))


class UnusableSummary(ValueError):
    """A summary whose identity is missing or of the wrong type."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + '...'


def stage_metrics_missing(stage: Any) -> Optional[List[str]]:
    """The metrics a stage's run summary says it finished without.

    Args:
        stage: A stage entry of a pipeline summary (its run summary).

    Returns:
        list[str] | None: The names in its ``metrics_missing`` (an empty
        list when the stage finished with empty ``metrics`` and names
        none); None when the stage has its metrics, did not finish, or is
        not a run summary.
    """
    if not isinstance(stage, dict):
        return None
    named = stage.get('metrics_missing')
    if named:
        return ([str(n) for n in named] if isinstance(named, list) else
                [str(named)])
    if stage.get('finished') is True and not stage.get('metrics'):
        return []
    return None


class SummaryValues:
    """Checked access to the values of one pipeline summary.

    Args:
        path (str): The summary file, named in every warning.
        warn (Callable): Called as ``warn(message, file=sys.stderr)`` for
            every dropped value (``print`` by default in the CLI).
    """

    def __init__(self, path: str, warn: Callable[..., Any]) -> None:
        self.path = path
        self.warn = warn

    def drop(self, where: str, value: Any, problem: str) -> None:
        """Report a value that is not used."""
        self.warn(f'mimb-leaderboard: warning: {self.path}: {where} = '
                  f'{_short(value)} {problem}; value dropped',
                  file=sys.stderr)

    def identity(self, summary: dict) -> dict:
        """Method, backbone, schedule, seed and smoke of the run.

        Raises:
            UnusableSummary: One of them is absent or of the wrong type.
        """
        out = {}
        for key, kind in IDENTITY:
            value = summary.get(key)
            if (not isinstance(value, kind) or isinstance(value, bool)
                    or value == ''):
                raise UnusableSummary(
                    f'{key} = {_short(value)}, expected a non-empty '
                    f'{kind.__name__}')
            out[key] = value
        smoke = summary.get('smoke', False)
        if not isinstance(smoke, bool):
            raise UnusableSummary(f'smoke = {_short(smoke)}, expected true '
                                  'or false')
        out['smoke'] = smoke
        return out

    def section(self, parent: dict, key: str, where: str) -> dict:
        """``parent[key]`` when it is a JSON object, else ``{}``."""
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.drop(where, value, 'is not a JSON object')
            return {}
        return value

    def number(self, parent: dict, key: str, where: str, low: float = 0.0,
               high: float = math.inf) -> Optional[float]:
        """``parent[key]`` when it is a finite number in ``low..high``."""
        value = parent.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.drop(where, value,
                      f'is a {type(value).__name__}, expected a number')
            return None
        if not math.isfinite(value) or not low <= value <= high:
            self.drop(where, value, f'is outside {low:g}..{high:g}')
            return None
        return value

    def text(self, parent: dict, key: str, where: str) -> Optional[str]:
        """``parent[key]`` when it is a string."""
        value = parent.get(key)
        if value is None or isinstance(value, str):
            return value
        self.drop(where, value, f'is a {type(value).__name__}, expected a '
                  'string')
        return None

    def loss_curve(self, parent: dict, key: str, where: str) -> list:
        """``parent[key]`` when it is a list of ``[epoch, finite loss]``."""
        curve = parent.get(key) or []
        good = isinstance(curve, list) and all(
            isinstance(p, list) and len(p) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v) for v in p) for p in curve)
        if not good:
            self.drop(where, curve, 'is not a list of [epoch, loss] pairs')
            return []
        return curve
