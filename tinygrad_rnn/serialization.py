"""Checkpoints: a ``{name: array}`` dict saved as one ``.npz`` file, and loaded back safely.

    tr.save(model.state_dict(), "lm.npz")                 # PyTorch's parameter names as keys
    model.load_state_dict(tr.load("lm.npz"))

An ``.npz`` is a zip archive holding one ``.npy`` file per array; NumPy,
and so any other tool, can read it (``np.load("lm.npz")``). Only plain numeric,
boolean and string arrays are stored and loading never unpickles
(``allow_pickle=False``): opening a checkpoint from someone else cannot run
their code. To keep a model and its optimizer together, merge their dicts
under prefixes, e.g. ``{**{"model." + k: v ...}, **{"optim." + k: v ...}}``.
"""

from __future__ import annotations

import contextlib
import glob
import math
import os
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load"]


def _as_array(key: Any, value: Any) -> np.ndarray:
    if not isinstance(key, str) or not key:
        raise TypeError(f"tr.save: keys must be non-empty strings, got {key!r}")
    if "\0" in key:
        raise ValueError(f"tr.save: the key {key!r} holds a NUL byte, which a zip member name cannot; rename it")
    if isinstance(value, Tensor):
        value = value.data
    if not isinstance(value, (np.ndarray, np.generic)):
        raise TypeError(
            f"tr.save: the value for {key!r} is a {type(value).__name__}, but a checkpoint holds only "
            f"NumPy arrays (or tensors); convert it with np.asarray(...) or leave it out"
        )
    array = np.asarray(value)
    if array.dtype.hasobject:
        raise TypeError(
            f"tr.save: the value for {key!r} is an object array, which could only be loaded by "
            f"unpickling; store numbers, booleans or strings"
        )
    return array


def save(state_dict: dict[str, Any], path: str | os.PathLike) -> None:
    """Write ``state_dict`` (name -> NumPy array or Tensor) to ``path`` as an ``.npz``.

    The file is written exactly at ``path`` (no suffix is added), through a
    temporary file ``.<name>.<pid>.<random>.tmp`` beside it that is flushed to
    disk (fsync) and then renamed over ``path``, so an interrupted save never
    leaves a half-written checkpoint behind: the old file stays until the new
    one is complete. On any exception (Ctrl-C included) the temporary file is
    removed and the exception propagates unchanged; temporary files left by a
    save whose process was killed are removed by the next save to the same
    path. Arrays keep their dtype and shape.
    """
    if not isinstance(state_dict, dict):
        raise TypeError(
            f"tr.save: expected a dict of name -> array (e.g. model.state_dict()), "
            f"got {type(state_dict).__name__}"
        )
    arrays = {key: _as_array(key, value) for key, value in state_dict.items()}
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"tr.save: {str(path)!r} is a directory; give a file name such as model.npz")
    if not path.parent.exists():
        raise FileNotFoundError(f"tr.save: the directory {str(path.parent)!r} does not exist")
    _remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    except OSError as error:  # name the file asked for, not the hidden temporary beside it
        raise type(error)(error.errno, f"tr.save: cannot write {str(path)!r}: {error.strerror}") from None
    try:
        _write(fd, tmp, path, arrays)
    except OSError as error:
        raise type(error)(error.errno, f"tr.save: cannot write {str(path)!r}: {error.strerror}") from None
    _sync_directory(path.parent)


