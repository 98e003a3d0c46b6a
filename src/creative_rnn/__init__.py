"""creative_rnn: creative prediction with recurrent neural networks.

    import creative_rnn as cr
    run = cr.train(corpus=["text.txt"], out="RUN", codec="char", preset="tiny", max_steps=100)
    gen = cr.load("RUN")
    print(gen.generate(prime="ROMEO:", length=200, num=2, temperature=0.8, seed=1))

The map of the package is ARCHITECTURE.md in the project.
"""

__version__ = "0.1.0"

from .core import memory as _memory

_memory.configure()  # before anything imports torch: see core/memory.py

from . import codecs, corpora  # noqa: E402
from .config import ModelConfig, SampleConfig, TrainConfig  # noqa: E402
from .errors import (  # noqa: E402
    CheckpointError,
    ConfigError,
    CorpusError,
    SamplingError,
    UserError,
)
from .sampling import Classifier, Generator, Responder, load  # noqa: E402
from .training import RunResult, train  # noqa: E402
from .training.loop import at_end_of_run as _at_end_of_run  # noqa: E402
from .viz.curves import loss_plot as _loss_plot  # noqa: E402

# RUN/loss.png at the end of every run, whoever trains: training/ never imports viz/ (the
# layers, tests/test_imports.py), so the facade, imported before any module of the package,
# hands it the plot
_at_end_of_run(_loss_plot)

__all__ = [
    "codecs", "corpora", "train", "load", "Generator", "Responder", "Classifier", "RunResult",
    "ModelConfig", "TrainConfig", "SampleConfig", "UserError", "ConfigError", "CorpusError",
    "CheckpointError", "SamplingError",
]
