"""The lecture's equations as plain NumPy: forward, loss and hand-written BPTT.

``rnn``, ``lstm`` and ``gru`` are single layers written in the slides' notation (U, V, b,
h_t); ``model`` stacks them under an embedding and a softmax head (W, c). Checked by finite
differences, against PyTorch autograd, and against ``models.SequenceModel``'s logits.

    from creative_rnn import reference
    ref, codec = reference.load("RUN")
    logits = ref.forward(codec.encode("ROMEO:"))        # (T, K), same as the torch model
"""

from . import gru, lstm, rnn
from .model import ReferenceModel, from_torch, load, log_softmax, random_model, torch_grads

__all__ = ["rnn", "lstm", "gru", "ReferenceModel", "from_torch", "load", "log_softmax",
           "random_model", "torch_grads"]
