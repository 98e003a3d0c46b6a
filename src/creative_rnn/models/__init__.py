from .rnn import SequenceModel, State

__all__ = ["SequenceModel", "State"]
