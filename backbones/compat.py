"""Fixes that make the pinned OpenMMLab stack work on torch >= 2.6.

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
:class:`UnsafeCheckpointError`, which names the file and the global.

Importing :mod:`backbones` applies the fix (:func:`install`); it is
idempotent.
"""
import os.path as osp
import pickle
import re
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
        UnsafeCheckpointError: The file needs a global that is not on the
            allow-list; the message names the file and the global.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    allowed = [*MMENGINE_SAFE_GLOBALS,
               (history_buffer_getattr, 'builtins.getattr')]
    with torch.serialization.safe_globals(allowed):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            raise UnsafeCheckpointError(
                f'refused to load checkpoint {filename}: it needs a global '
                'that is not on the allow-list of classes MMEngine stores '
                '(backbones.compat.MMENGINE_SAFE_GLOBALS). If you trust the '
                'file, re-save its tensors with torch.save(state_dict). '
                f'torch said: {_reason(err)}') from err


def _reason(err: Exception) -> str:
    """The unpickler's own sentence out of torch's long message."""
    found = re.search(r'WeightsUnpickler error:\s*([^\n]+)', str(err))
    return found.group(1) if found else str(err).splitlines()[0]


def _load_from_local(filename: str, map_location=None) -> Any:
    return safe_torch_load(filename, map_location)


def install() -> None:
    """Make :class:`CheckpointLoader` use :func:`safe_torch_load` locally."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_from_local, force=True)
