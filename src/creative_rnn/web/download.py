"""A piece as a file to download: token ids -> the bytes its codec writes (txt, abc, mid, wav).

One home for the Generate view's downloads (/api/export) and the Library's: the codec writes
into a temporary folder (its own writers, the same files ``creative-rnn sample`` makes) and
the bytes are answered with a file name safe in a header, never a server path.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import anyio
from starlette.responses import Response

from .guard import ApiError

KINDS = {"mid": "audio/midi", "wav": "audio/wav", "abc": "text/vnd.abc"}


def formats_of(codec) -> list[str]:
    """The formats a piece of ``codec`` downloads as: its own file, then MIDI and audio."""
    suffix = codec.file_suffix.lstrip(".")
    return [suffix] + [f for f in ("mid", "wav") if f in codec.formats and f != suffix]


def _write(codec, ids: list[int], fmt: str, formats: list[str]) -> tuple[bytes, str]:
    item = codec.decode(ids)
    with tempfile.TemporaryDirectory() as tmp:
        own = fmt == formats[0]
        paths = codec.outputs(item, Path(tmp) / "sample", [] if own else [fmt])
        match = [p for p in paths if p.suffix == f".{fmt}"]
        if not match:
            raise ApiError(f"the {codec.name} codec wrote no .{fmt} file")
        return match[0].read_bytes(), match[0].name


async def file_response(codec, ids: list[int], fmt: str, stem: str) -> Response:
    """The piece as an attachment named ``stem-<file>`` (made safe for a header). The codec
    writes in a worker thread: a WAV through FluidSynth takes a while."""
    formats = formats_of(codec)
    if fmt not in formats:
        raise ApiError(f"{stem} cannot be downloaded as {fmt!r}; choose {', '.join(formats)}")
    data, name = await anyio.to_thread.run_sync(_write, codec, ids, fmt, formats)
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"{stem}-{name}")
    return Response(data, media_type=KINDS.get(fmt, "text/plain; charset=utf-8"),
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
