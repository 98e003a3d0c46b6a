from .cells import Cell, CellStack, register
from .rnn import SequenceModel, State

__all__ = ["Cell", "CellStack", "SequenceModel", "State", "register"]
