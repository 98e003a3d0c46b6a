"""ABC folk tunes (FolkRNN-style tokens): tokens.py splits a tune into tokens and back,
bars.py keeps bars metrically complete, pitch.py transposes, units.py rewrites lengths in
one unit (L:1/8), codec.py is the codec."""

from .codec import AbcCodec

__all__ = ["AbcCodec"]
