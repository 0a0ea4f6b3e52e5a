"""The objective at many single-element parameter perturbations at once, for
the numerical oracles (central differences, Richardson, complex step).

Moving one parameter element changes little of the forward pass, so each
batch reuses the unperturbed pass (``Objective``, computed once) below the
moved layer and evaluates P perturbations together above it, in arrays holding
P perturbations × B samples × n units (stored units first, ``(n, P, B)``; the
activations and the loss see ``(P, B, n)`` views — see the layouts below):

* ``W^l[i, j]`` moved by s (``W^l[i, p, j]`` for a maxout layer, piece p)
  changes only column i of ``Z^l``: ``Z^l[:, i] = Z^l_0[:, i] + s A^{l-1}[:, j]``
  (``A^{l-1}[:, j]`` is replaced by 1 for a per-neuron bias ``b^l[i]``).  A
  masked weight changes nothing and is never evaluated (the callers know its
  answer).
* So only ``A^l[:, i] = f_l(Z^l[:, i])`` changes (for maxout, f_l of unit i's
  k pieces with piece p moved), and layer l + 1 receives a rank-1 update,
  ``Z^{l+1} = Z^{l+1}_0 + ΔA^l[:, i] ⊗ (W^{l+1} ⊙ M^{l+1})[:, i]``.  Layers
  above l + 1 are recomputed in full for the P perturbations at once (one
  matrix product per layer), then the loss, averaged over the samples.
* A moved element of the output layer L changes only ``Z^L[:, i]``: the loss
  alone is recomputed.
* A shared bias (shape ``(1,)``) moves its whole layer: ``Z^l = Z^l_0 + s``,
  then every layer above in full.

Which functions evaluate the layers and the loss is the caller's choice
(``Objective(activation=..., per_sample=...)``): the canonical ones
(``mlp.activation(l).f`` and ``reference.network.per_sample_loss``) for
central differences, the complex step's own complex-safe ones for the complex
step; the shifts may be real or complex.  Nothing here differentiates.  The
loss is always called on 2-D arrays ``(rows, n_L)`` (the P·B rows of a
chunk), as its contract says; activations act elementwise or on the last
axis, on any shape.

Kinks (``kinks=True``): for every perturbation, whether some relu/leaky_relu
(any registered kink) pre-activation of a layer ≥ l changed side, or some
maxout unit changed its winning piece, against the unperturbed pass.

Chunks and memory
-----------------
One chunk holds Q elements × S stencil points (P = Q·S perturbations) × B
samples.  The widest array of a chunk has P·B·w entries, w = the largest
``n_m · k_m`` of a layer the chunk holds in full (k_m pieces for maxout, else
1).  The rule::

    e = min(CHUNK_ELEMENTS, WORK_BYTES // (MAX_THREADS · LIVE_ARRAYS · itemsize))
    B = min(N, max(1, e // (S · w))),   Q = max(1, e // (S · B · w))

so each work array holds at most e entries (unless a single element's stencil
on a single sample is wider than that), at most ``LIVE_ARRAYS`` of them are
alive at once per chunk, and at most ``MAX_THREADS`` chunks run together: the
work arrays stay under ``WORK_BYTES`` (256 MiB) whatever the network or batch
size.  With the defaults, e = CHUNK_ELEMENTS = 2^18 entries (2 MiB of
float64, 4 MiB of complex128 per array): large enough to amortise Python's
per-chunk overhead, small enough to stay near the caches.  A batch larger
than a chunk is split into sample blocks whose loss sums are added.  Besides
the work arrays, the unperturbed pass is kept (Z^l and A^l, and their
transposes for the column gathers): a few times the canonical forward pass,
which the objective itself needs.  Before the chunks run, one untouched
32 MiB allocation is freed so that glibc keeps the chunks' freed temporaries
for the next chunk instead of faulting fresh pages (``_keep_freed_memory``).

Threads: chunks go to ``threads`` worker threads (NumPy's ufuncs and matrix
products release the GIL), with BLAS limited to one thread meanwhile
(threadpoolctl), so two cores work on two chunks.  Each chunk's results are
written by the caller's ``finish`` into disjoint elements.  The chunks do not
depend on the number of threads, and BLAS runs single-threaded, so neither
does the result, to the last bit.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from backprop_reference.reference.mlp import MLP, Params
from backprop_reference.reference.network import effective_weights

WORK_BYTES = 256 * 2**20  # all work arrays of all threads together
CHUNK_ELEMENTS = 2**18  # entries per work array: amortises Python's per-chunk overhead, stays near the caches
LIVE_ARRAYS = 8  # work arrays alive at once in one chunk (z, f(z) and f's temporaries, the product, the loss's)
MAX_THREADS = 8


def available_threads() -> int:
    """Cores this process may run on (at most ``MAX_THREADS``)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, cores))


