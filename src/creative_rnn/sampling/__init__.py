"""Reading trained runs: generator.py (language models: batched, streaming generation on a
step engine), respond.py (seq2seq answers, beam search), classify.py (labels and tags).
The logit processors live in ``core.logits``; they are re-exported here for convenience."""

from ..core.logits import LogitsProcessor, choose, forbid, temperature, top_k, top_p
from .classify import Classifier
from .generator import ENGINES, Generator, load, output_paths
from .respond import Responder

__all__ = ["Generator", "load", "output_paths", "ENGINES", "Responder", "Classifier",
           "LogitsProcessor", "choose", "forbid", "temperature", "top_k", "top_p"]
