"""The assessment's statistics as they were before 2026-12-02 (main 8fc5821), kept only to test
the faster code against: the 801-point posterior grid with linear interpolation of its CDF,
and the profile likelihood re-maximised by secant steps with rankability's ends by Brent's
method (``brentq``, xtol 1e-4, rtol 1e-3). Not used by utfall."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

from utfall.stats import mixture

FloatArray = NDArray[np.float64]
_GRID = np.linspace(-10.0, 10.0, 801)


def old_modes(x: FloatArray, m: FloatArray, centre: float, tau: float) -> tuple[FloatArray, FloatArray]:
    """The old posterior-mode search (plain Newton, steps clipped at 4) and, per group, whether it
    ended at the mode (it can cycle for ever at large τ·n: then the old results were wrong)."""
    off = np.full(x.shape, centre)
    u = np.zeros(x.shape)
    for _ in range(100):
        _, d1, d2 = mixture._log_f("proportion", x, m, off + tau * u)
        step = np.clip((tau * d1 - u) / (tau * tau * d2 - 1.0), -4.0, 4.0)
        u = u - step
        if np.all(np.abs(step) < 1e-10):
            break
    _, d1, d2 = mixture._log_f("proportion", x, m, off + tau * u)
    converged = np.abs(tau * d1 - u) < 1e-6 * (1.0 + np.abs(u))
    return u, converged


def old_posterior(
    x: FloatArray,
    m: FloatArray,
    centre: float,
    tau: float,
    reference: float,
    target: float,
    level: float = 0.95,
) -> dict[str, FloatArray]:
    """The old posterior_summary (proportions, τ > 0) as columns of arrays."""
    u, _ = old_modes(x, m, centre, tau)
    off = np.full(x.shape, centre)
    _, _, d2 = mixture._log_f("proportion", x, m, off + tau * u)
    sd = 1.0 / np.sqrt(1.0 - tau * tau * d2)
    points = u[:, None] + sd[:, None] * _GRID
    log_f, _, _ = mixture._log_f("proportion", x[:, None], m[:, None], off[:, None] + tau * points)
    log_dens = log_f - 0.5 * points**2
    dens = np.exp(log_dens - log_dens.max(axis=1, keepdims=True))
    steps = np.diff(points, axis=1)
    cum = np.concatenate(
        [np.zeros((x.size, 1)), np.cumsum(0.5 * (dens[:, 1:] + dens[:, :-1]) * steps, axis=1)], axis=1
    )
    h = steps[:, :1]
    slope = np.gradient(dens, axis=1) / h
    cum = cum - h * h / 12.0 * (slope - slope[:, :1])
    cdf, dens = cum / cum[:, -1:], dens / cum[:, -1:]
    values = special.expit(centre + tau * points)
    alpha = (1.0 - level) / 2.0

    def below(value: float) -> FloatArray:
        u_star = (special.logit(value) - centre) / tau
        out = np.empty(x.size)
        for row in range(x.size):
            p, c, d = points[row], cdf[row], dens[row]
            if u_star <= p[0] or u_star >= p[-1]:
                out[row] = 0.0 if u_star <= p[0] else 1.0
                continue
            j = int(np.searchsorted(p, u_star, side="right")) - 1
            step = p[j + 1] - p[j]
            t = (u_star - p[j]) / step
            out[row] = c[j] + step * t * (d[j] + 0.5 * t * (d[j + 1] - d[j]))
        return np.clip(out, 0.0, 1.0)

    return {
        "estimate": np.sum(values * dens, axis=1) / np.sum(dens, axis=1),
        "lower": np.array([np.interp(alpha, c, v) for c, v in zip(cdf, values, strict=True)]),
        "upper": np.array([np.interp(1.0 - alpha, c, v) for c, v in zip(cdf, values, strict=True)]),
        "p_below_reference": below(reference),
        "p_below_target": below(target),
    }


def old_profile(x: FloatArray, m: FloatArray, start: float) -> Callable[[float], float]:
    """The old profile_loglik: ℓ_p(τ) re-maximised over c by Fisher-scoring and secant steps."""
    last = [start]

    def profile(tau: float) -> float:
        c = last[0]
        value = -math.inf
        lo, hi = -math.inf, math.inf
        previous: tuple[float, float] | None = None
        for _ in range(100):
            lp, d1, _ = mixture.log_pmf_grad("proportion", x, m, c, tau)
            value = float(lp.sum())
            grad = float(d1.sum())
            if grad > 0:
                lo = max(lo, c)
            else:
                hi = min(hi, c)
            curvature = 0.0
            if previous is not None and c != previous[0]:
                curvature = (grad - previous[1]) / (c - previous[0])
            if not curvature < 0:
                p = float(special.expit(c))
                info = m * p * (1.0 - p)
                curvature = -float(np.sum(info / (1.0 + tau * tau * info)))
            step = max(-2.0, min(2.0, -grad / curvature))
            if abs(step) < 1e-8 or hi - lo < 1e-8:
                break
            new = c + step
            if not lo < new < hi and math.isfinite(lo) and math.isfinite(hi):
                new = 0.5 * (lo + hi)
            previous = (c, grad)
            c = new
        last[0] = c
        return value

    return profile


def old_tau_interval(
    tau: float, profile: Callable[[float], float], level: float = 0.95
) -> tuple[float, float]:
    """The old rankability's profile-likelihood interval of τ (Brent's method)."""
    top = profile(tau)
    cut = float(stats.chi2.ppf(level, 1)) / 2.0

    def drop(t: float) -> float:
        return top - profile(t) - cut

    lower = (
        0.0 if tau <= 0.0 or drop(0.0) <= 0 else float(optimize.brentq(drop, 0.0, tau, xtol=1e-4, rtol=1e-3))
    )
    hi = max(2.0 * tau, 0.05)
    while drop(hi) < 0 and hi < 10.0:
        hi *= 2.0
    upper = float(optimize.brentq(drop, tau, hi, xtol=1e-4, rtol=1e-3)) if drop(hi) > 0 else hi
    return lower, upper
