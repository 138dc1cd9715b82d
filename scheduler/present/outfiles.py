"""Writing results without ever losing a file.

Every output path is checked before any work: it must not be an input, a file the input
reads (a header it #includes, an `.incbin` file) or another output (compared by device and
inode after symlinks, so `./k.s`, a symlink and a hard link are caught), must not be a
directory, and its directory must accept a new file. Files are written atomically (a
temporary file in the same directory, then a rename), so a crash or a full disk never leaves
half a kernel; a new file gets the permissions the umask gives, a replaced one keeps its
mode; a failure while writing keeps the text in a temporary file whose name the error
gives. A backup (`--in-place`) never overwrites an earlier one: FILE.orig, then FILE.orig.1, ...
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from collections.abc import Iterator, Sequence
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


def check_reads(outputs: dict[str, Path], reads: Sequence[str], reader: str) -> None:
    """Raises OutputError when an output is a file the input `reader` reads besides itself:
    a header the C preprocessor included, an `.incbin` file (compared as check_paths does)."""
    seen = {_identity(Path(r)): r for r in reads}
    for opt, path in outputs.items():
        source = seen.get(_identity(path))
        if source is not None:
            raise OutputError(f"{path}: {opt} names {source}, a file that {reader} reads (#include, "
                              ".incbin); refusing to overwrite it")


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


def write_atomic(path: Path, text: str, backup: bool = False) -> Path | None:
    """Write `text` to `path` through a temporary file and a rename (the target of a symlink
    is replaced, the link kept). A new file gets the mode the umask gives (0644 under umask
    022), a replaced one keeps its mode. `backup`: first copy the existing file to PATH.orig,
    or to PATH.orig.1, PATH.orig.2, ... when that exists (a backup is never overwritten);
    returns the backup's path (None without one)."""
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
            return None
        except OSError as e:
            _save_and_raise(path, text, e)
    tmp = None
    saved = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if backup and st is not None:
            saved = _write_backup(target, target.read_bytes(), stat.S_IMODE(st.st_mode))
        fd, tmp = _open_new(target)
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
    return saved


def _open_new(target: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """A new temporary file beside `target`, open for writing: created with mode 0666 so
    that the umask decides its permissions, as for any new file (tempfile.mkstemp would
    make it 0600 whatever the umask)."""
    for _ in range(100):
        name = target.parent / f".{target.name}.{secrets.token_hex(4)}{suffix}"
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(name)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[str]:
    """A temporary path beside `path` for a writer that wants a file name (a plotly figure):
    renamed over `path` when the block ends without an error, removed otherwise. New files get
    the umask's permissions, a replaced file keeps its mode."""
    target = Path(os.path.realpath(path))
    fd, tmp = _open_new(target, target.suffix)
    os.close(fd)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = stat.S_IMODE(os.stat(tmp).st_mode)  # the umask's, before the writer runs
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_backup(target: Path, data: bytes, mode: int) -> Path:
    """Copy the file about to be replaced to the first free name of TARGET.orig,
    TARGET.orig.1, ...: hard-linked into place, so an existing backup is never overwritten."""
    fd, tmp = _open_new(target)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        for n in range(10_000):
            orig = target.with_name(target.name + (".orig" if n == 0 else f".orig.{n}"))
            try:
                os.link(tmp, orig)
                return orig
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links: create it exclusively
                if _write_exclusive(orig, data, mode):
                    return orig
        raise FileExistsError(f"{target}.orig ... {target}.orig.9999 all exist")
    finally:
        os.unlink(tmp)


def _write_exclusive(path: Path, data: bytes, mode: int) -> bool:
    """Write a new file at `path`; False if it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return True


def _save_and_raise(path: Path, text: str, err: OSError) -> None:
    fd, saved = tempfile.mkstemp(prefix="scheduler-", suffix=Path(path).suffix or ".txt")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    raise OutputError(f"{path}: cannot write: {err.strerror or err}; the result was saved to {saved}")
