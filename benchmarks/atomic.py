"""A set of output files replaced together.

Each file of the leaderboard is written atomically, but the set is what a
reader compares: the runs CSV, the aggregated tables, the HTML page and the
plots must come from the same summaries. :func:`file_set` builds the whole
set in a temporary folder next to the output folder and moves it in only
once every file was written, so a failure while building leaves the previous
complete set (and no temporary folder) behind.
"""
import contextlib
import fcntl
import os
import os.path as osp
import shutil
import tempfile
from typing import Iterable, Iterator


@contextlib.contextmanager
def file_set(out_dir: str, stale: Iterable[str] = ()) -> Iterator[str]:
    """Build files in a temporary folder, then move them into ``out_dir``.

    On a clean exit of the ``with`` block every file of the temporary folder
    replaces its namesake in ``out_dir`` (each by ``os.replace``, under an
    exclusive lock of ``out_dir`` so that two writers' sets do not
    interleave), and the names in ``stale`` that the new set does not have
    are removed. On an exception nothing in ``out_dir`` changes. Other
    files of ``out_dir`` are never touched.

    Args:
        out_dir (str): The output folder (created if missing).
        stale (Iterable[str]): File names a previous set may have had.
            Defaults to ().

    Yields:
        str: The temporary folder to write the set into.
    """
    out_dir = osp.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(out_dir)}.tmp_',
                           dir=osp.dirname(out_dir))
    try:
        yield tmp
        names = set(os.listdir(tmp))
        lock = os.open(out_dir, os.O_RDONLY)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for name in sorted(names):
                os.replace(osp.join(tmp, name), osp.join(out_dir, name))
            for name in set(stale) - names:
                path = osp.join(out_dir, name)
                if osp.isfile(path):
                    os.remove(path)
        finally:
            os.close(lock)  # releases the lock
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
