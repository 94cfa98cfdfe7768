"""Atomic writes: a killed process (even kill -9) never leaves half a file, nor half of a set of files.

``atomic_write`` writes one file through a temp file in the same folder and a rename.
``write_together`` writes several files of one directory (a checkpoint's weights, training state and
config) so that readers see all old or all new: the new set is written complete into a staging folder,
which one rename marks ready; moving its files into place is the commit, and ``finish_interrupted``
(run by every checkpoint reader and before every write) completes a commit that a kill cut short.
Files get the user's normal permissions (0666 less the umask), as ``open()`` gives them, whatever the
writer did (``tempfile.mkstemp`` and safetensors both leave 0600: readable by the owner only).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Mapping

Writer = Callable[[str], object]
READY = ".commit"          # a complete new set of files, being moved into place
STAGING = ".incoming-"     # a set being written; one left over is a write that a kill cut short
ORDER = ".order"           # in READY: the names to move, in order


def umask() -> int:
    """The process's umask, read without changing it where Linux tells it (os.umask can only swap it,
    which would briefly give another thread's new files the wrong mode)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def normal_permissions(path: str | Path) -> None:
    """Give ``path`` the mode a plain ``open(path, "w")`` would have: 0666 less the umask."""
    os.chmod(path, 0o666 & ~umask())


def atomic_write(path: str | Path, write: Writer) -> Path:
    """Call ``write(tmp_path)`` and rename the result over ``path``; parents are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix or ".tmp")
    os.close(fd)
    try:
        write(tmp)
        normal_permissions(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_together(directory: str | Path, writers: Mapping[str, Writer]) -> Path:
    """Write the files ``{name: write(path)}`` into ``directory`` as one set; they land in the given order.

    A kill before the staging folder is marked ready leaves the previous set untouched; a kill after
    that leaves a complete new set, which the next reader or writer moves into place. Either way no
    reader pairs files of two sets. One writer per directory (the engine's main process).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    finish_interrupted(directory)
    for stale in directory.glob(f"{STAGING}*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = directory / f"{STAGING}{secrets.token_hex(6)}"
    staging.mkdir()
    try:
        for name, write in writers.items():
            write(str(staging / name))
            normal_permissions(staging / name)
        (staging / ORDER).write_text("\n".join(writers) + "\n")
        os.rename(staging, directory / READY)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finish_interrupted(directory)
    return directory


def finish_interrupted(directory: str | Path) -> None:
    """Move a ready set (a commit that a kill interrupted) into place in its order; a no-op when there is none.

    Safe when several processes run it at once: a file another one already moved is skipped.
    """
    ready = Path(directory) / READY
    try:
        names = (ready / ORDER).read_text().split("\n")
    except FileNotFoundError:
        return
    for name in filter(None, names):
        try:
            os.replace(ready / name, Path(directory) / name)
        except FileNotFoundError:
            pass
    (ready / ORDER).unlink(missing_ok=True)
    try:
        ready.rmdir()
    except FileNotFoundError:
        pass
