"""What a flag cannot say, per comparison: the columns beside the funnel (issue 10 point 3).

:func:`assess` takes a fitted funnel (:class:`~utfall.stats.overdispersion.limits.OverdispersionFit`,
whatever the method) and the groups' counts and returns, on the same random-effects model
the funnel is drawn from (a group's true value is expit(c + τu), u ~ N(0, 1)):

* per group (:data:`ASSESSMENT_ROW_KEYS`): the empirical-Bayes (shrunken) estimate of its true
  rate with a 95 % interval, P(true rate < the reference) and P(true rate < a goal given by the
  user), and the smallest shortfall and excess the 99.8 % funnel finds with 80 % power at its n
  (:mod:`.empirical_bayes`);
* per indicator: the reliability (rankability ρ = τ²/(τ² + typical sampling variance)) with its
  interval from the profile likelihood of τ, a verdict and a plain-Swedish sentence.

Values can be put on another scale (``scale``): the case-mix adjusted view fits the funnel on
indirectly standardised proportions and shows everything as O/E, i.e. divided by the overall
rate. Groups the fit left out as outliers are not shrunk (that would contradict their flag):
their estimate, interval and probabilities come from their own answers alone (Jeffreys'
Beta(x + ½, n − x + ½) posterior). The profile likelihood is the binomial–logit-normal likelihood of the groups kept in
the fit (outliers the fit left out are left out here too), maximised over the centre.

Validated through :mod:`.empirical_bayes` (posterior against ``scipy.integrate.quad``,
Efron–Morris, detectable rate against scipy's binomial) and end to end with known truth in
``tests/stats/test_assessment.py``: on simulated comparisons the shrunken estimates are
closer to the true rates than the raw ones, their intervals cover the truth in about 95 %,
P(below) is calibrated, a provider at its detectable rate is flagged in about 80 % of
repetitions, and ρ's interval covers the true ρ.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from utfall.stats import mixture
from utfall.stats.empirical_bayes import (
    Rankability,
    detectable_difference,
    posterior_columns,
    posterior_columns_each,
    rankability,
)
from utfall.stats.overdispersion import store
from utfall.stats.overdispersion.limits import OverdispersionFit, centre_for_target
from utfall.stats.overdispersion.store import kept_result

__all__ = [
    "ASSESSMENT_ROW_KEYS",
    "Assessment",
    "ProfileLikelihood",
    "assess",
    "assess_each",
    "profile_loglik",
]

FloatArray = NDArray[np.float64]

#: Keys every comparison row gains (None where the row is hidden or has no answers).
ASSESSMENT_ROW_KEYS = (
    "estimate",
    "estimate_low",
    "estimate_high",
    "p_below_reference",
    "p_below_goal",
    "detectable_low",
    "detectable_high",
)
#: Flags are drawn at this level; the detectable difference is the one flagged with POWER there.
FLAG_LEVEL = 0.998
POWER = 0.8


@dataclass(frozen=True)
class Assessment:
    """Per-group columns (aligned with the input groups) and the indicator's reliability."""

    rows: list[dict[str, float | None]]
    reliability: Rankability | None = None
    goal: float | None = None
    notes: list[str] = field(default_factory=list)

    def reliability_dict(self) -> dict[str, Any] | None:
        """``{"rankability", "rankability_low", "rankability_high", "verdict", "sentence"}``
        rounded to 4 decimals (None without a fitted spread)."""
        if self.reliability is None:
            return None
        out: dict[str, Any] = {}
        for key, value in self.reliability.as_dict().items():
            out[key] = round(float(value), 4) if isinstance(value, float) else value
        out["sentence"] = self.reliability.sentence
        return out


