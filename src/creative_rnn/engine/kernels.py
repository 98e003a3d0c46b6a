"""Numba kernels of the fast step engine: a fused RNN / GRU / LSTM / minGRU / minLSTM step and
a whole-loop sampler, float32, on one core or (``step_threads``) a few.

Why Numba: the eager PyTorch step spends almost all of its ~0.3 ms in Python and operator
dispatch (a 2 x 128 LSTM step is ~0.2 M multiply-adds, a few microseconds of arithmetic).
ONNX Runtime and plain NumPy were measured at 5.5-6x the eager step, still one dispatch per
operator; a compiled loop that does the whole step, and the whole sampling loop, in one
call is what gets past 10x (benchmarks/sampling_speed.py). ``cache=True`` writes the
machine code beside this file, so only the first process pays the compile (seconds).
``step_threads`` needs a thread-safe Numba threading layer (OpenMP or TBB): the engine
checks for one (``threads.py``) and otherwise steps on one core.

Layout (the lecture's names: U input weights, V recurrent weights, W head, c head bias):
* ``table`` (vocab, G*H): layer 1's input projection per id, U_1 E[id] + b_ih, so layer 1's
  input matrix product is one row lookup; G = 1 (rnn), 3 (gru), 4 (lstm), torch's gate order;
  2 (mingru: z, h̃) and 3 (minlstm: f, i, h̃), whose gates read x_t only.
* ``U`` (max(L-1, 1), G*H, H), ``V`` (L, G*H, H), ``W`` (out, H): the input, recurrent and
  head weights of the upper layers in torch's own layout (row k of a product is a dot of
  contiguous rows; see ``_matmul_acc``).
* ``bi``, ``bh`` (L, G*H): b_ih and b_hh kept apart because the GRU's candidate needs
  r * (V_n h + b_hn); ``c`` (out,) the head bias. The minimal cells have no V: it has no
  rows, (L, 0, H), and bh is zero.
State ``h``, ``cs`` (L, n, H) is updated in place (``cs`` is the LSTM cell; unused otherwise).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

RNN, GRU, LSTM, MINGRU, MINLSTM = 0, 1, 2, 3, 4
# products may be fused into FMAs; nothing else is relaxed (sampling relies on -inf)
_FM = {"contract"}
# the sums of a matrix product may be reordered too, so they vectorise (differences ~1e-7)
_FM_SUM = {"contract", "reassoc"}


@njit(cache=True, fastmath=_FM_SUM)
def _matmul_acc(out, x, M, k_start, k_stop):
    """out[:, k] += x (n, J) @ M[k] for the rows k_start <= k < k_stop of M (K, J), four
    rows at a time: the four sums share each load of x, and the four rows (a few KiB) serve
    every stream from L1."""
    n = out.shape[0]
    J = x.shape[1]
    K4 = k_stop - (k_stop - k_start) % 4
    for k in range(k_start, K4, 4):
        m0, m1, m2, m3 = M[k], M[k + 1], M[k + 2], M[k + 3]
        for r in range(n):
            xr = x[r]
            s0 = s1 = s2 = s3 = np.float32(0.0)
            for j in range(J):
                xj = xr[j]
                s0 += m0[j] * xj
                s1 += m1[j] * xj
                s2 += m2[j] * xj
                s3 += m3[j] * xj
            out[r, k] += s0
            out[r, k + 1] += s1
            out[r, k + 2] += s2
            out[r, k + 3] += s3
    for k in range(K4, k_stop):
        m0 = M[k]
        for r in range(n):
            xr = x[r]
            s0 = np.float32(0.0)
            for j in range(J):
                s0 += m0[j] * xr[j]
            out[r, k] += s0


@njit(cache=True)
def _sigmoid(a):
    return np.float32(1.0) / (np.float32(1.0) + math.exp(-a))  # exp(+big) = inf gives 0


@njit(cache=True)
def _tanh(a):
    """tanh through one exp of -2|a| (no overflow): a quarter of the cost of the libm call
    numba makes for math.tanh, within 1e-7 of it."""
    e = math.exp(np.float32(-2.0) * abs(a))
    t = (np.float32(1.0) - e) / (np.float32(1.0) + e)
    return t if a >= 0 else -t


@njit(cache=True)
def _g(a):
    """minGRU/minLSTM's candidate activation: a + 1/2 for a >= 0, sigmoid(a) below."""
    return a + np.float32(0.5) if a >= 0 else _sigmoid(a)