def _write(fd: int, tmp: str, path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the archive into the temporary ``tmp`` (open as ``fd``), then rename it to ``path``."""
    try:
        with os.fdopen(fd, "wb") as raw:
            with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
                for key, array in arrays.items():
                    with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            raw.flush()
            os.fsync(raw.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):  # gone already if os.replace had finished
            os.unlink(tmp)
        raise


def _remove_stale_temporaries(path: Path) -> None:
    """Delete ``.<name>.<pid>.*.tmp`` files beside ``path`` whose saving process no longer runs.

    (POSIX only: there a process's existence can be asked without touching it.)
    """
    if os.name != "posix":
        return
    prefix = f".{path.name}."
    for candidate in glob.glob(os.path.join(glob.escape(str(path.parent)), glob.escape(prefix) + "*.tmp")):
        pid = os.path.basename(candidate)[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or _running(int(pid)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(candidate)


def _running(pid: int) -> bool:
    """Is process ``pid`` alive? (Signal 0 checks without sending anything.)"""
    if pid == os.getpid():
        return True  # perhaps another thread of ours, saving right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # alive, but someone else's
    return True


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX; elsewhere, and where refused, skip it)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a checkpoint written by ``save`` (or ``np.savez``): a dict name -> ndarray.

    Never unpickles. A missing file, a file that is not an ``.npz`` archive,
    and an archive holding pickled objects each raise an error saying which.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"tr.load: no checkpoint at {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"tr.load: {str(path)!r} is a directory, not a checkpoint file")
    if not stat.S_ISREG(path.stat().st_mode):  # /dev/zero never ends; a FIFO blocks the first read
        raise ValueError(
            f"tr.load: {str(path)!r} is not a regular file (a device, a pipe or a socket); "
            f"a checkpoint is a file written by tr.save(state_dict, path)"
        )
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"tr.load: {str(path)!r} is not an .npz checkpoint (not a zip archive); "
            f"checkpoints are written by tr.save(state_dict, path)"
        )
    invalid = f"tr.load: {str(path)!r} is not a valid .npz checkpoint"
    try:
        too_big = _size_problem(path)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as error:
        raise ValueError(f"{invalid}: {error}") from None
    if too_big:
        raise ValueError(f"{invalid}: {too_big}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            loaded = {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise ValueError(
                f"tr.load: {str(path)!r} holds pickled Python objects; they are refused because "
                f"unpickling can run arbitrary code"
            ) from None
        raise ValueError(f"{invalid}: {error}") from None
    except (OSError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as error:
        raise ValueError(f"{invalid}: {error}") from None
    except MemoryError:
        raise MemoryError(f"tr.load: {str(path)!r} holds more numbers than fit in memory") from None
    for key, value in loaded.items():
        if not isinstance(value, np.ndarray):  # NumPy hands back raw bytes for a non-.npy member
            raise ValueError(f"{invalid}: {key!r} is not a .npy array")
    return loaded


_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand data more than about 1032 : 1
_BOMB_RATIO, _BOMB_SIZE = 100, 64 * 2**20  # a compressed member past both is refused as a zip bomb
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
            zipfile.ZIP_LZMA: "lzma"}


def _size_problem(path: Path) -> str | None:
    """What is wrong with an archive whose array headers claim more bytes than the file can hold.

    NumPy allocates the whole array a header announces before reading a byte,
    so a 100-byte file claiming shape (10**12,) would end in a MemoryError (or
    an allocation of terabytes). The claim is checked first against the size
    the zip directory gives the member, and that against the file's size.
    """
    on_disk = path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            if info.flag_bits & 0x1:
                return f"{info.filename!r} is encrypted; checkpoints are never encrypted"
            if info.compress_type not in _METHODS:
                return (
                    f"{info.filename!r} uses compression method {info.compress_type}, which cannot be read "
                    f"(only {', '.join(_METHODS.values())})"
                )
            if (
                info.compress_type != zipfile.ZIP_STORED
                and info.file_size > _BOMB_SIZE
                and info.file_size > _BOMB_RATIO * max(info.compress_size, 1)
            ):
                return (
                    f"{info.filename!r} would expand {info.compress_size:,} bytes into {info.file_size:,} "
                    f"(more than {_BOMB_RATIO} to 1): refused as a zip bomb; if it is genuine, load it "
                    f"with np.load and save it again with tr.save (which does not compress)"
                )
            limit = on_disk if info.compress_type == zipfile.ZIP_STORED else on_disk * _DEFLATE_MAX_RATIO
            if info.file_size > limit:
                return f"{info.filename!r} claims {info.file_size:,} bytes; a file of {on_disk:,} bytes can't hold that"
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                header = member.tell()
            needed = math.prod(shape) * dtype.itemsize
            if needed > info.file_size - header:
                return (
                    f"the header of {info.filename!r} claims shape {shape} of {dtype} ({needed:,} bytes), "
                    f"but the member holds only {info.file_size - header:,} bytes"
                )
    return None
