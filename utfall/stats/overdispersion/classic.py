"""The textbook overdispersion estimators, kept for comparison and for the reference vectors.

DerSimonian–Laird τ², Spiegelhalter's winsorised φ and additive τ² (NHS/CQC), FunnelPlotR's
SHMI φ, and :func:`fit_textbook`, the funnel of the methods ``"spiegelhalter-additive"``,
``"spiegelhalter-multiplicative"`` and ``"dersimonian-laird"`` (normal limits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from utfall.stats.overdispersion.limits import FloatArray, Kind, OverdispersionFit


@dataclass(frozen=True)
class DerSimonianLaird:
    """Result of :func:`dersimonian_laird`."""

    tau2: float
    q: float
    i2: float
    fixed_mean: float
    random_mean: float
    random_se: float


def dersimonian_laird(y: ArrayLike, v: ArrayLike) -> DerSimonianLaird:
    """DerSimonian–Laird τ² (the additive random-effects step) with Q, I² and the means.

    τ² = max(0, (Q − (k − 1)) / (Σw − Σw²/Σw)), w = 1/v, Q = Σw(y − ȳ_w)². This is
    Spiegelhalter's additive τ² without winsorisation, with the inverse-variance target.

    Validated against ``reference/dersimonian_laird_metafor.json`` (R metafor::rma on
    Kacker 2004: τ², Q, I², FE and RE mean and se; rel 1e-9).
    """
    ya = np.asarray(y, dtype=np.float64)
    w = 1.0 / np.asarray(v, dtype=np.float64)
    fixed = float(np.sum(w * ya) / np.sum(w))
    q = float(np.sum(w * (ya - fixed) ** 2))
    k = ya.size
    tau2 = max(0.0, (q - (k - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    i2 = max(0.0, (q - (k - 1)) / q) * 100.0 if q > 0 else 0.0
    w_re = 1.0 / (1.0 / w + tau2)
    random = float(np.sum(w_re * ya) / np.sum(w_re))
    return DerSimonianLaird(
        tau2=float(tau2),
        q=q,
        i2=float(i2),
        fixed_mean=fixed,
        random_mean=random,
        random_se=float(np.sqrt(1.0 / np.sum(w_re))),
    )


def winsorised_phi(z: ArrayLike, fraction: float = 0.1) -> float:
    """Spiegelhalter's φ = mean of z² after winsorising ``fraction`` of z at each tail.

    Validated indirectly: with ``fraction=0`` it equals Q/k of :func:`dersimonian_laird`
    (``reference/dersimonian_laird_metafor.json``, rel 1e-12).
    """
    za = np.asarray(z, dtype=np.float64)
    if fraction > 0:
        lo, hi = np.quantile(za, [fraction, 1.0 - fraction])
        za = np.clip(za, lo, hi)
    return float(np.mean(za**2))


def spiegelhalter_tau2(phi: float, w: ArrayLike) -> float:
    """Additive τ² from φ: max(0, (kφ − (k − 1)) / (Σw − Σw²/Σw)), w = 1/s².

    Validated against ``reference/dersimonian_laird_metafor.json`` (with unwinsorised φ it
    is the DL τ²; rel 1e-9) and the derived τ² of ``funnelplotr_overdispersion.json``.
    """
    wa = np.asarray(w, dtype=np.float64)
    k = wa.size
    return float(max(0.0, (k * phi - (k - 1)) / (np.sum(wa) - np.sum(wa**2) / np.sum(wa))))


def shmi_phi(observed: ArrayLike, expected: ArrayLike, trim: float = 0.1) -> float:
    """FunnelPlotR's SHMI φ: z = √E·ln(O/E), rank-truncate ``trim`` at each end, φ = mean z².

    Validated against ``overdispersion_phi_SR_SHMI`` in
    ``reference/funnelplotr_overdispersion.json`` (φ = 2.948033 to 6 dp).
    """
    o = np.asarray(observed, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    with np.errstate(divide="ignore"):
        z = np.sqrt(e) * np.log(o / e)
    k = round(1.0 / trim)
    rank = stats.rankdata(z, method="ordinal")
    sp = np.floor(rank * k / (z.size + 1))
    keep = (sp > 0) & (sp < k - 1)
    return float(np.mean(z[keep] ** 2))


def fit_textbook(x: FloatArray, m: FloatArray, kind: Kind, method: str, target: float) -> OverdispersionFit:
    """The funnel of a textbook method around ``target``: φ from z-scores on the rate scale
    (winsorised 10 % at each tail, none for DerSimonian–Laird), then τ² additively or φ
    multiplicatively, with normal limits."""
    scale = "proportion" if kind == "proportion" else "ratio"
    value = x / m
    s2 = target * (1.0 - target) / m if kind == "proportion" else target / m
    z = (value - target) / np.sqrt(s2)
    fraction = 0.0 if method == "dersimonian-laird" else 0.1
    phi = winsorised_phi(z, fraction)
    tau2 = spiegelhalter_tau2(phi, 1.0 / s2) if method != "spiegelhalter-multiplicative" else 0.0
    return OverdispersionFit(
        method=method, kind=kind, target=target, phi=phi, tau2=tau2, scale=scale, _normal=True
    )