class ProfileLikelihood:
    """ℓ_p(τ) = max over c of Σ log P(X = x) under binomial(m, expit(c + τu)), u ~ N(0, 1).

    Callable (``profile(τ)`` is ℓ_p(τ)); :meth:`value_and_slope` also gives dℓ_p/dτ, which by
    the envelope theorem is ∂ℓ/∂τ at the maximising centre: E[u·ℓ′(η) | x] summed over the
    groups (:func:`mixture.log_pmf_grad`'s τ-derivative), so :func:`rankability` can find the
    ends of the interval by Newton's method instead of bisecting on values.

    Each P(X = x) is the adaptive 20-node Gauss–Hermite rule of :func:`mixture.log_pmf_grad`
    (nodes at each group's posterior mode, scaled by its curvature; the modes warm-started from
    the previous τ). For one τ the centre is found in rounds: the nodes are placed at the
    current centre and held fixed in η while Newton's method maximises over c (the normal
    density is then the only factor that moves, with analytic derivatives, as in
    ``overdispersion.truncated``), then re-placed at the new centre, until the centre moves
    less than 1e-9. The value returned is the exact adaptive rule at that centre.
    """

    def __init__(self, x: ArrayLike, m: ArrayLike, start: float) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.m = np.asarray(m, dtype=np.float64)
        self.const = float(np.sum(special.gammaln(self.m + 1) - special.gammaln(self.x + 1)
                                  - special.gammaln(self.m - self.x + 1)))  # fmt: skip
        self.c = float(start)
        self._eta: FloatArray | None = None  # the posterior modes (in η) at the last τ: a warm start
        #: (τ, maximising centre, posterior modes in η) of every τ evaluated: the nearest τ's
        #: centre and modes start the next one (the root search jumps between the bracket's ends).
        self._seen: list[tuple[float, float, FloatArray]] = []

    def __call__(self, tau: float) -> float:
        return self.value_and_slope(tau)[0]

    def _nodes(self, c: float, tau: float) -> tuple[FloatArray, FloatArray]:
        """The adaptive rule at (c, τ): the nodes in η (k × 20) and their log-terms, whose
        log-sum-exp per group is log P(X = x) − its constant (:func:`mixture.log_pmf_grad`)."""
        x, m = self.x, self.m
        start = None if self._eta is None else (self._eta - c) / tau
        u, curvature = mixture.posterior_mode("proportion", x, m, np.full(x.shape, c), tau, start=start)
        self._eta = c + tau * u
        scale = np.sqrt(2.0) / np.sqrt(-curvature)
        points = u[:, None] + scale[:, None] * mixture._T
        # In place where a value is not needed again (the same operations, the same bits).
        eta = np.multiply(tau, points)
        eta += c
        softplus = mixture.softplus(eta)
        terms = np.multiply(x[:, None], eta)
        softplus *= m[:, None]
        terms -= softplus
        terms += mixture._LOG_W
        squares = np.multiply(points, points, out=points)
        squares *= 0.5
        terms -= squares
        terms += np.log(scale)[:, None]
        return eta, terms

    def value_and_slope(self, tau: float) -> tuple[float, float]:
        """ℓ_p(τ) and dℓ_p/dτ."""
        x, m = self.x, self.m
        if tau <= 0.0:  # no spread: the binomial likelihood, maximised at the pooled rate
            c = float(special.logit(x.sum() / m.sum()))
            return self.const + float(np.sum(x * c - m * np.logaddexp(0.0, c))), 0.0
        if self._seen:
            nearest = sorted(self._seen, key=lambda seen: abs(seen[0] - tau))
            _, self.c, self._eta = nearest[0]
            if len(nearest) > 1 and nearest[1][0] != nearest[0][0]:
                # The maximising centre moves smoothly with τ: the line through the two nearest
                # τ's centres lands within the re-placing threshold (1e-3) where the nearest's
                # own centre did not (one placement of the nodes instead of two).
                (t0, c0, _), (t1, c1, _) = nearest[0], nearest[1]
                self.c = c0 + (c1 - c0) * (tau - t0) / (t1 - t0)
        c = self.c
        t2 = tau * tau
        for _ in range(8):
            eta, terms = self._nodes(c, tau)
            # Newton on c with the nodes fixed in η: only the normal density N(η; c, τ²) moves
            # (log-terms shift by ((η − c₀)² − (η − c)²)/2τ²), with analytic derivatives.
            c_new = c
            placed = (eta - c) ** 2  # the same in every step of this round
            # Each step's (k × 20) arrays in two buffers, written in place (the same operations
            # in the same order as new arrays each: the same bits, without ~8 fresh arrays a step).
            d, w = np.empty(eta.shape), np.empty(eta.shape)
            for _ in range(30):
                np.subtract(eta, c_new, out=d)
                np.multiply(d, d, out=w)
                np.subtract(placed, w, out=w)
                w *= 0.5
                w /= t2
                w += terms  # shifted
                top = w.max(axis=1, keepdims=True)
                w -= top
                np.exp(w, out=w)
                total = w.sum(axis=1, keepdims=True)
                w /= total
                w *= d  # w·d
                mean_a = w.sum(axis=1) / t2
                grad = float(mean_a.sum())
                wdd = np.multiply(w, d, out=w)
                curv = float(np.sum(wdd.sum(axis=1) / (t2 * t2) - mean_a**2)) - x.size / t2
                # As np.clip of the float (NaN stays NaN).
                step = min(max(-grad / curv if curv < 0 else grad, -2.0), 2.0)
                if abs(step) < 1e-10:
                    break
                c_new += step
            if abs(c_new - c) < 1e-3:
                break  # the nodes fit the centre: no need to re-place them
            c = c_new
        self.c = c_new
        if self._eta is not None:
            self._seen.append((tau, c_new, self._eta))
        value = self.const + float(np.sum(np.log(total[:, 0]) + top[:, 0])) - 0.5 * mixture._LOG_2PI * x.size
        # ∂/∂τ log N(η; c, τ²) = −1/τ + (η − c)²/τ³, averaged over each group's posterior.
        slope = float(np.sum(np.sum(wdd, axis=1) / (t2 * tau) - 1.0 / tau))
        return value, slope


