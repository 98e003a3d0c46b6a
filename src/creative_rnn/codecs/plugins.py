"""Codecs from other packages: the ``creative_rnn.codecs`` entry-point group.

A package declares ``[project.entry-points."creative_rnn.codecs"] drums =
"creative_rnn_drums:DrumCodec"``; the registry (codecs/__init__.py) asks ``discover`` once per
process, the first time a codec is looked up by name, and registers each class wrapped by
guard.py. A plugin that cannot be imported, takes a name already in use or is not a Codec
subclass is left out with one line naming it; every other codec still loads.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from importlib import metadata

from .base import Codec

GROUP = "creative_rnn.codecs"


@dataclass(frozen=True)
class Plugin:
    """Where a plugin codec comes from, for listings and error messages."""

    name: str  # the entry point's name: the codec's name everywhere (codec.json, --codec)
    target: str  # "module:Class"
    package: str  # the distribution that declares it, "creative-rnn-drums 0.1.0"

    def describe(self) -> str:
        return f"codec plugin {self.name!r} (entry point {self.name} = {self.target}, " \
               f"package {self.package})"


def _package(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "unknown package"


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__


def entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=GROUP), key=lambda ep: ep.name)


def load(ep: metadata.EntryPoint, taken: Collection[str]) -> tuple[type[Codec] | None, str]:
    """(the codec class, "") or (None, the one line that says why it is left out)."""
    plugin = Plugin(ep.name, ep.value, _package(ep))
    if ep.name in taken:
        return None, f"{plugin.describe()} is left out: {ep.name!r} is already a codec's " \
                     "name; rename the entry point"
    try:
        cls = ep.load()
    except Exception as e:  # any error of a third party's import: its own line, no traceback
        return None, f"{plugin.describe()} is left out: importing it raised {_first_line(e)}"
    if not (isinstance(cls, type) and issubclass(cls, Codec)):
        return None, f"{plugin.describe()} is left out: {ep.value} is not a subclass of " \
                     "creative_rnn.codecs.Codec"
    if cls.name != ep.name:
        return None, f"{plugin.describe()} is left out: its class says name = {cls.name!r}; " \
                     "the entry point and the class must name the codec alike"
    return cls, ""


Found = dict[str, tuple[type[Codec], Plugin]]  # codec name -> (its class, where it is from)


def discover(taken: Collection[str]) -> tuple[Found, dict[str, str]]:
    """Every plugin of the group: ({name: (class, Plugin)}, {name: why it is left out})."""
    found: Found = {}
    problems: dict[str, str] = {}
    for ep in entry_points():
        cls, why = load(ep, set(taken) | set(found))
        if cls is None:
            problems.setdefault(ep.name, why)
        else:
            found[ep.name] = (cls, Plugin(ep.name, ep.value, _package(ep)))
    return found, problems


def find(name: str) -> tuple[type[Codec], Plugin] | None:
    """One plugin by name without the registry: how a child process rebuilds a guarded codec
    it was sent (guard.py's ``__reduce__``)."""
    for ep in entry_points():
        if ep.name == name:
            cls, _ = load(ep, ())
            return (cls, Plugin(ep.name, ep.value, _package(ep))) if cls else None
    return None
