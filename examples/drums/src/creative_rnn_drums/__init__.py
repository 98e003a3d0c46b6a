"""creative-rnn-drums: a codec plugin for creative_rnn (the ``creative_rnn.codecs`` entry
point ``drums``). Drum tracks as Magenta's Drums RNN encodes them; see README.md."""

from .codec import DrumCodec

__all__ = ["DrumCodec"]
