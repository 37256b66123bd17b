"""The fitted funnel and its limits, shared by every overdispersion method.

:class:`OverdispersionFit` is what a method returns: target, spread (φ, τ²), the groups
left out, and ``limits``/``flags`` at any size. Its limits are either normal (the
textbook methods, ``_normal``) or the exact quantiles of the fitted predictive
distribution: binomial or Poisson mixed over a logit-/log-normal spread by Gauss–Hermite
quadrature, with Spiegelhalter's interpolation between counts (:func:`mixture_limits`).
:func:`tail_flags` says which groups lie in a tail of that mixture (the robust method
leaves them out). The methods are in ``classic`` and ``robust``; the entry point is the
package (``utfall.stats.overdispersion``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from utfall.stats import mixture
from utfall.stats.proportions import z_for_level

Kind = Literal["proportion", "ratio"]
FloatArray = NDArray[np.float64]

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


@dataclass(frozen=True)
class OverdispersionFit:
    """A fitted funnel: target, spread and the groups left out of the estimate.

    ``limits(size, level)`` gives the funnel at any n (or E for ratios) and
    ``flags(events, size)`` says ``"low"``/``"high"``/``None`` against the 99.8 % limits.
    ``phi`` is the dispersion ratio before adjustment (1 = binomial/Poisson noise only),
    ``tau2`` the between-group variance on ``scale``; ``excluded`` are positions of the
    groups that were left out of the estimate.
    """

    method: str
    kind: Kind
    target: float
    phi: float
    tau2: float
    excluded: tuple[int, ...] = ()
    scale: str = "logit"
    centre: float = float("nan")
    #: "gauss-hermite-40" (the fixed 40-node rule of ``robust-re``) or "adaptive"
    #: (:func:`adaptive_limits`, the default method's).
    quadrature: str = "gauss-hermite-40"
    #: Added to τ² in the limits: the estimate's own uncertainty (var ĉ + (z² − 2)·var τ̂,
    #: ``truncated.TAU_UNCERTAINTY_WEIGHT``), so the funnel is the predictive distribution of
    #: a new provider (``truncated-ml``).
    uncertainty: float = 0.0
    _normal: bool = field(default=False, repr=False)
    #: Limits already worked out, per level and size (a page asks for the same limits in the
    #: comparison and again in the assessment; the fit is immutable, so they cannot change).
    _known: dict[float, dict[float, tuple[float, float]]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    # -- limits ------------------------------------------------------------------------
    def limits(self, size: ArrayLike, level: float = 0.998) -> tuple[FloatArray, FloatArray]:
        """Lower and upper limit at each size (n, or E for ratios) on the rate/ratio scale.

        Each distinct size is worked out once per fit and level (the limits at one size do not
        depend on the other sizes asked for with it) and remembered."""
        m = np.asarray(size, dtype=np.float64)
        if self._normal:
            return self._normal_limits(m, level)
        flat = np.atleast_1d(m).ravel()
        finite = np.isfinite(flat)
        self.prepare(flat[finite], (level,))
        known = self._known[float(level)]
        pairs = [
            known[v] if ok else (math.nan, math.nan)
            for v, ok in zip(flat.tolist(), finite.tolist(), strict=True)
        ]
        both = np.asarray(pairs, dtype=np.float64).reshape(flat.size, 2)
        lower, upper = both[:, 0].reshape(m.shape), both[:, 1].reshape(m.shape)
        return lower, upper

    def prepare(self, size: ArrayLike, levels: tuple[float, ...]) -> None:
        """Work out the limits at these sizes (finite) and levels that are not known yet, the
        adaptive ones in one search for every level (:func:`adaptive_limits_at_levels`): the
        comparison asks for 95 % and 99.8 % at the same sizes. The same limits as asking
        :meth:`limits` one level at a time."""
        if self._normal:
            return
        sizes_all = np.unique(np.atleast_1d(np.asarray(size, dtype=np.float64)))
        sizes_all = sizes_all[np.isfinite(sizes_all)].tolist()
        known = {float(level): self._known.setdefault(float(level), {}) for level in levels}
        missing = sorted({v for at in known.values() for v in sizes_all if v not in at})
        if not missing:
            return
        sizes = np.asarray(missing, dtype=np.float64)
        if self.quadrature == "adaptive":
            found = adaptive_limits_at_levels(
                self.kind, self.centre, self.tau2 + self.uncertainty, sizes, tuple(known)
            )
        else:
            found = [mixture_limits(self.kind, self.centre, self.tau2, sizes, level) for level in known]
        for at, (lo, hi) in zip(known.values(), found, strict=True):
            for v, pair in zip(missing, zip(lo.tolist(), hi.tolist(), strict=True), strict=True):
                at.setdefault(v, pair)

    def prepare_levels(self, sizes: Mapping[float, ArrayLike]) -> None:
        """:meth:`prepare` with sizes of each level's own (``sizes``: level → sizes), in one
        search: the comparison page works out 95 % at the chart's sizes only and 99.8 % at its
        rows' and the chart's (its rows' 95 % limits are shown nowhere on it: 2026-12-06,
        cmp7). Each level's sizes not known yet are worked out; as in :meth:`prepare`, a limit
        once known is kept."""
        if self._normal:
            return
        wanted: dict[float, list[float]] = {}
        for level, size in sizes.items():
            at = self._known.setdefault(float(level), {})
            values = np.unique(np.atleast_1d(np.asarray(size, dtype=np.float64)))
            wanted[float(level)] = [v for v in values[np.isfinite(values)].tolist() if v not in at]
        if not any(wanted.values()):
            return
        asked = [(level, np.asarray(missing, dtype=np.float64)) for level, missing in wanted.items()]
        if self.quadrature == "adaptive":
            found = adaptive_limits_by_level(self.kind, self.centre, self.tau2 + self.uncertainty, asked)
        else:
            found = [mixture_limits(self.kind, self.centre, self.tau2, m, level) if m.size else (m, m)
                     for level, m in asked]  # fmt: skip
        for (level, missing), (lo, hi) in zip(wanted.items(), found, strict=True):
            at = self._known[level]
            for v, pair in zip(missing, zip(lo.tolist(), hi.tolist(), strict=True), strict=True):
                at.setdefault(v, pair)

    def flags(self, events: ArrayLike, size: ArrayLike, level: float = 0.998) -> list[str | None]:
        """``"low"``/``"high"`` where the observed value lies outside the limits, else None."""
        x = np.asarray(events, dtype=np.float64)
        m = np.asarray(size, dtype=np.float64)
        lo, hi = self.limits(m, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = x / m
        out: list[str | None] = []
        for v, a, b in zip(np.atleast_1d(value), np.atleast_1d(lo), np.atleast_1d(hi), strict=True):
            out.append("low" if v < a else "high" if v > b else None)
        return out

    def as_dict(self) -> dict[str, object]:
        """What the comparison output reports: method, phi, tau2, excluded (positions)."""
        return {"method": self.method, "phi": self.phi, "tau2": self.tau2, "excluded": list(self.excluded)}

    def _normal_limits(self, m: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
        z = z_for_level(level)
        p0 = self.target
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = p0 * (1.0 - p0) / m if self.kind == "proportion" else p0 / m
            if self.method == "spiegelhalter-multiplicative":
                half = z * np.sqrt(max(self.phi, 1.0) * s2)
            else:
                half = z * np.sqrt(s2 + self.tau2)
        lower = np.clip(p0 - half, 0.0, None)
        upper = p0 + half
        if self.kind == "proportion":
            upper = np.clip(upper, None, 1.0)
        return lower, upper


def mixture_values(kind: Kind, centre: float, tau2: float) -> FloatArray:
    eta = centre + np.sqrt(tau2) * _NODES
    return special.expit(eta) if kind == "proportion" else np.exp(eta)


#: The widest spread a fit with a fixed target takes: τ ≤ 5 on the logit (log) scale, odds
#: ratios of e^±10 between providers two standard deviations apart, beyond any real spread. With
#: a fixed target the centre follows the spread (the predictive mean stays at the target), and a
#: target far from every group widens the spread without end: ``truncated-ml``'s likelihood is
#: maximised within this bound, and ``robust-re`` stops there (2026-12-06, docs/statistics.md).
TAU_MAX = 5.0
#: The widest half-bracket :func:`centre_for_target` tries (a spread beyond any real one).
_WIDEST = 1e5


def mixture_mean(kind: Kind, centre: float, tau2: float) -> float:
    return float(np.sum(_WEIGHTS * mixture_values(kind, centre, tau2)))


def centre_for_target(kind: Kind, target: float, tau2: float) -> float:
    """The centre whose mixture mean (the predictive mean) is ``target`` at spread ``tau2``.

    The root is bracketed by the target's logit (log) ± 10; a wide spread can push it outside
    (the mean of a logit-normal with τ² ≈ 100 stays between ~0.2 and ~0.85 over that bracket, so
    a fixed target of 0.9 or 0.05 has no root there: ``robust-re`` with a fixed target far from
    the data reached τ² of 100–300 and raised brentq's "f(a) and f(b) must have different
    signs", 2026-12-06). The mean rises with the centre from 0 to 1 (to ∞ for a ratio), so
    the bracket is then doubled until it holds the root; where ± 10 holds it, the answer is the
    one brentq always gave (the same bracket, the same bits)."""
    base = float(special.logit(target) if kind == "proportion" else np.log(target))
    if tau2 == 0.0:
        return base

    def gap(c: float) -> float:
        return mixture_mean(kind, c, tau2) - target

    width = 10.0
    try:
        return float(optimize.brentq(gap, base - width, base + width, xtol=1e-12))
    except ValueError:
        if not (np.isfinite(base) and np.isfinite(tau2) and tau2 > 0.0):
            raise ValueError(f"no centre for target {target!r} at spread τ² = {tau2!r}") from None
    while gap(base - width) > 0.0 or gap(base + width) < 0.0:
        width *= 2.0
        if width > _WIDEST:
            raise ValueError(f"no centre for target {target!r} at spread τ² = {tau2!r}")
    return float(optimize.brentq(gap, base - width, base + width, xtol=1e-12))


#: The 34 of the 40 nodes that carry weight: the six outermost weigh 2.9e-21 together, so
#: leaving them out of a mixed probability moves it by less than that (a flag or a quantile
#: can only change where a tail probability lies within 3e-21 of α).
_HEAVY = _WEIGHTS > 1e-18


def cdf(kind: Kind, r: FloatArray, m: FloatArray, values: FloatArray) -> FloatArray:
    """P(X ≤ r) under the mixture, for arrays r and m of equal shape."""
    return np.asarray(cdf_at_nodes(kind, r, m, values[_HEAVY]) @ _WEIGHTS[_HEAVY])


def _pmf_at_nodes(kind: Kind, x: FloatArray, m: FloatArray, values: FloatArray) -> FloatArray:
    """P(X = x) at each node value (x whole, 0 ≤ x (≤ n)): log-gamma, no incomplete beta."""
    xx, mm, v = x[:, None], m[:, None], values[None, :]
    if kind == "proportion":
        log_p = special.gammaln(mm + 1) - special.gammaln(xx + 1) - special.gammaln(mm - xx + 1)
        log_p = log_p + special.xlogy(xx, v) + special.xlog1py(mm - xx, -v)
    else:
        lam = mm * v
        log_p = special.xlogy(xx, lam) - lam - special.gammaln(xx + 1)
    return np.asarray(np.exp(log_p))


def cdf_at_nodes(kind: Kind, r: FloatArray, m: FloatArray, values: FloatArray) -> FloatArray:
    """P(X ≤ r) at each node value (no mixing): shape (len(r), len(values))."""
    if kind == "proportion":
        return np.asarray(stats.binom.cdf(r[:, None], m[:, None], values[None, :]))
    return np.asarray(stats.poisson.cdf(r[:, None], m[:, None] * values[None, :]))


#: Nodes that matter for a starting guess (the rest carry weight below 1e-6).
_GUESS_NODES = _WEIGHTS > 1e-6


def _quantile_guess(
    kind: Kind,
    p: FloatArray,
    m: FloatArray,
    top: FloatArray,
    values: FloatArray,
) -> FloatArray:
    """A cheap starting point for :func:`_quantiles`, usually exact or one off.

    Each binomial is replaced by a normal with continuity correction (bisection on the
    count), each Poisson by the Wilson–Hilferty approximation (Newton's method from the
    normal approximation of the mixture). Only the speed of the exact search depends on
    the guess, never its answer.

    For binomials the answer is the smallest count k in [0, top) whose approximate mixture CDF
    reaches p (else top). The search probes the count at the continuous solution of the same
    approximate CDF (:func:`_continuous_guess`) and the count before it, then one more count
    on the side it missed, and bisects only the rows still unresolved (fewer than 1 % of them
    at 750 providers). Since the approximate CDF rises with the count, any bracket gives the same answer as the plain bisection on [−1, top]
    (tests/stats/test_faster_paths.py): 2–3 evaluations instead of about log₂ n (the
    continuous solution is Newton's method at ≤ 24 sizes per p, interpolated between them;
    since 2026-12-05, branch ``fit4``: the bisection took about 11 evaluations of all rows,
    or 3–4 from the truncated fit's previous region, a start no caller passes any more).
    """
    w = _WEIGHTS[_GUESS_NODES]
    w = w / w.sum()
    v = values[_GUESS_NODES][None, :]
    mean = m[:, None] * v
    if kind == "proportion":
        sd = np.sqrt(np.maximum(mean * (1.0 - v), 1e-12))
        lo = np.full(m.shape, -1.0)
        hi = top.copy()

        def reaches(count: FloatArray, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
            return np.asarray(special.ndtr((count[:, None] + 0.5 - mean[rows]) / sd[rows]) @ w >= p[rows])

        def probe(at: FloatArray, rows: NDArray[np.intp]) -> None:
            """Evaluate the rows whose bracket ``at`` splits, and narrow their brackets."""
            inside = (at[rows] > lo[rows]) & (at[rows] < hi[rows])
            rows = rows[inside]
            ok = reaches(np.asarray(at[rows], dtype=np.float64), rows)
            hi[rows[ok]] = at[rows[ok]]
            lo[rows[~ok]] = at[rows[~ok]]

        def probe_every(at: FloatArray) -> None:
            """:func:`probe` of every row, on the whole arrays (no copies of the rows picked):
            rows ``at`` does not split are worked out too and left as they were."""
            inside = (at > lo) & (at < hi)
            z = np.subtract(at[:, None] + 0.5, mean)  # (rows × nodes), written in place: the same bits
            z /= sd
            ok = np.asarray(special.ndtr(z, out=z) @ w >= p)
            hi[:] = np.where(inside & ok, at, hi)
            lo[:] = np.where(inside & ~ok, at, lo)

        # The count at the continuous solution (interpolated between sizes): usually the
        # answer, so two probes (it and the count before it) bracket it; one more each way
        # catches the rest but a few, which bisect.
        guess = np.clip(np.ceil(_continuous_guess(p, m, mean, sd, w) - 0.5), 0.0, top)
        guess = np.where(np.isfinite(guess), guess, 0.0)
        probe_every(guess - 1.0)
        probe_every(guess)
        open_rows = np.flatnonzero(hi - lo > 1)
        probe(np.where(hi == guess - 1.0, guess - 2.0, guess + 1.0), open_rows)
        rows = np.flatnonzero(hi - lo > 1)
        while rows.size:
            mid = np.floor((lo[rows] + hi[rows]) / 2.0)
            ok = reaches(mid, rows)
            hi[rows[ok]] = mid[ok]
            lo[rows[~ok]] = mid[~ok]
            rows = rows[hi[rows] - lo[rows] > 1]
        return hi
    # P(X ≤ y) ≈ Φ(3√(y + 1)·(1 − 1/(9(y + 1)) − (λ/(y + 1))^⅓)) (Wilson–Hilferty).
    m1 = mean @ w
    sd_mix = np.sqrt(np.maximum((mean + mean**2) @ w - m1**2, 1e-12))
    # Start from a log-normal approximation to the Poisson–log-normal mixture.
    log_v = np.log(v[0])
    mu_log = log_v @ w
    var_log = (log_v - mu_log) ** 2 @ w
    y = m * np.exp(mu_log + special.ndtri(p) * np.sqrt(var_log + 1.0 / (m * np.exp(mu_log)))) - 0.5
    cbrt_mean = np.cbrt(mean)
    rows = np.arange(m.size)
    for _ in range(12):
        k1 = np.maximum(y[rows, None] + 1.0, 1e-3)
        root = np.sqrt(k1)
        c = cbrt_mean[rows] / np.cbrt(k1)
        a = 1.0 - 1.0 / (9.0 * k1) - c
        h = 3.0 * root * a
        dh = 1.5 / root * a + 3.0 * root * (1.0 / (9.0 * k1**2) + c / (3.0 * k1))
        cdf = special.ndtr(h) @ w
        pdf = (np.exp(-0.5 * h * h) * dh) @ w / np.sqrt(2.0 * np.pi)
        bound = 2.0 * sd_mix[rows]
        step = np.clip((cdf - p[rows]) / np.maximum(pdf, 1e-300), -bound, bound)
        y[rows] -= step
        rows = rows[np.abs(step) > 1e-3]
        if not rows.size:
            break
    return np.clip(np.ceil(y - 1e-9), 0.0, top)


#: Sizes per probability at which :func:`_continuous_guess` solves exactly (the rest interpolate).
_ANCHORS = 24
_INV_ROOT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _continuous_guess(
    p: FloatArray, m: FloatArray, mean: FloatArray, sd: FloatArray, w: FloatArray
) -> FloatArray:
    """t with Σ w Φ((t − mean)/sd) = p per row, approximately: solved (Newton's method on the log
    of the tail, kept in a bracket, to 0.01 of a count) at up to :data:`_ANCHORS` sizes per distinct p spread evenly in log n, and t/n
    interpolated linearly in log n between them for the other rows (a smooth function of n:
    usually within a few hundredths of a count). Only a starting point for the search."""
    out = np.empty(m.shape)
    order = np.lexsort((m, p))
    ps = p[order]
    cuts = np.flatnonzero(np.diff(ps)) + 1
    anchor_rows = []
    for block in np.split(order, cuts):
        if block.size <= _ANCHORS:
            anchor_rows.append(block)
            continue
        log_m = np.log(m[block])
        want = np.linspace(log_m[0], log_m[-1], _ANCHORS)
        idx = np.unique(np.clip(np.searchsorted(log_m, want), 0, block.size - 1))
        anchor_rows.append(block[np.unique(np.concatenate([[0], idx, [block.size - 1]]))])
    rows = np.concatenate(anchor_rows)
    mu, s, pr = mean[rows], sd[rows], p[rows]
    t_lo = (mu - 12.0 * s).min(axis=1) - 1.0
    t_hi = (mu + 12.0 * s).max(axis=1) + 1.0
    m1 = mu @ w
    spread = np.sqrt(np.maximum((s * s + mu * mu) @ w - m1 * m1, 1e-12))
    t = np.clip(m1 + special.ndtri(np.clip(pr, 1e-300, 1.0 - 1e-16)) * spread, t_lo, t_hi)
    # Newton's method on log P (p < ½) or log of the survival (p ≥ ½): about concave, so the
    # steps land on the near side of the root and converge from there in a few steps.
    upper = pr >= 0.5
    sign = np.where(upper, -1.0, 1.0)
    log_target = np.log(np.where(upper, 1.0 - pr, pr))
    todo = np.arange(rows.size)
    for _ in range(60):
        sg = sign[todo, None]
        z = sg * (t[todo, None] - mu[todo]) / s[todo]
        tail = special.ndtr(z) @ w
        dens = (np.exp(-0.5 * z * z) / s[todo]) @ w * _INV_ROOT_2PI
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.log(tail) - log_target[todo]
            new = t[todo] - sign[todo] * h * tail / dens
        below = sign[todo] * h < 0  # t below the root (G(t) < p)
        t_lo[todo] = np.where(below, np.maximum(t_lo[todo], t[todo]), t_lo[todo])
        t_hi[todo] = np.where(~below & (h != 0), np.minimum(t_hi[todo], t[todo]), t_hi[todo])
        bad = ~((new > t_lo[todo]) & (new < t_hi[todo]))
        new = np.where(bad, 0.5 * (t_lo[todo] + t_hi[todo]), new)
        step = np.abs(new - t[todo])
        t[todo] = new
        todo = todo[(step > 1e-2) & (h != 0)]
        if not todo.size:
            break
    out[rows] = t
    rest = np.ones(m.size, dtype=bool)
    rest[rows] = False
    if rest.any():
        for block, anchors in zip(np.split(order, cuts), anchor_rows, strict=True):
            others = block[rest[block]]
            if others.size:
                out[others] = m[others] * np.interp(
                    np.log(m[others]), np.log(m[anchors]), out[anchors] / m[anchors]
                )
    return out


def _poisson_top(lam: FloatArray) -> FloatArray:
    """A count with P(X > count) < 10⁻¹² for X ~ Poisson(λ) (Bernstein's inequality,
    P(X − λ ≥ t) ≤ exp(−t²/(2(λ + t/3)))): the top of the quantile search."""
    big_l = 12.0 * np.log(10.0)
    return np.floor(lam + big_l / 3.0 + np.sqrt(big_l**2 / 9.0 + 2.0 * big_l * lam)) + 1.0


def _quantiles(
    kind: Kind, p: FloatArray, m: FloatArray, values: FloatArray, top: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Smallest integer r with P(X ≤ r) ≥ p (row-wise p and m), with F(r) and F(r − 1).

    The answer is the same as plain bisection on [0, ``top``] (n, or a Poisson count
    beyond the 1 − 10⁻¹² quantile at the largest rate); only the probes differ. The search starts at a normal
    approximation, probes it and its neighbour, gallops away from it when it missed and
    then narrows the bracket by thirds. Each round evaluates the exact mixture CDF for all
    unresolved rows at once. F(−1) = 0; every other F is :func:`cdf` at that point.
    """
    lo = np.full(m.shape, -1.0)
    hi = top.copy()
    f_lo = np.zeros(m.shape)
    f_hi = np.full(m.shape, np.nan)
    lo_seen = np.zeros(m.shape, dtype=bool)  # lo set by a probe (else −1)
    hi_seen = np.zeros(m.shape, dtype=bool)  # hi set by a probe (else the top, maybe unevaluated)
    step = np.full(m.shape, 2.0)
    with np.errstate(all="ignore"):  # a wild guess only costs time; never warn about it
        guess = _quantile_guess(kind, p, m, top, values)
    guess = np.clip(np.where(np.isfinite(guess), guess, 0.0), 0.0, top)
    probes = np.stack([np.maximum(guess - 1.0, 0.0), guess], axis=1)
    active = np.arange(m.size)
    # Counts beyond 2⁵³ cannot be told apart in floating point; stop rather than spin.
    for _ in range(200):
        if not active.size:
            break
        c = probes
        f = cdf(kind, c.ravel(), np.repeat(m[active], 2), values).reshape(c.shape)
        a_lo, a_hi, a_flo, a_fhi = lo[active], hi[active], f_lo[active], f_hi[active]
        a_lo_seen, a_hi_seen = lo_seen[active], hi_seen[active]
        pa = p[active]
        for j in range(2):
            cj, fj = c[:, j], f[:, j]
            ge = fj >= pa
            at_top = cj == a_hi  # only the unevaluated top is ever probed again
            new_hi = (ge & (cj < a_hi)) | at_top
            a_hi = np.where(new_hi, cj, a_hi)
            a_fhi = np.where(new_hi, fj, a_fhi)
            a_hi_seen |= new_hi
            new_lo = ~ge & (cj > a_lo) & (cj < a_hi)
            a_lo = np.where(new_lo, cj, a_lo)
            a_flo = np.where(new_lo, fj, a_flo)
            a_lo_seen |= new_lo
        lo[active], hi[active], f_lo[active], f_hi[active] = a_lo, a_hi, a_flo, a_fhi
        lo_seen[active], hi_seen[active] = a_lo_seen, a_hi_seen
        done = (a_hi - a_lo <= 1) & ~np.isnan(a_fhi)
        keep = ~done
        active = active[keep]
        if not active.size:
            break
        a_lo, a_hi, a_lo_seen, a_hi_seen = a_lo[keep], a_hi[keep], a_lo_seen[keep], a_hi_seen[keep]
        width = a_hi - a_lo
        s = step[active]
        third = np.maximum(np.floor(width / 3.0), 1.0)
        c1 = a_lo + third
        c2 = np.maximum(a_lo + np.floor(2.0 * width / 3.0), c1)
        up = a_lo_seen & ~a_hi_seen  # the guess was too low: gallop upwards
        down = a_hi_seen & ~a_lo_seen  # too high: gallop downwards
        c1 = np.where(up, a_lo + 1.0, np.where(down, a_hi - 1.0, c1))
        c2 = np.where(up, a_lo + s, np.where(down, a_hi - s, c2))
        c2 = np.clip(c2, a_lo + 1.0, a_hi - 1.0)
        c1 = np.clip(c1, a_lo + 1.0, a_hi - 1.0)
        last = width <= 1  # only F at the (unevaluated) top is missing
        c1 = np.where(last, a_hi, c1)
        c2 = np.where(last, a_hi, c2)
        step[active] = np.minimum(s * 4.0, 2.0**52)
        probes = np.stack([c1, c2], axis=1)
    return hi, f_hi, f_lo


def mixture_limits(
    kind: Kind, centre: float, tau2: float, size: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    alpha = (1.0 - level) / 2.0
    values = mixture_values(kind, centre, tau2)
    m_all = np.atleast_1d(size).astype(np.float64)
    lower = np.full(m_all.shape, np.nan)
    upper = np.full(m_all.shape, np.nan)
    valid = np.isfinite(m_all) & (m_all > 0)
    if kind == "proportion":
        valid &= m_all == np.round(m_all)
    # The limits depend on the size only: work out each distinct size once.
    m, where = np.unique(m_all[valid], return_inverse=True)
    if m.size:
        # Both quantiles in one search: rows 0..d-1 the lower, d..2d-1 the upper.
        d = m.size
        p = np.concatenate([np.full(d, alpha), np.full(d, 1.0 - alpha)])
        if kind == "proportion":  # noqa: SIM108 - the two bounds deserve their own lines
            top = m.copy()
        else:
            top = _poisson_top(m * values.max())
        q, f_q, f_q1 = _quantiles(kind, p, np.concatenate([m, m]), values, np.concatenate([top, top]))
        # Lower: r smallest with F(r) ≥ α; interpolate (Spiegelhalter 2005, appendix).
        r, f_r, f_r1 = q[:d], f_q[:d], f_q1[:d]
        frac = np.where(f_r > f_r1, (f_r - alpha) / np.where(f_r > f_r1, f_r - f_r1, 1.0), 0.0)
        lo_m = np.clip(r - frac, 0.0, None) / m
        # Upper: s largest with P(X ≥ s) ≥ α, i.e. F(s − 1) ≤ 1 − α.
        s, f_s, f_s1 = q[d:], f_q[d:], f_q1[d:]
        surv_s = 1.0 - f_s1  # P(X ≥ s)
        surv_next = 1.0 - f_s  # P(X ≥ s + 1)
        # s from the quantile satisfies F(s) ≥ 1 − α > F(s − 1): P(X ≥ s + 1) ≤ α < P(X ≥ s).
        gap = surv_s - surv_next
        frac_u = np.where(gap > 0, (surv_s - alpha) / np.where(gap > 0, gap, 1.0), 0.0)
        hi_m = (s + np.clip(frac_u, 0.0, 1.0 - 1e-12)) / m
        if kind == "proportion":
            hi_m = np.clip(hi_m, 0.0, 1.0)
        lower[valid] = lo_m[where]
        upper[valid] = hi_m[where]
    if np.ndim(size) == 0:
        return lower[:1].reshape(()), upper[:1].reshape(())
    return lower, upper


def adaptive_limits(
    kind: Kind, centre: float, tau2: float, size: ArrayLike, level: float
) -> tuple[FloatArray, FloatArray]:
    """Funnel limits at each size from the exact predictive mixture by adaptive quadrature.

    Lower: r the smallest count with P(X ≤ r) ≥ α (α = (1 − level)/2), limit
    (r − (F(r) − α)/(F(r) − F(r − 1)))/n; upper: s the largest count with P(X ≥ s) ≥ α,
    limit (s + (P(X ≥ s) − α)/(P(X ≥ s) − P(X ≥ s + 1)))/n (Spiegelhalter's interpolation
    between counts, as :func:`mixture_limits`). A group is outside exactly when its own tail
    probability is below α. The search starts from a normal approximation of the 40-node
    mixture (:func:`_quantile_guess`, usually within a count or two) and walks to the exact counts with
    :func:`utfall.stats.mixture.lower_tail`/:func:`~utfall.stats.mixture.upper_tail`
    (validated against ``scipy.integrate.quad``). Tested (tests/stats/test_truncated.py): with
    τ² = 0 they equal the exact binomial/Poisson limits of :func:`mixture_limits` (tested
    against scipy); with τ = 0.5 the count just inside sits at the exact tail by
    ``scipy.integrate.quad`` at n 40, 300 and 700. The PHE and FunnelPlotR vectors in
    ``tests/stats/reference/`` are of continuous (Wilson, χ²) limits, another convention.
    """
    ((lower, upper),) = adaptive_limits_at_levels(kind, centre, tau2, size, (level,))
    return lower, upper


def adaptive_limits_at_levels(
    kind: Kind, centre: float, tau2: float, size: ArrayLike, levels: tuple[float, ...]
) -> list[tuple[FloatArray, FloatArray]]:
    """:func:`adaptive_limits` at several levels in one search (the comparison draws 95 % and
    99.8 %): every (level, size) is a row of the same walk, so the vectorised steps are taken
    once for all of them. Each row's walk is its own; the limits are those of
    :func:`adaptive_limits` at each level alone (tests/stats/test_faster_paths.py)."""
    m_all = np.atleast_1d(np.asarray(size, dtype=np.float64))
    return adaptive_limits_by_level(
        kind, centre, tau2, [(level, m_all) for level in levels], np.ndim(size) == 0
    )


def adaptive_limits_by_level(
    kind: Kind,
    centre: float,
    tau2: float,
    asked: Sequence[tuple[float, FloatArray]],
    scalar: bool = False,
) -> list[tuple[FloatArray, FloatArray]]:
    """:func:`adaptive_limits_at_levels` with sizes of each level's own (``asked``: (level,
    sizes) pairs, 1-d arrays): one walk whose rows are each level's distinct valid sizes in
    turn. The comparison page asks for 95 % at the chart's sizes only and 99.8 % at its rows'
    and the chart's (it shows no row's 95 % limits: 2026-12-06, cmp7). With the same sizes at
    every level the rows are those of :func:`adaptive_limits_at_levels` in the same order (the
    same arrays, the same bits)."""
    tau = float(np.sqrt(tau2))
    out = [(np.full(m_all.shape, np.nan), np.full(m_all.shape, np.nan)) for _level, m_all in asked]
    picked = []
    for _level, m_all in asked:
        valid = np.isfinite(m_all) & (m_all > 0)
        if kind == "proportion":
            valid &= m_all == np.round(m_all)
        m_one, where = np.unique(m_all[valid], return_inverse=True)
        picked.append((valid, m_one, where))
    counts = [m_one.size for _valid, m_one, _where in picked]
    if sum(counts):
        m = np.concatenate([m_one for _valid, m_one, _where in picked])
        alpha = np.repeat([(1.0 - level) / 2.0 for level, _m in asked], counts)
        values = mixture_values(kind, centre, tau2)
        top = m.copy() if kind == "proportion" else _poisson_top(m * values.max())
        p = np.concatenate([alpha, 1.0 - alpha])
        with np.errstate(all="ignore"):  # a wild guess only costs time
            q = _quantile_guess(kind, p, np.concatenate([m, m]), np.concatenate([top, top]), values)
        rows = m.size
        r, f_r, f_r1 = _walk(kind, "lower", q[:rows], m, centre, tau, alpha)
        s, s_s, s_s1 = _walk(kind, "upper", q[rows:], m, centre, tau, alpha)
        gap = f_r - f_r1
        frac = np.where(gap > 0, (f_r - alpha) / np.where(gap > 0, gap, 1.0), 0.0)
        lo_m = np.clip(r - np.clip(frac, 0.0, 1.0), 0.0, None) / m
        gap_u = s_s - s_s1
        frac_u = np.where(gap_u > 0, (s_s - alpha) / np.where(gap_u > 0, gap_u, 1.0), 0.0)
        hi_m = (s + np.clip(frac_u, 0.0, 1.0 - 1e-12)) / m
        if kind == "proportion":
            hi_m = np.clip(hi_m, 0.0, 1.0)
        first = 0
        for (lower, upper), (valid, _m_one, where), d in zip(out, picked, counts, strict=True):
            lower[valid] = lo_m[first : first + d][where]
            upper[valid] = hi_m[first : first + d][where]
            first += d
    if scalar:
        return [(lower[:1].reshape(()), upper[:1].reshape(())) for lower, upper in out]
    return out


def _walk(
    kind: Kind, side: str, guess: FloatArray, m: FloatArray, centre: float, tau: float, alpha: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """From a guess to the exact count. Lower: r with F(r) ≥ α > F(r − 1), returning
    (r, F(r), F(r − 1)); upper: s with P(X ≥ s) ≥ α > P(X ≥ s + 1), returning
    (s, P(X ≥ s), P(X ≥ s + 1)). Gallops from the guess to a bracket, then bisects.
    ``alpha`` is per row (rows at several levels walk together)."""
    k = m.size
    if side == "lower":

        def value_at(r: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
            return mixture.lower_tail(kind, r, m[rows], centre, tau)

        def good(v: FloatArray, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
            return np.asarray(v >= alpha[rows])

        floor, floor_value = np.full(k, -1.0), np.zeros(k)  # F(−1) = 0
        ceiling = m.copy() if kind == "proportion" else np.full(k, np.inf)  # F(n) = 1
    else:

        def value_at(r: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
            return mixture.upper_tail(kind, r, m[rows], centre, tau)

        def good(v: FloatArray, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
            return np.asarray(v < alpha[rows])

        floor, floor_value = np.zeros(k), np.ones(k)  # P(X ≥ 0) = 1
        ceiling = m + 1.0 if kind == "proportion" else np.full(k, np.inf)  # P(X ≥ n + 1) = 0
    ceiling_value = np.where(np.isfinite(ceiling), 1.0 if side == "lower" else 0.0, np.nan)
    lo, v_lo, hi, v_hi = floor, floor_value, ceiling.copy(), ceiling_value
    probe = np.where(np.isfinite(guess), guess, 0.0)
    if side == "upper":
        probe = probe + 1.0  # the first count past the upper limit
    probe = np.minimum(np.maximum(probe, lo + 1.0), hi)
    rows = np.arange(k)

    def apply(rows: NDArray[np.intp], probe: FloatArray, v: FloatArray) -> NDArray[np.bool_]:
        g = good(v, rows)
        # Only ever narrow the bracket.
        to_hi = g & (probe < hi[rows])
        to_lo = ~g & (probe > lo[rows])
        hi[rows[to_hi]], v_hi[rows[to_hi]] = probe[to_hi], v[to_hi]
        lo[rows[to_lo]], v_lo[rows[to_lo]] = probe[to_lo], v[to_lo]
        return g

    def update(rows: NDArray[np.intp], probe: FloatArray) -> NDArray[np.bool_]:
        return apply(rows, probe, value_at(probe, rows))

    # The guess and the count before it in one call: usually the answer at once.
    before = np.maximum(probe - 1.0, lo + 1.0)
    both = value_at(np.concatenate([before, probe]), np.concatenate([rows, rows]))
    found = apply(rows, before, both[:k]) | apply(rows, probe, both[k:])
    direction = np.where(found, -1.0, 1.0)
    step = np.ones(k)
    gallop = hi - lo > 1
    for _ in range(120):
        a = np.flatnonzero(gallop)
        if not a.size:
            break
        down = direction[a] < 0
        probe = np.where(down, hi[a] - step[a], lo[a] + step[a])
        stop = (down & (probe <= lo[a])) | (~down & (probe >= hi[a]))
        gallop[a[stop]] = False
        a, probe, down = a[~stop], probe[~stop], down[~stop]
        if not a.size:
            break
        g = update(a, probe)
        gallop[a[(down & ~g) | (~down & g)]] = False
        step[a] *= 2.0
    for _ in range(200):
        a = np.flatnonzero(hi - lo > 1)
        if not a.size:
            break
        update(a, np.floor((lo[a] + hi[a]) / 2.0))
    if side == "lower":
        return hi, v_hi, v_lo
    return lo, v_lo, v_hi


#: Screening nodes for :func:`tail_flags`: F at a node bounds F at every node on one side
#: (the binomial/Poisson CDF falls as the rate rises), so a few nodes give a lower bound
#: on the mixture's tail probabilities.
_SCREEN_LOW = np.array([20, 22, 24, 26])  # nodes above the middle: bound P(X ≤ x)
_SCREEN_HIGH = np.array([19, 17, 15, 13])  # nodes below the middle: bound P(X ≥ x)
_CUM_WEIGHTS = np.cumsum(_WEIGHTS)
#: Weight of nodes j..39 for each j (the upper tail's bound from node j upwards).
_UPPER_WEIGHTS = np.cumsum(_WEIGHTS[::-1])[::-1]
_SCREEN_LOW_W = np.diff(np.concatenate([[0.0], _CUM_WEIGHTS[_SCREEN_LOW]]))
_SCREEN_HIGH_W = np.diff(np.concatenate([[0.0], 1.0 - _CUM_WEIGHTS[_SCREEN_HIGH - 1]]))


def tail_flags(
    kind: Kind, centre: float, tau2: float, x: FloatArray, m: FloatArray, alpha: float
) -> NDArray[np.bool_]:
    """True where P(X ≤ x) < α or P(X ≥ x) < α under the mixture.

    Most groups are nowhere near a tail. A lower bound on both tail probabilities from
    four nodes each (F(x) at node j is at least F(x) at any higher node) clears them with
    a wide margin; only the rest get the sums over the 34 nodes that carry weight (the
    other six weigh 3e-21 together), the upper tail from the same CDF array and the
    probability of x itself (the old 40-node sums of two CDF arrays agree within 1e-15:
    tests/stats/test_mode_search.py).
    """
    values = mixture_values(kind, centre, tau2)
    margin = alpha * (1.0 + 1e-9) + 1e-12
    flagged = np.zeros(x.shape, dtype=bool)
    near = np.flatnonzero(~_clear_by_medians(kind, values, x, m, margin))
    if not near.size:
        return flagged
    x, m = x[near], m[near]
    low_bound = cdf_at_nodes(kind, x, m, values[_SCREEN_LOW]) @ _SCREEN_LOW_W
    high_bound = (1.0 - cdf_at_nodes(kind, x - 1.0, m, values[_SCREEN_HIGH])) @ _SCREEN_HIGH_W
    unsure = np.flatnonzero((low_bound < margin) | (high_bound < margin))
    if unsure.size:
        # P(X ≥ x) = 1 − F(x) + P(X = x): one incomplete-beta (gamma) array instead of two.
        xu, mu, v, w = x[unsure], m[unsure], values[_HEAVY], _WEIGHTS[_HEAVY]
        at_nodes = cdf_at_nodes(kind, xu, mu, v)
        below = at_nodes @ w
        above = 1.0 - (at_nodes - _pmf_at_nodes(kind, xu, mu, v)) @ w
        flagged[near[unsure]] = (below < alpha) | (above < alpha)
    return flagged


def _clear_by_medians(
    kind: Kind, values: FloatArray, x: FloatArray, m: FloatArray, margin: float
) -> NDArray[np.bool_]:
    """True where both tail probabilities of the mixture are certainly above ``margin``, from
    medians alone (no distribution function): P(X ≤ x) ≥ W_j · F_j(x) for the node j (the
    binomial/Poisson CDF falls as the rate rises, W_j the weight of nodes 0..j), and
    F_j(x) ≥ ½ when x is at least a median at node j's rate: a binomial median lies in
    [⌊np⌋, ⌈np⌉] (Kaas & Buhrman 1980), a Poisson median in [λ − ln 2, λ + ⅓] (Choi 1994); the
    upper tail alike from a node above the middle. With W_j > 2·margin such a group is clear
    of both tails, so the sums are only needed near them (tests/stats/test_faster_paths.py:
    the same flags as without this screen)."""
    low_node = int(np.searchsorted(_CUM_WEIGHTS, 2.0 * margin * (1.0 + 1e-9), side="right"))
    high_node = int(np.searchsorted(_UPPER_WEIGHTS[::-1], 2.0 * margin * (1.0 + 1e-9), side="right"))
    high_node = _WEIGHTS.size - 1 - high_node
    if low_node >= _WEIGHTS.size or high_node < 0:
        return np.zeros(x.shape, dtype=bool)
    slack = 1e-9
    if kind == "proportion":
        low_ok = x >= m * values[low_node] * (1.0 + 1e-12) + slack
        high_ok = x <= m * values[high_node] * (1.0 - 1e-12) - slack
    else:
        low_ok = x >= m * values[low_node] * (1.0 + 1e-12) + 1.0 / 3.0 + slack
        high_ok = x <= m * values[high_node] * (1.0 - 1e-12) - math.log(2.0) - slack
    return np.asarray(low_ok & high_ok)
