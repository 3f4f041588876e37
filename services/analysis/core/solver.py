"""Bounded Levenberg-Marquardt over many cells at once, compiled with numba.

One call fits every cell of a chunk in a compiled loop (no Python per cell):
each cell's valid points (NaNs and padding dropped), a start from the
request's values or the model's data-driven guess (whichever fits better),
then Levenberg-Marquardt steps with Marquardt's diagonal scaling on the free
parameters that are not held at a bound by the gradient (an active set),
projected onto the box. The loop stops only when a step no longer lowers the
sum of squares by more than `ftol` relative, so it lands at least as low as
scipy's trust-region fit with its looser defaults. Models with an onset
parameter (t0) also try the pieces beside the kink where descent stopped.
`nogil`: threads and processes both run it in parallel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, types

from .models.base import EVALUATE, GUESS, JACOBIAN, FitModel, no_guess, no_jacobian

# Cell outcomes (the `status` array).
CONVERGED = 1
MAX_ITERATIONS = 0
TOO_FEW_POINTS = -1
NOT_FINITE = -2

# Damping at or below which a step counts as a Gauss-Newton step.
GAUSS_NEWTON_DAMPING = 1e-3

_EPS_SQRT = math.sqrt(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class SolverOptions:
    max_iterations: int = 400
    # Stop when an accepted step lowers the sum of squares by less than this, relative.
    ftol: float = 1e-13
    # ... or moves every free parameter by less than this, relative.
    xtol: float = 1e-13


@dataclass
class CellFits:
    """Per-cell results of one batch, aligned with its input rows."""

    params: np.ndarray  # (cells, parameters)
    ssr: np.ndarray  # sum of squared residuals over the valid points
    n_points: np.ndarray  # valid points
    status: np.ndarray  # CONVERGED, MAX_ITERATIONS, TOO_FEW_POINTS, NOT_FINITE
    iterations: np.ndarray

    @property
    def success(self) -> np.ndarray:
        return self.status == CONVERGED


@njit(cache=True, nogil=True)
def _ssr(evaluate, t, y, p, f):
    evaluate(t, p, f)
    total = 0.0
    for i in range(t.size):
        r = f[i] - y[i]
        total += r * r
    return total


@njit(cache=True, nogil=True)
def _values_and_jacobian(
    evaluate, jacobian, has_jacobian, t, p, lower, upper, free, f, jac, shifted, f_shifted
):
    if has_jacobian:
        jacobian(t, p, f, jac)
        return
    evaluate(t, p, f)
    # Forward differences, stepping backwards at an upper bound (as scipy's 2-point).
    for j in range(p.size):
        if not free[j]:
            continue
        h = _EPS_SQRT * max(1.0, abs(p[j]))
        if p[j] + h > upper[j]:
            h = -h
        for k in range(p.size):
            shifted[k] = p[k]
        shifted[j] = p[j] + h
        evaluate(t, shifted, f_shifted)
        for i in range(t.size):
            jac[i, j] = (f_shifted[i] - f[i]) / h


@njit(cache=True, nogil=True)
def _cholesky_solve(a, b, n, x):
    """Solve a x = b for symmetric positive definite `a` (n x n, overwritten);
    False when it is not positive definite."""
    for j in range(n):
        s = a[j, j]
        for k in range(j):
            s -= a[j, k] * a[j, k]
        if not s > 0.0:
            return False
        a[j, j] = math.sqrt(s)
        for i in range(j + 1, n):
            s = a[i, j]
            for k in range(j):
                s -= a[i, k] * a[j, k]
            a[i, j] = s / a[j, j]
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= a[i, k] * x[k]
        x[i] = s / a[i, i]
    for i in range(n - 1, -1, -1):
        s = x[i]
        for k in range(i + 1, n):
            s -= a[k, i] * x[k]
        x[i] = s / a[i, i]
    return True


@njit(cache=True, nogil=True)
def _fit_cell(
    evaluate,
    jacobian,
    has_jacobian,
    guess,
    has_guess,
    t,
    y,
    start,
    lower,
    upper,
    free,
    max_iterations,
    ftol,
    xtol,
    onset,
    p,
):
    """Fit one cell's valid points; `p` receives the parameters. `onset`: index of
    an onset parameter (a kink at every time point), or -1.
    Returns (status, ssr, iterations)."""
    m = t.size
    n = p.size
    n_free = 0
    for j in range(n):
        if free[j]:
            n_free += 1
    for j in range(n):
        p[j] = min(max(start[j], lower[j]), upper[j])
    if m < n_free or m == 0:
        return TOO_FEW_POINTS, np.nan, 0
    f = np.empty(m)
    trial = np.empty(n)
    ssr = _ssr(evaluate, t, y, p, f)
    if has_guess:
        for j in range(n):
            trial[j] = p[j]
        guess(t, y, trial)
        for j in range(n):
            trial[j] = min(max(trial[j], lower[j]), upper[j]) if free[j] else p[j]
        guessed = _ssr(evaluate, t, y, trial, f)
        if guessed < ssr or not math.isfinite(ssr):
            for j in range(n):
                p[j] = trial[j]
            ssr = guessed
    if not math.isfinite(ssr):
        return NOT_FINITE, np.nan, 0
    if n_free == 0 or ssr == 0.0:
        return CONVERGED, ssr, 0

    status, ssr, iterations = _descend(
        evaluate,
        jacobian,
        has_jacobian,
        t,
        y,
        lower,
        upper,
        free,
        max_iterations,
        ftol,
        xtol,
        p,
        ssr,
    )
    if onset >= 0 and free[onset] and status == CONVERGED:
        ssr, steps = _beside_kinks(
            evaluate, jacobian, has_jacobian, t, y, lower, upper, free,
            max_iterations, ftol, xtol, onset, p, ssr,
        )  # fmt: skip
        iterations += steps
    return status, ssr, iterations


@njit(cache=True, nogil=True)
def _beside_kinks(
    evaluate, jacobian, has_jacobian, t, y, lower, upper, free,
    max_iterations, ftol, xtol, onset, p, ssr,
):  # fmt: skip
    """From a converged `p`: the sum of squares has a kink wherever the onset
    crosses a time point, and descent stops at the first one it meets. Descend
    again from just beyond the time points on either side, and once with the
    onset held (at a kink its differences mislead); keep the lowest, in `p`.
    Returns (ssr, iterations)."""
    m = t.size
    n = p.size
    f = np.empty(m)
    iterations = 0
    below = -np.inf
    above = np.inf
    for i in range(m):
        if t[i] <= p[onset] and t[i] > below:
            below = t[i]
        if t[i] > p[onset] and t[i] < above:
            above = t[i]
    best = p.copy()
    for side in (below, above):
        if not math.isfinite(side):
            continue
        nudge = 1e-6 * max(1.0, abs(side))
        candidate = p.copy()
        target = side - nudge if side == below else side + nudge
        candidate[onset] = min(max(target, lower[onset]), upper[onset])
        tried = _ssr(evaluate, t, y, candidate, f)
        if not math.isfinite(tried):
            continue
        state, tried, steps = _descend(
            evaluate, jacobian, has_jacobian, t, y, lower, upper, free,
            max_iterations, ftol, xtol, candidate, tried,
        )  # fmt: skip
        iterations += steps
        if state == CONVERGED and tried < ssr:
            ssr = tried
            for j in range(n):
                best[j] = candidate[j]
    # At a kink itself the onset's differences mislead: settle the others there.
    held = free.copy()
    held[onset] = False
    candidate = best.copy()
    state, tried, steps = _descend(
        evaluate, jacobian, has_jacobian, t, y, lower, upper, held,
        max_iterations, ftol, xtol, candidate, ssr,
    )  # fmt: skip
    iterations += steps
    if state == CONVERGED and tried < ssr:
        ssr = tried
        for j in range(n):
            best[j] = candidate[j]
    for j in range(n):
        p[j] = best[j]
    return ssr, iterations


@njit(cache=True, nogil=True)
def _descend(
    evaluate, jacobian, has_jacobian, t, y, lower, upper, free, max_iterations, ftol, xtol, p, ssr
):
    """Levenberg-Marquardt from `p` (sum of squares `ssr`), in place.
    Returns (status, ssr, iterations)."""
    m = t.size
    n = p.size
    f = np.empty(m)
    f_shifted = np.empty(m)
    jac = np.zeros((m, n))
    shifted = np.empty(n)
    trial = np.empty(n)
    gradient = np.empty(n)
    normal = np.empty((n, n))
    system = np.empty((n, n))
    rhs = np.empty(n)
    step = np.empty(n)
    active = np.empty(n, dtype=np.int64)
    damping = 1e-3
    for iteration in range(1, max_iterations + 1):
        _values_and_jacobian(
            evaluate, jacobian, has_jacobian, t, p, lower, upper, free, f, jac, shifted, f_shifted
        )
        # Gradient of ssr/2 and the Gauss-Newton matrix, over free parameters.
        for a in range(n):
            if not free[a]:
                continue
            g = 0.0
            for i in range(m):
                g += jac[i, a] * (f[i] - y[i])
            gradient[a] = g
            for b in range(a, n):
                if not free[b]:
                    continue
                s = 0.0
                for i in range(m):
                    s += jac[i, a] * jac[i, b]
                normal[a, b] = s
                normal[b, a] = s
        # The active set: free parameters not pressed against a bound by the gradient.
        k = 0
        for j in range(n):
            if not free[j]:
                continue
            if p[j] <= lower[j] and gradient[j] > 0.0:
                continue
            if p[j] >= upper[j] and gradient[j] < 0.0:
                continue
            active[k] = j
            k += 1
        if k == 0:
            return CONVERGED, ssr, iteration
        accepted = False
        while damping < 1e20:
            for a in range(k):
                for b in range(k):
                    system[a, b] = normal[active[a], active[b]]
                scale = normal[active[a], active[a]]
                system[a, a] += damping * (scale if scale > 1e-300 else 1e-300)
                rhs[a] = -gradient[active[a]]
            if not _cholesky_solve(system, rhs, k, step):
                damping *= 10.0
                continue
            for j in range(n):
                trial[j] = p[j]
            for a in range(k):
                j = active[a]
                trial[j] = min(max(p[j] + step[a], lower[j]), upper[j])
            trial_ssr = _ssr(evaluate, t, y, trial, f_shifted)
            if trial_ssr < ssr:
                moved = 0.0
                for a in range(k):
                    j = active[a]
                    moved = max(moved, abs(trial[j] - p[j]) / (abs(p[j]) + xtol))
                    p[j] = trial[j]
                gain = (ssr - trial_ssr) / ssr
                ssr = trial_ssr
                # Small progress means convergence only for a (nearly) Gauss-Newton
                # step: a heavily damped step is small whatever the distance left.
                near_newton = damping <= GAUSS_NEWTON_DAMPING
                damping = max(damping * 0.3, 1e-15)
                accepted = True
                if ssr == 0.0 or (near_newton and (gain <= ftol or moved <= xtol)):
                    return CONVERGED, ssr, iteration
                break
            if damping <= GAUSS_NEWTON_DAMPING and trial_ssr - ssr <= ftol * ssr:
                # The Gauss-Newton step changes nothing beyond rounding: a minimum.
                return CONVERGED, ssr, iteration
            damping *= 4.0
        if not accepted:
            # No step in any direction lowers the sum of squares: a minimum.
            return CONVERGED, ssr, iteration
    return MAX_ITERATIONS, ssr, max_iterations


_VECTOR = types.float64[::1]
_MATRIX = types.float64[:, ::1]
_COUNTS = types.int64[::1]


# One explicit signature, the model's functions as first-class function values:
# compiled once for every model, and loaded from the on-disk cache afterwards.
@njit(
    types.void(
        types.FunctionType(EVALUATE),
        types.FunctionType(JACOBIAN),
        types.boolean,
        types.FunctionType(GUESS),
        types.boolean,
        _MATRIX,  # times
        _MATRIX,  # values
        _VECTOR,  # start
        _VECTOR,  # lower
        _VECTOR,  # upper
        types.boolean[::1],  # free
        types.int64,  # max_iterations
        types.float64,  # ftol
        types.float64,  # xtol
        types.int64,  # onset
        _MATRIX,  # params
        _VECTOR,  # ssr
        _COUNTS,  # n_points
        _COUNTS,  # status
        _COUNTS,  # iterations
    ),
    cache=True,
    nogil=True,
)
def _fit_cells(
    evaluate,
    jacobian,
    has_jacobian,
    guess,
    has_guess,
    times,
    values,
    start,
    lower,
    upper,
    free,
    max_iterations,
    ftol,
    xtol,
    onset,
    params,
    ssr,
    n_points,
    status,
    iterations,
):
    cells, width = values.shape
    t = np.empty(width)
    y = np.empty(width)
    for c in range(cells):
        m = 0
        for i in range(width):
            if math.isfinite(values[c, i]) and math.isfinite(times[c, i]):
                t[m] = times[c, i]
                y[m] = values[c, i]
                m += 1
        n_points[c] = m
        state, total, steps = _fit_cell(
            evaluate,
            jacobian,
            has_jacobian,
            guess,
            has_guess,
            t[:m],
            y[:m],
            start,
            lower,
            upper,
            free,
            max_iterations,
            ftol,
            xtol,
            onset,
            params[c],
        )
        status[c] = state
        ssr[c] = total
        iterations[c] = steps


def fit_cells(
    model: FitModel,
    times: np.ndarray,
    values: np.ndarray,
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    free: np.ndarray,
    options: SolverOptions | None = None,
) -> CellFits:
    """Fit `model` to each row of `values` (cells x points, NaN = no point) at the
    matching row of `times`. `start`, `lower`, `upper`, `free` are per parameter."""
    options = options or SolverOptions()
    # C-ordered and writable: the compiled signature takes mutable arrays (a broadcast
    # view, or an array read from shared memory, is not).
    values = np.require(values, np.float64, ["C", "W"])
    times = np.require(np.broadcast_to(times, values.shape), np.float64, ["C", "W"])
    cells = values.shape[0]
    n = len(model.parameters)
    fits = CellFits(
        params=np.zeros((cells, n)),
        ssr=np.full(cells, np.nan),
        n_points=np.zeros(cells, dtype=np.int64),
        status=np.zeros(cells, dtype=np.int64),
        iterations=np.zeros(cells, dtype=np.int64),
    )
    _fit_cells(
        model.evaluate,
        model.jacobian or no_jacobian,
        model.jacobian is not None,
        model.guess or no_guess,
        model.guess is not None,
        times,
        values,
        np.ascontiguousarray(start, dtype=np.float64),
        np.ascontiguousarray(lower, dtype=np.float64),
        np.ascontiguousarray(upper, dtype=np.float64),
        np.ascontiguousarray(free, dtype=np.bool_),
        int(options.max_iterations),
        float(options.ftol),
        float(options.xtol),
        model.parameter_names.index(model.onset) if model.onset else -1,
        fits.params,
        fits.ssr,
        fits.n_points,
        fits.status,
        fits.iterations,
    )
    return fits
