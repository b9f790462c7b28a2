"""Writing output files so that nothing is half-written, and checking where they go first.

Every picture, page and result the project writes (``viz.render``, the
backward player, charts, the stories' JSON, the tour) goes through
``write_atomic``: the bytes go to a temporary file in the same folder, which
then replaces the target in one step (``os.replace``). A run killed halfway
leaves the old file (or none), never a truncated one, and no temporary file.

Missing folders are created, as ``graphviz`` and the stories always did: an
output path names where the file should be, and the folders on the way are
made. What cannot work (a folder on the way is a file, or the place is not
writable) is refused by ``check_output`` with a message naming the path, and
the command line calls it before any work starts.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

_SURROGATE = re.compile("[\ud800-\udfff]")

# New files get the usual permissions (0o666 less the umask), not mkstemp's private 0o600.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def printable(value: object) -> str:
    """``str(value)`` that UTF-8 can hold: each lone surrogate (half of a UTF-16 pair, which can come
    from a file name decoded with ``surrogateescape``, or from a typo) becomes U+FFFD, the replacement
    character, instead of failing with UnicodeEncodeError wherever the text is written."""
    return _SURROGATE.sub("\ufffd", str(value))


def check_output(path: str | os.PathLike, folder: bool = False) -> Path:
    """Make sure ``path`` can be written (as a file, or with ``folder=True`` as a folder); return it.

    Raises ``NotADirectoryError``, ``IsADirectoryError``, ``FileExistsError`` or
    ``PermissionError`` with a message saying which path is in the way. Nothing
    is created.
    """
    path = Path(path)
    if path.exists():
        if folder and not path.is_dir():
            raise FileExistsError(f"{str(path)!r} is a file, not a folder: choose a folder name (or remove the file)")
        if not folder and path.is_dir():
            raise IsADirectoryError(f"{str(path)!r} is a folder: give the name of a file inside it")
        if not os.access(path, os.W_OK):
            raise PermissionError(f"{str(path)!r} is not writable")
        return path
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise NotADirectoryError(
            f"cannot write {str(path)!r}: {str(ancestor)!r} is a file, not a folder; choose another path"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {str(path)!r}: the folder {str(ancestor)!r} is not writable")
    return path


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text is written as UTF-8, see ``printable``) to ``path`` all at once; returns the path.

    Missing parent folders are created. The data goes to a hidden temporary
    file beside ``path`` and is flushed to disk before it replaces ``path``;
    if anything fails or is interrupted, the temporary file is removed and
    ``path`` is untouched.
    """
    path = Path(path)
    check_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = printable(data).encode("utf-8") if isinstance(data, str) else data
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_UMASK
    try:
        _replace_with(path, payload, mode)
    except OSError as error:  # a full disk, a read-only place: name the file asked for, not the temporary
        raise type(error)(error.errno, f"cannot write {str(path)!r}: {error.strerror or error}") from None
    return path


def _replace_with(path: Path, payload: bytes, mode: int) -> None:
    """Write ``payload`` to a temporary file beside ``path``, flush it to disk, and rename it to ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
