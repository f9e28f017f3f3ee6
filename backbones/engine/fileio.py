"""Atomic file writes: a reader never sees a half-written file."""
import json
import os
import os.path as osp
import tempfile


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a unique temporary file and
    ``os.replace``.

    Concurrent writers each replace the file whole; an interrupted write
    leaves the previous version (and no temporary file) behind.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp_', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path: str, text: str) -> None:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    atomic_write_bytes(path, text.encode('utf-8'))


def atomic_write_json(path: str, payload: dict) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    atomic_write_text(
        path, json.dumps(payload, indent=2, sort_keys=True, default=str))
