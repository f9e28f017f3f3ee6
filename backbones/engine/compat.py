"""Fixes that make the pinned OpenMMLab stack work on current dependencies.

**torch >= 2.6.**

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``. Since torch 2.6
that argument defaults to ``True`` and the restricted unpickler rejects the
objects MMEngine itself writes into a checkpoint (the message hub's
``HistoryBuffer`` and the numpy arrays and scalars inside it), so resuming a
run fails. Upstream's later fix disables the check, which turns every
checkpoint into arbitrary code execution. Here the check stays on: the local
file loader of :class:`mmengine.runner.CheckpointLoader` is replaced by one
that loads with ``weights_only=True`` and allows exactly the globals listed in
:data:`MMENGINE_SAFE_GLOBALS`. Anything else (for example a ``__reduce__``
that would run a shell command) is refused with
:class:`UnsafeCheckpointError`, which names the file and the global. A file
that ``torch.save`` did not write (text, JSON, empty, a truncated zip) is
refused with :class:`NotACheckpointError`, which names the file and what it
holds instead of torch's ``KeyError`` / ``EOFError`` / miniz messages.

**SciPy >= 1.14** removed ``scipy.interpolate.interp2d``, which mmpretrain
1.2.0 calls (``resize_relative_position_bias_table``, cubic on a regular
grid) whenever a Swin or BEiT checkpoint meets another window size: every
such load fails with ``NotImplementedError``. :class:`RegularGridInterp2d`
restores that call through SciPy's named bug-for-bug replacement,
``RectBivariateSpline`` (the same FITPACK interpolating spline), and refuses
the scattered-data form with a clear message.

Importing :mod:`backbones` applies both fixes (:func:`install`); it is
idempotent.
"""
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Callable, Optional, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader

# What a checkpoint written by MMEngine's CheckpointHook contains besides
# tensors and plain containers: the message hub's HistoryBuffer objects hold
# numpy arrays (ndarray + dtype + the reconstruct helper) and numpy scalars.
# None of them executes code when unpickled: the restricted unpickler only
# calls allow-listed callables, and these build arrays from raw bytes.
MMENGINE_SAFE_GLOBALS = (
    HistoryBuffer,
    np.ndarray,
    np.dtype,
    np.dtypes.Float64DType,
    np.dtypes.Float32DType,
    np.dtypes.Int64DType,
    np.dtypes.Int32DType,
    np.dtypes.BoolDType,
    np._core.multiarray._reconstruct,
    np._core.multiarray.scalar,
)


HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a global outside the allow-list."""


class NotACheckpointError(ValueError):
    """A file given as a checkpoint is not one that ``torch.save`` wrote."""

    def __init__(self, filename: str, found: str) -> None:
        super().__init__(f'{filename} is not a PyTorch checkpoint: {found}')


# How torch's restricted unpickler names the global it refuses: a module on
# its block list (os, posix, subprocess, ...) or any other global.
UNSAFE_GLOBAL = re.compile(
    r'GLOBAL (\S+) (?:whose module \S+ is blocked|was not an allowed global)')
# Unpickler complaints that mean "this is not a pickle stream at all".
NOT_A_PICKLE = ('Unsupported operand', 'String is too long',
                'magic number', 'pickle data was truncated')


def _preview(head: bytes) -> str:
    """What the first bytes of a file look like, for an error message."""
    text = head.decode('utf-8', errors='replace').splitlines()[0][:24]
    if text and text.isprintable() and '\ufffd' not in text:
        return f'starts with "{text}"'
    return f'starts with the bytes {head[:8].hex(" ")}'


def check_checkpoint_file(filename: str) -> None:
    """Refuse a file that cannot be a ``torch.save`` checkpoint.

    Only the first bytes (and a zip archive's directory) are read, so this
    is cheap for a checkpoint of any size.

    Args:
        filename (str): Path of the file.

    Raises:
        FileNotFoundError: The file does not exist.
        NotACheckpointError: Empty, text, a zip archive that is truncated
            or has no ``data.pkl``, or anything else that is neither a zip
            nor a pickle; the message names the file and what it found.
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    with open(filename, 'rb') as f:
        head = f.read(64)
    if not head:
        raise NotACheckpointError(filename, 'empty file')
    if head.startswith(b'\x80'):  # a pickle: torch's legacy format
        return
    if not head.startswith(b'PK\x03\x04'):
        raise NotACheckpointError(filename, _preview(head))
    try:
        with zipfile.ZipFile(filename) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as err:
        raise NotACheckpointError(
            filename, f'zip archive truncated or damaged ({err})') from err
    if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
        raise NotACheckpointError(
            filename, f'a zip archive without data.pkl (it holds '
            f'{names[:3]}{" ..." if len(names) > 3 else ""})')


def history_buffer_getattr(obj: Any, name: str) -> Callable:
    """The one use of ``builtins.getattr`` that MMEngine pickles.

    A HistoryBuffer pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``. Allowing the real ``getattr`` would
    let a file reach any attribute of any allowed object, so the name
    ``builtins.getattr`` is bound to this function, which resolves only
    HistoryBuffer's statistics methods: the built-in ones (registered only
    once a buffer has been created in this process) and any registered by
    ``HistoryBuffer.register_statistics``.
    """
    if obj is HistoryBuffer and (name in HISTORY_BUFFER_STATISTICS or
                                 name in HistoryBuffer._statistics_methods):
        return getattr(obj, name)
    raise UnsafeCheckpointError(
        f'getattr({getattr(obj, "__name__", type(obj).__name__)}, {name!r}) '
        'is not allowed in a checkpoint')


def safe_torch_load(filename: str,
                    map_location: Optional[Union[str, Callable,
                                                 torch.device]] = None) -> Any:
    """Load a checkpoint with ``weights_only=True`` and MMEngine's globals.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | Callable | torch.device, optional): As
            :func:`torch.load`. Defaults to None.

    Returns:
        Any: The unpickled checkpoint (usually a dict).

    Raises:
        FileNotFoundError: The file does not exist.
        NotACheckpointError: The file is not a torch checkpoint, or its data
            is truncated or corrupt (see :func:`check_checkpoint_file`).
        UnsafeCheckpointError: The file needs a global that is not on the
            allow-list; the message names the file and the global.
    """
    filename = osp.expanduser(filename)
    check_checkpoint_file(filename)
    allowed = [*MMENGINE_SAFE_GLOBALS,
               (history_buffer_getattr, 'builtins.getattr')]
    with torch.serialization.safe_globals(allowed):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            reason = _reason(err)
            if any(sign in reason for sign in NOT_A_PICKLE):
                raise NotACheckpointError(
                    filename, f'corrupt pickle data ({reason})') from err
            found = UNSAFE_GLOBAL.search(str(err))
            needs = (f'the global {found.group(1)}, which is not' if found
                     else 'something that is not')
            raise UnsafeCheckpointError(
                f'refused to load checkpoint {filename}: it needs {needs} '
                'on the allow-list of classes MMEngine stores '
                '(backbones.engine.compat.MMENGINE_SAFE_GLOBALS). If you '
                'trust the file, re-save its tensors with '
                'torch.save(state_dict). '
                f'torch said: {reason}') from err
        except EOFError as err:
            raise NotACheckpointError(
                filename, 'data truncated (unexpected end of file)') from err
        except RuntimeError as err:
            signs = ('PytorchStreamReader', 'inline_container', *NOT_A_PICKLE)
            if not any(sign in str(err) for sign in signs):
                raise
            raise NotACheckpointError(
                filename, f'data truncated or corrupt ({_first_line(err)})'
            ) from err


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else 'no message'


def _reason(err: Exception) -> str:
    """The unpickler's own sentence out of torch's long message (the
    wording differs between torch versions and kinds of refusal)."""
    message = str(err)
    for pattern in (r'WeightsUnpickler error:\s*([^\n]*\S[^\n]*)',
                    r'\n\n+((?:Trying|Unsupported|Can only)[^\n]+)'):
        found = re.search(pattern, message)
        if found:
            return found.group(1).strip()
    return _first_line(err)


def _load_from_local(filename: str, map_location=None) -> Any:
    return safe_torch_load(filename, map_location)


class RegularGridInterp2d:
    """``scipy.interpolate.interp2d`` on a regular grid (SciPy < 1.14).

    Args:
        x (array-like): (nx,) increasing column coordinates.
        y (array-like): (ny,) increasing row coordinates.
        z (array-like): (ny, nx) values, ``z[j, i]`` at ``(x[i], y[j])``.
        kind (str): 'linear', 'cubic' or 'quintic' spline. Defaults to
            'linear'.
        copy (bool): Ignored (the spline keeps its own copy). Defaults to
            True.
        bounds_error (bool): Only False, interp2d's default. Defaults to
            False.
        fill_value (float, optional): Only None, interp2d's default (points
            outside the grid take the spline's boundary value, as FITPACK
            evaluates). Defaults to None.

    Raises:
        ValueError: An unknown ``kind``, non-default bounds handling,
            coordinates that do not increase, or ``z`` that is not the
            (ny, nx) regular grid (interp2d's scattered-data form).
    """

    ORDERS = dict(linear=1, cubic=3, quintic=5)

    def __init__(self, x, y, z, kind: str = 'linear', copy: bool = True,
                 bounds_error: bool = False, fill_value=None) -> None:
        from scipy.interpolate import RectBivariateSpline
        if kind not in self.ORDERS:
            raise ValueError(f'interp2d kind must be one of '
                             f'{sorted(self.ORDERS)}, got {kind!r}')
        if bounds_error or fill_value is not None:
            raise ValueError('this interp2d replacement supports only '
                             'bounds_error=False and fill_value=None')
        x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
        z = np.asarray(z, float)
        if z.shape != (y.size, x.size):
            raise ValueError(
                f'interp2d on a regular grid needs z of shape (len(y), '
                f'len(x)) = {(y.size, x.size)}, got {z.shape}; scattered '
                'data is not supported')
        if np.any(np.diff(x) <= 0) or np.any(np.diff(y) <= 0):
            raise ValueError('interp2d grid coordinates must increase')
        k = self.ORDERS[kind]
        self.spline = RectBivariateSpline(x, y, z.T, kx=k, ky=k, s=0)

    def __call__(self, x, y) -> np.ndarray:
        """Values at the grid ``x`` x ``y`` (each sorted first, as interp2d
        did), shape (len(y), len(x))."""
        x = np.sort(np.atleast_1d(np.asarray(x, float)))
        y = np.sort(np.atleast_1d(np.asarray(y, float)))
        return self.spline(x, y).T


def _interp2d_removed() -> bool:
    from scipy import interpolate
    try:
        interpolate.interp2d([0., 1.], [0., 1.], [[0., 0.], [0., 0.]])
    except NotImplementedError:
        return True
    return False


def install() -> None:
    """Make :class:`CheckpointLoader` use :func:`safe_torch_load` locally;
    give SciPy >= 1.14 back ``interp2d`` for regular grids."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_from_local, force=True)
    from scipy import interpolate
    if (interpolate.interp2d is not RegularGridInterp2d
            and _interp2d_removed()):
        interpolate.interp2d = RegularGridInterp2d
