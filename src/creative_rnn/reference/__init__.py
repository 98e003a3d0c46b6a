"""The lecture's equations as plain NumPy: forward, loss and hand-written BPTT.

``rnn``, ``lstm`` and ``gru`` are single layers written in the slides' notation (U, V, b,
h_t); ``mingru`` and ``minlstm`` the minimal cells of Feng et al. (2024), with ``scan`` their
parallel form; ``model`` stacks them (or a registered cell's own NumPy layer) under an
embedding and a softmax head (W, c). Checked by finite differences, against PyTorch autograd,
and against ``models.SequenceModel``'s logits; ``check`` runs those checks on any cell.

    from creative_rnn import reference
    ref, codec = reference.load("RUN")
    logits = ref.forward(codec.encode("ROMEO:"))        # (T, K), same as the torch model
    reference.check.finite_differences("mingru")         # worst relative error per parameter
"""

from . import check, gru, lstm, mingru, minlstm, rnn, scan
from .model import ReferenceModel, from_torch, load, log_softmax, random_model, torch_grads

__all__ = ["rnn", "lstm", "gru", "mingru", "minlstm", "scan", "check", "ReferenceModel",
           "from_torch", "load", "log_softmax", "random_model", "torch_grads"]