def profile_loglik(x: ArrayLike, m: ArrayLike, start: float) -> ProfileLikelihood:
    """The profile log-likelihood of τ (:class:`ProfileLikelihood`), started at centre ``start``."""
    return ProfileLikelihood(x, m, start)


def _finite_or_none(col: FloatArray) -> list[float | None]:
    """The column's values as floats, None where not finite."""
    values = col.tolist()
    finite = np.isfinite(col)
    if finite.all():
        return values  # type: ignore[no-any-return]
    return [v if ok else None for v, ok in zip(values, finite.tolist(), strict=True)]


def _flagged_counts(low: FloatArray, high: FloatArray, sizes: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The largest count flagged low (−1 when none can be) and the smallest flagged high (n + 1
    when none can be) at each size, from the funnel's limits there (:func:`detectable_difference`'s input)."""
    low_count = np.where(np.isfinite(low), np.ceil(low * sizes - 1e-9) - 1.0, -1.0)
    high_count = np.where(np.isfinite(high), np.floor(high * sizes + 1e-9) + 1.0, sizes + 1.0)
    return low_count, high_count


def _own_data(
    x: FloatArray, m: FloatArray, reference: float, goal: float | None, level: float, scale: float
) -> list[dict[str, float | None]]:
    """Each group's columns from its own answers alone: Jeffreys' Beta(x + ½, n − x + ½) posterior."""
    a, b = x + 0.5, m - x + 0.5
    alpha = (1.0 - level) / 2.0
    columns = {
        "estimate": a / (a + b) / scale,
        "estimate_low": stats.beta.ppf(alpha, a, b) / scale,
        "estimate_high": stats.beta.ppf(1.0 - alpha, a, b) / scale,
        "p_below_reference": stats.beta.cdf(reference, a, b),
    }
    below_goal = None if goal is None else stats.beta.cdf(goal, a, b)
    return [
        {**{key: float(col[j]) for key, col in columns.items()},
         "p_below_goal": None if below_goal is None else float(below_goal[j])}
        for j in range(x.size)
    ]  # fmt: skip


def assess(
    fit: OverdispersionFit | None,
    events: ArrayLike,
    n: ArrayLike,
    *,
    used: ArrayLike,
    goal: float | None = None,
    scale: float = 1.0,
    level: float = 0.95,
    only: ArrayLike | None = None,
    reliability: bool = True,
    outliers: ArrayLike | None = None,
) -> Assessment:
    """The assessment columns for every group (``events`` of ``n``, proportions).

    ``used`` are the positions of the groups the fit was estimated from (``fit.excluded`` are
    positions within ``used``); ``goal`` a rate the user wants the providers to reach (on the
    scale of the output, i.e. already divided by nothing: pass it only with ``scale`` 1).
    ``scale`` divides every rate (estimate, interval, detectable differences) for output.
    Groups with n = 0 get None throughout. ``only`` (positions) limits the per-group columns
    to those groups (the others get None); ``reliability=False`` skips the profile likelihood.
    ``outliers`` (positions) are the groups not to shrink; by default ``used[fit.excluded]``
    (pass them when ``fit`` is a reference fitted on other groups).
    """
    x = np.atleast_1d(np.asarray(events, dtype=np.float64))
    m = np.atleast_1d(np.asarray(n, dtype=np.float64))
    empty: dict[str, float | None] = dict.fromkeys(ASSESSMENT_ROW_KEYS)
    rows = [dict(empty) for _ in range(x.size)]
    if fit is None or fit.kind != "proportion":
        return Assessment(rows, None, goal)
    tau2 = max(float(fit.tau2), 0.0)
    tau = math.sqrt(tau2)
    reference = float(fit.target)
    centre = float(fit.centre)
    if not math.isfinite(centre):  # the textbook (normal) methods carry no centre
        centre = centre_for_target("proportion", reference, tau2)
    shown = np.flatnonzero(m > 0)
    if only is not None:
        shown = np.intersect1d(shown, np.asarray(only, dtype=np.int64))
    wanted = set(shown.tolist())
    if shown.size and not 0.0 < reference < 1.0:
        # Every answer the same (all yes or all no): nothing varies, nothing can be flagged.
        for i in shown.tolist():
            rows[i].update(estimate=reference / scale, estimate_low=reference / scale,
                           estimate_high=reference / scale, p_below_reference=0.0,
                           p_below_goal=None if goal is None else float(reference < goal))  # fmt: skip
        shown = shown[:0]
    if shown.size:
        post = posterior_columns(
            "proportion", x[shown], m[shown], centre, tau, reference=reference, target=goal, level=level
        )
        # A function of the size alone (the limits are per size, the rest elementwise): once per
        # distinct size (about half the providers share a size with another at 750), the same bits.
        sizes, where = np.unique(m[shown], return_inverse=True)
        low_count, high_count = _flagged_counts(*fit.limits(sizes, FLAG_LEVEL), sizes)
        short, excess = detectable_difference(
            "proportion", sizes, low_count, high_count, reference, power=POWER
        )
        short, excess = short[where.reshape(-1)], excess[where.reshape(-1)]
        # Columns read once as arrays (a row at a time through .iloc cost ~0.1 ms per group).
        est, lower, upper, below = (post[c] for c in ("estimate", "lower", "upper", "p_below_reference"))
        below_goal = post["p_below_target"] if goal is not None else None
        # A column at a time (the same divisions, elementwise), then the rows from the columns:
        # None where not finite.
        columns = [
            est / scale,
            lower / scale,
            upper / scale,
            below,
            below_goal,
            short / scale,
            excess / scale,
        ]
        by_column = [_finite_or_none(col) if col is not None else [None] * shown.size for col in columns]
        for i, row in zip(shown.tolist(), zip(*by_column, strict=True), strict=True):
            rows[i] = dict(zip(ASSESSMENT_ROW_KEYS, row, strict=True))
    kept = np.asarray(used, dtype=np.int64)
    if outliers is None:
        left_out = kept[list(fit.excluded)] if fit.excluded else kept[:0]
    else:
        left_out = np.asarray(outliers, dtype=np.int64)
    kept = np.setdiff1d(kept, left_out)
    # The fit left these out as clearly different from the rest: shrinking them towards the
    # others would contradict their flag. Their own data only (Jeffreys' Beta(x + ½, n − x + ½)).
    own = np.asarray([i for i in left_out.tolist() if i in wanted], dtype=np.int64)
    if own.size:
        for i, values in zip(
            own.tolist(), _own_data(x[own], m[own], reference, goal, level, scale), strict=True
        ):
            rows[i].update(values)
    spread = None
    if reliability and kept.size >= 3 and 0.0 < reference < 1.0:
        xk, mk = x[kept], m[kept]

        def reliability_of() -> Rankability | None:
            profile = profile_loglik(xk, mk, centre)
            try:
                return rankability("proportion", mk, tau, reference, profile, level=level)
            except ValueError:  # a profile that does not bracket (degenerate data): say nothing
                return None

        # A pure function of these counts and numbers (~7 ms at 750 providers): kept between
        # processes with the fits, inside their block (2026-12-06, mgroe3).
        parts = [
            xk.tobytes(),
            mk.tobytes(),
            *(float(v).hex().encode() for v in (centre, tau, reference, level)),
        ]
        spread = kept_result("rankability", parts, reliability_of, _rankability_text, _rankability_of_text)
    return Assessment(rows, spread, goal)


def assess_each(
    fits: Sequence[OverdispersionFit | None],
    events: ArrayLike,
    n: ArrayLike,
    *,
    outlier: Sequence[bool],
    level: float = 0.95,
) -> list[dict[str, float | None]]:
    """One group of each of several comparisons, each on its own fit: row i is
    ``assess(fits[i], …, only=[its position], reliability=False).rows[its position]`` for a
    group with ``events[i]`` of ``n[i]``, which that fit left out as an outlier when
    ``outlier[i]`` (scale 1, no goal). A provider page assesses its row of ~30 comparisons:
    their posteriors in one grid and their detectable differences in one call each, instead of
    ~30 of each (~1 ms each, most of it numpy's and scipy's overhead on one-element arrays;
    2026-12-07).

    Validated through :func:`assess` (whose validation is this module's docstring's):
    ``tests/stats/test_assessment.py`` compares the two row by row over fits of every method,
    outliers, a fit without spread and every answer the same."""
    x = np.atleast_1d(np.asarray(events, dtype=np.float64))
    m = np.atleast_1d(np.asarray(n, dtype=np.float64))
    rows: list[dict[str, float | None]] = [dict.fromkeys(ASSESSMENT_ROW_KEYS) for _ in range(x.size)]
    grid, centres, taus, references = [], [], [], []
    for i, fit in enumerate(fits):
        if fit is None or fit.kind != "proportion" or not m[i] > 0:
            continue
        reference = float(fit.target)
        if not 0.0 < reference < 1.0:  # every answer the same: nothing varies (as assess)
            rows[i].update(estimate=reference, estimate_low=reference, estimate_high=reference,
                           p_below_reference=0.0, p_below_goal=None)  # fmt: skip
            continue
        tau2 = max(float(fit.tau2), 0.0)
        centre = float(fit.centre)
        if not math.isfinite(centre):
            centre = centre_for_target("proportion", reference, tau2)
        grid.append(i)
        centres.append(centre)
        taus.append(math.sqrt(tau2))
        references.append(reference)
    if not grid:
        return rows
    at = np.asarray(grid, dtype=np.int64)
    post = posterior_columns_each(
        "proportion", x[at], m[at], centres, taus, reference=references, level=level
    )
    limits = np.array([fits[i].limits(m[i : i + 1], FLAG_LEVEL) for i in grid]).reshape(at.size, 2)  # type: ignore[union-attr]
    low_count, high_count = _flagged_counts(limits[:, 0], limits[:, 1], m[at])
    short, excess = detectable_difference("proportion", m[at], low_count, high_count, references, power=POWER)
    columns = [post["estimate"], post["lower"], post["upper"], post["p_below_reference"],
               [None] * at.size, short, excess]  # fmt: skip
    by_column = [_finite_or_none(col) if isinstance(col, np.ndarray) else col for col in columns]
    for i, row in zip(grid, zip(*by_column, strict=True), strict=True):
        rows[i] = dict(zip(ASSESSMENT_ROW_KEYS, row, strict=True))
    # The groups a fit left out are not shrunk: their own data alone (as assess).
    own = [i for i in grid if outlier[i]]
    for i in own:
        (values,) = _own_data(x[i : i + 1], m[i : i + 1], float(fits[i].target), None, level, 1.0)  # type: ignore[union-attr]
        rows[i].update(values)
    return rows


_RANKABILITY_FIELDS = ("value", "lower", "upper", "tau_lower", "tau_upper")


def _rankability_text(spread: Rankability | None) -> str | None:
    """The reliability's five numbers as text, each with its type (``store``'s tags: the exact
    bits); None (not stored) without one."""
    if spread is None:
        return None
    return json.dumps({name: store.tagged(getattr(spread, name)) for name in _RANKABILITY_FIELDS})


def _rankability_of_text(text: str) -> Rankability | None:
    """:func:`_rankability_text` read back (None for any other text)."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or set(data) != set(_RANKABILITY_FIELDS):
            return None
        values = [store.untagged(data[name]) for name in _RANKABILITY_FIELDS]
    except (ValueError, TypeError, KeyError):
        return None
    if not all(isinstance(v, float) for v in values):  # np.float64 is a float
        return None
    return Rankability(*values)
