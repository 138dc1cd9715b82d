"""Writing results without ever losing a file.

Every output path is checked before any work: it must not be an input or another output
(compared by device and inode after symlinks, so `./k.s`, a symlink and a hard link are
caught), must not be a directory, and its directory must accept a new file. Files are
written atomically (a temporary file in the same directory, then a rename), so a crash or
a full disk never leaves half a kernel; a failure while writing keeps the text in a
temporary file whose name the error gives.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from scheduler.core.errors import SchedulerError


class OutputError(SchedulerError):
    """An output path that cannot or must not be written (exit 2)."""


def _identity(path: Path) -> tuple[int, int] | str:
    """(device, inode) of an existing file (symlinks followed), else its absolute resolved path."""
    try:
        st = path.stat()
        return (st.st_dev, st.st_ino)
    except OSError:
        return str(path.resolve())


def check_paths(inputs: dict[str, Path], outputs: dict[str, Path], in_place: str | None = None,
                in_place_hint: bool = True) -> None:
    """`inputs`/`outputs`: {option that named it: path}. Raises OutputError when an output is
    an input (except the option `in_place`, which may name it) or two outputs are one file,
    or an output cannot be written."""
    seen: dict[tuple[int, int] | str, str] = {}
    for opt, path in inputs.items():
        seen.setdefault(_identity(path), opt)
    taken: dict[tuple[int, int] | str, str] = {}
    for opt, path in outputs.items():
        ident = _identity(path)
        if ident in seen and opt != in_place:
            hint = " (use --in-place to replace the input, which keeps a backup FILE.orig)" if in_place_hint else ""
            raise OutputError(f"{path}: {opt} names the input file {inputs[seen[ident]]} "
                              f"({seen[ident]}); refusing to overwrite it{hint}")
        if ident in taken:
            raise OutputError(f"{path}: {opt} and {taken[ident]} name the same file")
        taken[ident] = opt
        check_writable(path, opt)


def check_writable(path: Path, opt: str = "output") -> None:
    """Fail now, not after the solve, when `path` cannot be written."""
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise OutputError(f"{path}: cannot write ({opt}): {e.strerror}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: cannot write ({opt}): it is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        _probe_device(path, st, opt)
        return
    parent = path.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".scheduler-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"{path}: cannot write ({opt}): {e.strerror or e}") from None
    if st is not None and not os.access(path, os.W_OK):
        raise OutputError(f"{path}: cannot write ({opt}): permission denied")


def _probe_device(path: Path, st: os.stat_result, opt: str) -> None:
    """A device or pipe is written directly. The memory devices (/dev/null, /dev/full) take a
    one-byte probe, so that /dev/full fails now; others are only opened."""
    probe = stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1
    try:
        with open(path, "ab", buffering=0) as f:
            if probe:
                f.write(b"\n")
    except OSError as e:
        raise OutputError(f"{path}: cannot write ({opt}): {e.strerror or e}") from None


def write_atomic(path: Path, text: str, backup: bool = False) -> None:
    """Write `text` to `path` through a temporary file and a rename (the target of a symlink
    is replaced, the link kept). `backup`: first copy the existing file to PATH.orig."""
    target = Path(os.path.realpath(path))
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        _save_and_raise(path, text, e)
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:  # a device or pipe: no rename possible
            with open(target, "w") as f:
                f.write(text)
            return
        except OSError as e:
            _save_and_raise(path, text, e)
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if backup and st is not None:
            orig = target.with_name(target.name + ".orig")
            _write_new(orig, target.read_bytes())
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.replace(tmp, target)
    except OSError as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        _save_and_raise(path, text, e)


def _write_new(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _save_and_raise(path: Path, text: str, err: OSError) -> None:
    fd, saved = tempfile.mkstemp(prefix="scheduler-", suffix=Path(path).suffix or ".txt")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    raise OutputError(f"{path}: cannot write: {err.strerror or err}; the result was saved to {saved}")
