"""Atomic file writes: a reader never sees a half-written file."""
import json
import os
import os.path as osp
import tempfile


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file + ``os.replace``.

    Concurrent writers each replace the file whole; an interrupted write
    leaves the previous version (and no temporary file) behind.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp_', dir=folder)
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_json(path: str, payload: dict) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    atomic_write_text(
        path, json.dumps(payload, indent=2, sort_keys=True, default=str))
