"""The default method, ``"robust-re"``: a robust random-effects estimate of the spread.

Validated by seeded simulation (tests/stats/test_overdispersion.py, marked slow; figures in
docs/statistics.md); the steps are described in the package's docstring.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import optimize, special, stats

from utfall.stats.overdispersion.limits import (
    TAU_MAX,
    FloatArray,
    Kind,
    OverdispersionFit,
    centre_for_target,
    mixture_mean,
    tail_flags,
)

#: Huber cut-off for the winsorised z-scores of the robust estimator.
HUBER_K = 1.0
#: Groups outside limits at this level are left out of the robust estimate.
EXCLUDE_LEVEL = 0.99
_MAX_ITER = 30


@functools.lru_cache(maxsize=8)
def _winsorised_second_moment(k: float) -> float:
    """E[min(|Z|, k)²] for standard normal Z: the consistency constant."""
    inner = (2.0 * stats.norm.cdf(k) - 1.0) - 2.0 * k * stats.norm.pdf(k)
    return float(inner + 2.0 * k * k * stats.norm.sf(k))


def _robust_tau2(y: FloatArray, v: FloatArray, centre: float, k: float) -> tuple[float, float]:
    """τ² solving mean(min(|z|, k)²)/E[min(|Z|, k)²] = 1, and φ (the same at τ² = 0)."""
    c = _winsorised_second_moment(k)
    d = y - centre  # the same at every τ² of the root search
    buffer = np.empty(d.shape)

    def excess(t2: float) -> float:
        # min(|d / √(v + τ²)|, k)², the same operations written into one buffer (brentq calls
        # this about 130 times a fit; ``** 2`` is numpy's square). The mean as np.mean computes
        # it (the same sum, divided by the count) without its wrapper.
        z = np.add(v, t2, out=buffer)
        np.sqrt(z, out=z)
        np.divide(d, z, out=z)
        np.abs(z, out=z)
        np.minimum(z, k, out=z)
        winsorised = np.square(z, out=z)
        return float(winsorised.sum() / winsorised.size / c - 1.0)

    phi = excess(0.0) + 1.0
    if phi <= 1.0:
        return 0.0, phi
    hi = 1.0
    while excess(hi) > 0:
        hi *= 4.0
    return float(optimize.brentq(excess, 0.0, hi, xtol=1e-10)), phi


def _huber_centre(y: FloatArray, v: FloatArray, tau2: float, start: float, k: float) -> float:
    centre = start
    s = np.sqrt(v + tau2)  # the scale and weight denominators do not move with the centre
    s2 = s**2
    w, wy = np.empty(y.shape), np.empty(y.shape)
    for _ in range(100):
        # w = min(1, k / max(|(y − centre)/s|, 1e-12)) / s², the same operations in two buffers.
        np.subtract(y, centre, out=w)
        w /= s
        np.abs(w, out=w)
        np.maximum(w, 1e-12, out=w)
        np.divide(k, w, out=w)
        np.minimum(w, 1.0, out=w)
        w /= s2
        np.multiply(w, y, out=wy)
        new = float(wy.sum() / w.sum())  # np.sum without its wrapper (the same sums)
        if abs(new - centre) < 1e-12:
            return new
        centre = new
    return centre


def fit_robust(kind: Kind, x: FloatArray, m: FloatArray, target: float | None) -> OverdispersionFit:
    k = HUBER_K
    # Empirical logit / log: finite at 0 and at n.
    y = special.logit((x + 0.5) / (m + 1.0)) if kind == "proportion" else np.log((x + 0.5) / m)
    keep = np.ones(x.size, dtype=bool)
    p0 = float(target) if target is not None else float(x.sum() / m.sum())
    centre = float(np.median(y))
    tau2, phi = 0.0, 1.0
    alpha_exclude = (1.0 - EXCLUDE_LEVEL) / 2.0
    for _ in range(_MAX_ITER):
        v = 1.0 / (m * p0 * (1.0 - p0)) if kind == "proportion" else 1.0 / (m * p0)
        for _ in range(_MAX_ITER):
            if target is not None:
                centre = centre_for_target(kind, p0, tau2)
            new_tau2, phi = _robust_tau2(y[keep], v[keep], centre, k)
            if target is None:
                centre = _huber_centre(y[keep], v[keep], new_tau2, centre, k)
            else:
                # The centre follows τ² to keep the mean at the target; far from the groups each
                # wider τ² moves it further out and the next estimate is wider still: bounded.
                new_tau2 = min(new_tau2, TAU_MAX * TAU_MAX)
            done = abs(new_tau2 - tau2) < 1e-10
            tau2 = new_tau2
            if done:
                break
        if target is None:
            p0 = mixture_mean(kind, centre, tau2)
        else:
            centre = centre_for_target(kind, p0, tau2)
        new_keep = ~tail_flags(kind, centre, tau2, x, m, alpha_exclude)
        if not new_keep.any():
            # Every group outside the limits (a fixed target far from all of them): nothing left
            # to estimate from, so the set stays (as ``truncated-ml`` does; 2026-12-06).
            new_keep = keep
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return OverdispersionFit(
        method="robust-re",
        kind=kind,
        target=p0,
        phi=phi,
        tau2=tau2,
        excluded=tuple(int(i) for i in np.flatnonzero(~keep)),
        scale="logit" if kind == "proportion" else "log",
        centre=centre,
    )