@njit(cache=True, fastmath=_FM)
def _cell(cell, gi, gh, h, cs, h_new, k_start, k_stop):
    """The update of units k_start <= k < k_stop from their pre-activations gi (input side,
    with b_ih) and gh (recurrent side, with b_hh), both (n, G*H): the new state goes to
    h_new (n, H), which may be h itself; the LSTM cell cs (n, H) is updated in place."""
    n, H = h.shape
    for r in range(n):
        a, b = gi[r], gh[r]
        for k in range(k_start, k_stop):
            if cell == LSTM:
                i = _sigmoid(a[k] + b[k])
                f = _sigmoid(a[H + k] + b[H + k])
                g = _tanh(a[2 * H + k] + b[2 * H + k])
                o = _sigmoid(a[3 * H + k] + b[3 * H + k])
                cs[r, k] = f * cs[r, k] + i * g
                h_new[r, k] = o * _tanh(cs[r, k])
            elif cell == GRU:
                rg = _sigmoid(a[k] + b[k])
                z = _sigmoid(a[H + k] + b[H + k])
                m = _tanh(a[2 * H + k] + rg * b[2 * H + k])
                h_new[r, k] = (np.float32(1.0) - z) * m + z * h[r, k]
            elif cell == MINGRU:  # h = (1 - z) h + z g(a_h); every gate from x_t alone
                z = _sigmoid(a[k])
                h_new[r, k] = (np.float32(1.0) - z) * h[r, k] + z * _g(a[H + k])
            elif cell == MINLSTM:  # h = (f h + i g(a_h)) / (f + i)
                f = _sigmoid(a[k])
                i = _sigmoid(a[H + k])
                h_new[r, k] = (f * h[r, k] + i * _g(a[2 * H + k])) / (f + i)
            else:
                h_new[r, k] = _tanh(a[k] + b[k])


@njit(cache=True)
def _start_layer(layer, ids, h, table, bi, bh, gi, gh):
    """gi, gh (n, G*H) set to the layer's biases (layer 1's input side: the id's table row)."""
    for r in range(h.shape[1]):
        if layer == 0:
            gi[r] = table[ids[r]]
        else:
            gi[r] = bi[layer]
        gh[r] = bh[layer]


@njit(cache=True)
def _head(h_last, W, c, logits):
    for r in range(logits.shape[0]):
        logits[r] = c
    _matmul_acc(logits, h_last, W, 0, W.shape[0])


@njit(cache=True, fastmath=_FM)
def step(cell, ids, h, cs, table, U, V, bi, bh, W, c, logits, gi, gh):
    """One step of n streams: ids (n,) -> logits (n, out); h, cs (L, n, H) in place.
    gi, gh (n, G*H) are scratch."""
    L, n, H = h.shape
    K = bi.shape[1]
    for layer in range(L):
        _start_layer(layer, ids, h, table, bi, bh, gi, gh)
        if layer > 0:
            _matmul_acc(gi, h[layer - 1], U[layer - 1], 0, K)
        _matmul_acc(gh, h[layer], V[layer], 0, V.shape[1])  # V has no rows: no product
        _cell(cell, gi, gh, h[layer], cs[layer], h[layer], 0, H)
    _head(h[L - 1], W, c, logits)