@dataclass(frozen=True)
class Job:
    """Move each element ``flat`` of parameter array ``(layer, which)`` to
    ``points`` stencil points; ``stencil(flat) -> shifts (Q, points)`` in the
    work dtype; ``finish(flat, E (Q, points), changed (Q, points))`` receives
    the objective at each point and whether its kink pattern changed."""

    layer: int  # l = 1..L
    which: int  # 0: W^l, 1: b^l
    flat: np.ndarray  # flat indices into the array, never a masked weight
    points: int
    stencil: Callable[[np.ndarray], np.ndarray]
    finish: Callable[[np.ndarray, np.ndarray, np.ndarray], None]


class Objective:
    """The unperturbed forward pass, laid out for column gathers, and the
    objective of batches of moved elements."""

    def __init__(
        self,
        mlp: MLP,
        params: Params,
        X: np.ndarray,
        Y: np.ndarray,
        *,
        dtype,
        activation: Callable[[int], Callable],
        per_sample: Callable[[np.ndarray, np.ndarray], np.ndarray],
        kinks: bool,
    ):
        self.mlp, self.L, self.N = mlp, mlp.depth, X.shape[0]
        self.dtype = np.dtype(dtype)
        self.Y = Y
        self.per_sample = per_sample
        self.f = [None] + [activation(l) for l in range(1, self.L + 1)]
        self.pieces = [None] + [mlp.pieces if mlp.is_maxout(l) else 0 for l in range(1, self.L + 1)]
        self.kinks = [None] + [mlp.activation(l).kinks if kinks else () for l in range(1, self.L + 1)]
        self.track_maxout = [None] + [kinks and bool(self.pieces[l]) for l in range(1, self.L + 1)]
        # the parameters stay real (a complex work dtype multiplies them as complex × real)
        self.W = [None] + [effective_weights(mlp, l, W) for l, (W, _) in enumerate(params, start=1)]
        self.b = [None] + [b for _, b in params]
        # the unperturbed pass, in the canonical layout: zs[l - 1] = Z^l, acts[l] = A^l
        self.zs, self.acts = [], [X.astype(self.dtype, copy=False)]
        for l in range(1, self.L + 1):
            a = self.acts[-1]
            z = np.einsum("ipj,nj->nip", self.W[l], a) if self.pieces[l] else a @ self.W[l].T
            if self.b[l] is not None:
                z = z + self.b[l]
            self.zs.append(z)
            self.acts.append(self.f[l](z))
        self._lazy: dict = {}
        self._lock = threading.RLock()  # layouts build on one another

    # --- layouts, built on first use (any thread may ask) ----------------------------
    # Work arrays are stored units first, samples last: (n_m[, k], P, B).  The
    # activations and the loss see them through transposed views shaped
    # (P, B, n_m[, k]) or (P·B, n_L), so their reductions over the last axis
    # (softmax, log-sum-exp, the sum over outputs, maxout's max) run across
    # contiguous rows instead of along rows of 2 to 10 entries (6× faster).

    def _get(self, key, build):
        with self._lock:
            if key not in self._lazy:
                self._lazy[key] = build()
            return self._lazy[key]

    def zT(self, l: int) -> np.ndarray:
        """Z^l units first: (n_l, N), or (n_l, k, N) for maxout."""
        return self._get(("zT", l), lambda: np.ascontiguousarray(np.moveaxis(self.zs[l - 1], 0, -1)))

    def aT(self, l: int) -> np.ndarray:
        """A^l units first: (n_l, N)."""
        return self._get(("aT", l), lambda: np.ascontiguousarray(self.acts[l].T))

    def YT(self) -> np.ndarray:
        return self._get("YT", lambda: np.ascontiguousarray(self.Y.T))

    def aboveT(self, l: int, kink: float) -> np.ndarray:
        return self._get(("aboveT", l, kink), lambda: self.zT(l) > kink)

    def winnerT(self, l: int) -> np.ndarray:
        """The winning piece of every maxout unit: (n_l, N)."""
        return self._get(("winnerT", l), lambda: np.argmax(self.zT(l), axis=1))

    def width(self, l: int, whole_layer: bool) -> int:
        """w of the chunk rule: the widest layer a batch moving layer l holds in full."""
        first = l if whole_layer or l == self.L else l + 1
        return max(self.mlp.sizes[m] * max(1, self.pieces[m]) for m in range(first, self.L + 1))

    # --- batches --------------------------------------------------------------------

    @staticmethod
    def _logical(t: np.ndarray, pieces: int) -> np.ndarray:
        """(n[, k], P, B) storage → the (P, B, n[, k]) view the functions see."""
        lead = 2 if pieces else 1
        return np.moveaxis(t, tuple(range(lead)), tuple(range(-lead, 0)))

    def _changed_in_full(self, m: int, z: np.ndarray, rows: slice) -> np.ndarray:
        """(P,) whether z (n[, k], P, B) left layer m's unperturbed kink pattern."""
        changed = np.zeros(z.shape[-2], dtype=bool)
        for kink in self.kinks[m]:
            changed |= np.not_equal(z > kink, self.aboveT(m, kink)[:, None, rows]).any(axis=(0, 2))
        if self.track_maxout[m]:
            changed |= np.not_equal(np.argmax(z, axis=1), self.winnerT(m)[:, None, rows]).any(axis=(0, 2))
        return changed

    def _loss_sums(self, z: np.ndarray, rows: slice) -> np.ndarray:
        """Σ over the block's samples of the per-sample loss, for each of the P batches."""
        P, B = z.shape[-2:]
        zL = self._logical(z, self.pieces[self.L]).reshape((P * B,) + z.shape[:-2])
        n = self.YT().shape[0]
        Y = np.broadcast_to(self.YT()[:, None, rows], (n, P, B)).reshape(n, P * B).T
        per_sample = self.per_sample(Y, zL)
        if per_sample.shape != (P * B,):
            raise ValueError(f"loss {self.mlp.loss!r} must return one value per sample: shape ({P * B},), got {per_sample.shape}")
        return per_sample.reshape(P, B).sum(axis=1)

    def _from_layer(self, l: int, z: np.ndarray, rows: slice, changed: np.ndarray) -> np.ndarray:
        """Layers l..L in full from Z^l stored (n_l[, k], P, B): the loss sums; updates ``changed``."""
        P, B = z.shape[-2:]
        for m in range(l, self.L + 1):
            changed |= self._changed_in_full(m, z, rows)
            if m == self.L:
                return self._loss_sums(z, rows)
            a = self.f[m](self._logical(z, self.pieces[m]))  # (P, B, n_m)
            W = self.W[m + 1]
            z = _product(W.reshape(-1, W.shape[-1]), np.moveaxis(a, -1, 0).reshape(W.shape[-1], P * B))
            z = z.reshape(W.shape[:-1] + (P, B))
            if self.b[m + 1] is not None:
                z += self.b[m + 1][..., None, None]
        raise AssertionError("unreachable")

    def values(self, layer: int, which: int, flat: np.ndarray, shifts: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]:
        """``(Σ_rows J, changed)``, each (Q, S), for the elements ``flat`` of
        ``(W^layer, b^layer)[which]`` moved by ``shifts`` (Q, S)."""
        l, Q, S = layer, flat.size, shifts.shape[1]
        P = Q * S
        k = self.pieces[l]
        bias = self.b[l] if which == 1 else None
        if which == 1 and bias.shape == (1,):  # a shared bias moves the whole layer
            z = self.zT(l)[..., None, rows] + shifts.reshape(P, 1)
            changed = np.zeros(P, dtype=bool)
            return self._from_layer(l, z, rows, changed).reshape(Q, S), changed.reshape(Q, S)
        index = np.unravel_index(flat, self.W[l].shape if which == 0 else bias.shape)
        i = index[0]
        unit = (i, index[1]) if k else (i,)  # the moved pre-activation: unit i (piece p)
        z0 = self.zT(l)[unit + (rows,)]  # (Q, B): the moved column before
        if which == 0:
            c = self.aT(l - 1)[index[-1], rows][:, None, :] * shifts[:, :, None]
            c += z0[:, None, :]
        else:
            c = z0[:, None, :] + shifts[:, :, None]  # (Q, S, B): the moved column after
        B = c.shape[-1]
        changed = np.zeros((Q, S), dtype=bool)
        for kink in self.kinks[l]:
            changed |= np.not_equal(c > kink, self.aboveT(l, kink)[i, rows][:, None, :]).any(axis=-1)
        if l == self.L:  # the output column: the loss alone
            zL = np.broadcast_to(self.zT(l)[..., None, None, rows], self.zT(l).shape[:-1] + (Q, S, B)).copy()
            zL[unit + (np.arange(Q),)] = c
            if self.track_maxout[l]:
                changed |= self._changed_in_full(l, zL.reshape(zL.shape[:-3] + (P, B)), rows).reshape(Q, S)
            return self._loss_sums(zL.reshape(zL.shape[:-3] + (P, B)), rows).reshape(Q, S), changed
        if k:  # unit i's k pieces, piece p moved: stored (k, Q, S, B)
            moved = (np.arange(k)[:, None] == index[1])[:, :, None, None]
            u = np.where(moved, c, np.moveaxis(self.zT(l)[i, :, rows], 1, 0)[:, :, None, :])
            if self.track_maxout[l]:
                changed |= np.not_equal(np.argmax(u, axis=0), self.winnerT(l)[i, rows][:, None, :]).any(axis=-1)
            new = self.f[l](np.moveaxis(u, 0, -1))
        else:
            new = self.f[l](c)
        delta = new - self.aT(l)[i, rows][:, None, :]  # ΔA^l[:, i] (Q, S, B); not in place: f may return its argument
        w = self.W[l + 1][..., i]  # the columns of W^{l+1} ⊙ M^{l+1} that receive it: (n_{l+1}[, k'], Q)
        z = np.empty(w.shape + delta.shape[1:], dtype=np.result_type(w, delta))  # the rank-1 update, stored C-ordered
        np.multiply(w[..., None, None], delta, out=z)  # (n_{l+1}[, k'], Q, S, B)
        z += self.zT(l + 1)[..., None, None, rows]
        changed = changed.reshape(P)
        sums = self._from_layer(l + 1, z.reshape(z.shape[:-3] + (P, B)), rows, changed)
        return sums.reshape(Q, S), changed.reshape(Q, S)

    # --- chunks and threads -----------------------------------------------------------

    def chunk(self, job: Job, work_bytes: int) -> tuple[int, int]:
        """(Q, B) for ``job`` by the module's chunk rule."""
        shared = job.which == 1 and self.b[job.layer].shape == (1,)
        w = self.width(job.layer, shared)
        e = max(1, min(CHUNK_ELEMENTS, work_bytes // (MAX_THREADS * LIVE_ARRAYS * self.dtype.itemsize)))
        B = min(self.N, max(1, e // (job.points * w)))
        Q = max(1, e // (job.points * B * w))
        return Q, B

    def run(self, jobs: list[Job], *, work_bytes: int | None = None, threads: int | None = None) -> None:
        """Evaluate every job, chunk by chunk, on ``threads`` threads (default:
        the cores available, at most ``MAX_THREADS``), within ``work_bytes``
        (default ``WORK_BYTES``)."""
        work_bytes = WORK_BYTES if work_bytes is None else work_bytes
        threads = available_threads() if threads is None else max(1, min(MAX_THREADS, threads))
        _keep_freed_memory()
        tasks = []
        for job in jobs:
            Q, B = self.chunk(job, work_bytes)
            blocks = [slice(n0, min(n0 + B, self.N)) for n0 in range(0, self.N, B)]
            tasks += [(job, job.flat[q : q + Q], blocks) for q in range(0, job.flat.size, Q)]

        def task(item):
            job, flat, blocks = item
            shifts = job.stencil(flat)
            total, changed = None, None
            for rows in blocks:
                sums, moved = self.values(job.layer, job.which, flat, shifts, rows)
                total = sums if total is None else total + sums
                changed = moved if changed is None else changed | moved
            job.finish(flat, total / self.N, changed)

        _run(tasks, task, min(threads, len(tasks)))


def _keep_freed_memory() -> None:
    """Let glibc keep the chunks' freed temporaries for the next chunk.

    By default glibc hands freed memory above its trim threshold back to the
    OS, so every chunk's temporaries were fresh pages: 1.1 million page faults
    (≈3 µs each in this VM, 3 s of system time) for one central-difference
    gradient of a 64-128-128-10 network, more than its tanh evaluations.  One
    allocation of just under 32 MiB, freed at once, raises glibc's adaptive
    thresholds (mmap 32 MiB, trim 64 MiB) exactly as any program allocating
    such an array does; no allocator setting is changed, and elsewhere (or on
    another allocator) it does nothing."""
    np.empty((32 << 20) - (64 << 10), dtype=np.uint8)


def _product(W: np.ndarray, a: np.ndarray) -> np.ndarray:
    """W @ a; for complex a and real W as one real product over a's interleaved
    (real, imaginary) pairs — half the work of a complex one, same numbers."""
    if np.iscomplexobj(a) and not np.iscomplexobj(W):
        a = np.ascontiguousarray(a)
        real = a.real.dtype  # complex64 work may have been promoted to complex128 by the activations
        return np.matmul(W.astype(real, copy=False), a.view(real)).view(a.dtype)
    return np.matmul(W, a)


def _run(tasks: list, task: Callable, threads: int) -> None:
    """``task(t)`` for every t, on ``threads`` threads pulling from one queue;
    the first exception stops the others and is raised here."""
    if threads <= 1:
        with _one_blas_thread():  # the products are skinny: BLAS threads only wait on each other
            for t in tasks:
                task(t)
        return
    errors = np.geterr()  # the caller's floating-point policy holds in the workers too
    pending, lock, failures = iter(tasks), threading.Lock(), []

    def worker():
        with np.errstate(**errors):
            while True:
                with lock:
                    t = None if failures else next(pending, None)
                if t is None:
                    return
                try:
                    task(t)
                except BaseException as error:  # noqa: BLE001 — re-raised in the caller's thread
                    with lock:
                        failures.append(error)
                    return

    with _one_blas_thread():
        workers = [threading.Thread(target=worker, name=f"perturbation-batch-{n}") for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    if failures:
        raise failures[0]


def _one_blas_thread():
    return threadpool_limits(limits=1, user_api="blas")
