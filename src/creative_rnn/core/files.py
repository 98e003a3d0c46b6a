"""Files that are never half-written: atomic writes (temp file, fsync, rename) and JSON.

Everything that writes a file a user keeps goes through here: the run directory, codec
outputs, the token and corpus caches, the web studio's uploads.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, WriteError

UMASK = os.umask(0)
os.umask(UMASK)  # read once: the mode a plain open() would give a new file


def cache_dir() -> Path:
    """$CREATIVE_RNN_CACHE, else the platform cache folder's creative-rnn/."""
    if os.environ.get("CREATIVE_RNN_CACHE"):
        return Path(os.environ["CREATIVE_RNN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "creative-rnn"


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over it. A failure (disk
    full, no permission) leaves the old file as it was and is one WriteError naming both."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise WriteError(f"cannot write {path} ({e.strerror or e}); free space or choose "
                         "another folder") from None
    try:
        os.fchmod(fd, 0o666 & ~UMASK)  # mkstemp makes 0600; outputs are for sharing
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            kept = "the earlier file is kept" if path.exists() else "nothing was written"
            raise WriteError(f"cannot write {path} ({e.strerror or e}): {kept}; free space "
                             "and try again") from None
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename inside ``directory`` durable (not possible on every platform)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def read_json(path: str | Path) -> Any:
    """A JSON file written by us; a missing or corrupt one is a CheckpointError naming it."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p} is missing; is {p.parent} a creative-rnn run directory?")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as e:  # bad JSON or UTF-8, a 5,000-digit number, or
        # nesting deeper than the parser's stack
        why = str(e)[:120] or type(e).__name__
        raise CheckpointError(f"{p} is corrupt ({why}); restore it or train again") from None
    except OSError as e:
        raise CheckpointError(f"{p} cannot be read ({e.strerror}); check the run "
                              "directory") from None