def _step_threads(cell, threads, ids, h, cs, table, U, V, bi, bh, W, c, logits, gi, gh,
                 h_new):
    """``step`` with each layer's hidden units shared among ``threads`` threads: a thread
    takes the G gate rows of its units in U and V (rows g*H + k) and updates those units,
    so the threads meet once per layer (an OpenMP fork and join, a microsecond or two) and
    each streams only its share of the weights, which pays once they outgrow a core's L2
    cache (threads.py). h_new (n, H) is scratch: the threads read the old h while they
    write the new one. The caller sets Numba's thread count to ``threads``."""
    L, n, H = h.shape
    G = bi.shape[1] // H
    recurrent = V.shape[1] > 0  # the minimal cells have no V
    per = -(-H // threads)
    for layer in range(L):
        _start_layer(layer, ids, h, table, bi, bh, gi, gh)
        for t in prange(threads):
            k0, k1 = t * per, min(H, (t + 1) * per)
            for g in range(G):
                if layer > 0:
                    _matmul_acc(gi, h[layer - 1], U[layer - 1], g * H + k0, g * H + k1)
                if recurrent:
                    _matmul_acc(gh, h[layer], V[layer], g * H + k0, g * H + k1)
            _cell(cell, gi, gh, h[layer], cs[layer], h_new, k0, k1)
        h[layer] = h_new
    _head(h[L - 1], W, c, logits)


step_threads = njit(cache=True, parallel=True, fastmath=_FM)(_step_threads)
# ``generate`` calls its own, uncached copy. Numba 0.68 writes a broken ``generate`` to the
# cache when it compiles it in a process that loaded ``step_threads`` (a parallel function)
# from the cache: every later process that loads it segfaults (a process that ran only the
# single step, e.g. ``perform``, then one that sampled, then any). Compiled with ``generate``,
# the copy is part of generate's own cached code, and nothing of it is compiled again.
_step_threads_for_generate = njit(parallel=True, fastmath=_FM)(_step_threads)


# --- sampling inside compiled code --------------------------------------------------------
@njit(cache=True)
def _uniform(rng):
    """A float64 in [0, 1) from SplitMix64 (Steele et al. 2014); rng (1,) uint64 is the
    carried state, so one seed gives one sequence of draws."""
    rng[0] += np.uint64(0x9E3779B97F4A7C15)
    z = rng[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)  # top 53 bits / 2**53


@njit(cache=True)
def choose(z, banned, temperature, top_k, top_p, greedy, rng):
    """One id from logits z (V,), as sampling.py's processors and ``choose`` do: banned ids
    out, then argmax, or temperature, top-k (ties with the k-th kept), top-p (drop a token
    once the mass before it reaches p) and a draw from the softmax."""
    V = z.shape[0]
    x = np.empty(V, np.float64)
    for k in range(V):
        x[k] = -np.inf if banned[k] else z[k]
    if greedy:
        return np.argmax(x)  # first of equal maxima, as torch.argmax on CPU
    for k in range(V):
        x[k] = x[k] / temperature
    if 0 < top_k < V:
        kth = np.sort(x)[V - top_k]
        for k in range(V):
            if x[k] < kth:
                x[k] = -np.inf
    p = np.exp(x - np.max(x))
    p /= p.sum()
    if top_p < 1.0:
        order = np.argsort(-p, kind="mergesort")  # stable: equal probabilities keep id order
        before = 0.0
        for k in order:
            if before >= top_p:
                p[k] = 0.0
            else:
                before += p[k]
        p /= p.sum()
    u = _uniform(rng)
    acc = 0.0
    last = 0
    for k in range(V):
        if p[k] > 0.0:
            last = k
            acc += p[k]
            if u < acc:
                return k
    return last  # u landed in the rounding gap at the top: the last possible id


@njit(cache=True)
def generate(cell, threads, n_tokens, h, cs, table, U, V, bi, bh, W, c, banned, temperature,
             top_k, top_p, greedy, rng, stop_id, alive, step_last, out, logits, gi, gh,
             h_new):
    """Sample up to n_tokens for each stream still ``alive`` (n,) bool. ``logits`` (n, V)
    holds the prediction after the prime (or after the previous call); each new id is fed
    back and the state carried, so calls can be chained (with ``step_last``, the step after
    the last token is taken too, for the next call). A stream that draws ``stop_id`` is
    no longer alive. out (n, n_tokens) int64 gets the ids, -1 where a stream was not alive.
    Returns the number of tokens taken (fewer than n_tokens when every stream stopped).
    ``threads`` > 1 steps through ``step_threads`` (h_new (n, H) its scratch)."""
    n = logits.shape[0]
    ids = np.zeros(n, np.int64)
    for t in range(n_tokens):
        any_alive = False
        for r in range(n):
            if alive[r]:
                ids[r] = choose(logits[r], banned, temperature, top_k, top_p, greedy, rng)
                out[r, t] = ids[r]
                alive[r] = ids[r] != stop_id
                any_alive = any_alive or alive[r]
            else:
                ids[r] = 0  # a stopped stream steps on harmlessly; nobody reads it
                out[r, t] = -1
        if not any_alive:
            return t + 1
        if t < n_tokens - 1 or step_last:
            if threads > 1:
                _step_threads_for_generate(cell, threads, ids, h, cs, table, U, V, bi, bh,
                                           W, c, logits, gi, gh, h_new)
            else:
                step(cell, ids, h, cs, table, U, V, bi, bh, W, c, logits, gi, gh)
    return n_tokens
