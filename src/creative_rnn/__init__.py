"""creative_rnn: creative prediction with recurrent neural networks.

    import creative_rnn as cr
    run = cr.train(corpus=["text.txt"], out="RUN", codec="char", preset="tiny", max_steps=100)
    gen = cr.load("RUN")
    print(gen.generate(prime="ROMEO:", length=200, num=2, temperature=0.8, seed=1))
"""

__version__ = "0.1.0"

from . import memory as _memory  # noqa: E402

_memory.configure()  # before anything imports torch: see memory.py

from . import codecs, corpora  # noqa: E402
from .config import ModelConfig, SampleConfig, TrainConfig  # noqa: E402
from .errors import CheckpointError, ConfigError, CorpusError, SamplingError, UserError  # noqa: E402
from .sampling import Generator, load  # noqa: E402
from .train import RunResult, train  # noqa: E402

__all__ = [
    "codecs", "corpora", "train", "load", "Generator", "RunResult", "ModelConfig", "TrainConfig",
    "SampleConfig", "UserError", "ConfigError", "CorpusError", "CheckpointError", "SamplingError",
]
