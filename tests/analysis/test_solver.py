"""The compiled solver against ground truth and against per-cell fits by scipy and lmfit."""

from __future__ import annotations

import lmfit
import numpy as np
import pytest
from scipy.optimize import least_squares

from services.analysis.core.fitting import fit_all, fit_chunk
from services.analysis.core.models import MODELS
from services.analysis.core.plan import plan_fit
from services.analysis.core.solver import CONVERGED, TOO_FEW_POINTS
from tests.analysis.synthetic import TIMES, curves, maturation_traces


def scipy_ssr(plan, times, values) -> float:
    """The reference: one least_squares (TRF, bounds) call for one cell, from the same start."""
    valid = np.isfinite(values)
    t, y = times[valid], values[valid]
    held = plan.start.copy()
    free = plan.free

    def residuals(x):
        held[free] = x
        return plan.model.curve(t, held) - y

    result = least_squares(
        residuals, plan.start[free], bounds=(plan.lower[free], plan.upper[free]), method="trf"
    )
    return 2.0 * result.cost


def test_maturation_at_snr_20_recovers_amplitude_and_rate():
    truth, values = maturation_traces(2000, seed=1)
    fits = fit_all(plan_fit("maturation"), TIMES, values)
    assert np.all(fits.status == CONVERGED)
    close = np.abs(fits.params[:, :2] / truth[:, :2] - 1.0) < 0.10
    assert close.all(axis=1).mean() >= 0.95


def test_every_cell_reaches_the_optimum_of_a_per_cell_least_squares_fit():
    _, values = maturation_traces(400, seed=2)
    plan = plan_fit("maturation")
    fits = fit_all(plan, TIMES, values)
    reference = np.array([scipy_ssr(plan, TIMES, row) for row in values])
    assert np.all(fits.ssr <= reference * (1 + 1e-6))


def test_the_optimum_holds_when_bounds_are_active_and_starts_are_poor():
    """Offsets pressed against their bound, rates near theirs, an odd start."""
    rng = np.random.default_rng(5)
    truth = np.column_stack(
        [rng.uniform(1, 8, 200), rng.uniform(0.005, 1.5, 200), rng.uniform(-2.0, 0.5, 200)]
    )
    values = curves("maturation", truth) + rng.normal(0, 0.2, (200, TIMES.size))
    plan = plan_fit("maturation", {"amplitude": 9.0, "rate": 0.9, "offset": 4.0})
    fits = fit_all(plan, TIMES, values)
    reference = np.array([scipy_ssr(plan, TIMES, row) for row in values])
    assert np.all(fits.ssr <= reference * (1 + 1e-6))
    assert np.all((fits.params >= plan.lower) & (fits.params <= plan.upper))
    assert np.any(fits.params[:, 2] == plan.lower[2])  # some fits end on the bound


# Parameters each model is fitted back to, from its default start (noise 0.5% of the peak).
# `trivial` can only tell A + B; t0 of the transfection models is checked to 0.1 time units.
TRUTHS = {
    "trivial": [3.0, 1.0],
    "maturation": [4.0, 0.3, 0.5],
    "exponential_decay": [5.0, 0.2, 1.0],
    "translation_maturation": [0.5, 2e3, 0.05, 200.0, 1.28, 5.22e-3, 1.0],
    "translation": [3.3, 50.0, 0.2, 0.05, 5.0],
    "maturation_blocked": [300.0, 200.0, 0.8, 0.05, 0.55, 0.0],
}


@pytest.mark.parametrize("model_type", sorted(TRUTHS))
def test_each_model_recovers_its_own_parameters(model_type):
    rng = np.random.default_rng(7)
    plan = plan_fit(model_type)
    truth = np.tile(TRUTHS[model_type], (20, 1))
    clean = curves(model_type, truth)
    values = clean + rng.normal(0, 0.005 * np.abs(clean).max(), clean.shape)
    fits = fit_all(plan, TIMES, values)
    assert np.all(fits.status == CONVERGED)
    fitted = np.median(fits.params, axis=0)
    expected = np.array(TRUTHS[model_type])
    if model_type == "trivial":
        assert fitted.sum() == pytest.approx(expected.sum(), rel=0.01)
        return
    names = plan.model.parameter_names
    for index in np.flatnonzero(plan.free):
        if names[index] == "t0":
            assert abs(fitted[index] - expected[index]) < 0.1, names[index]
        else:
            assert fitted[index] == pytest.approx(expected[index], rel=0.1), names[index]
    # Fixed parameters stay where they were held.
    assert np.all(fits.params[:, ~plan.free] == plan.start[~plan.free])


def test_nans_and_gaps_are_skipped_and_too_few_points_fail_cleanly():
    truth, values = maturation_traces(4, seed=3)
    values[0, 50:120] = np.nan  # a gap
    values[1, ::2] = np.nan  # every other point missing
    values[2, 2:] = np.nan  # two points, three free parameters
    values[3, :] = np.nan  # nothing at all
    plan = plan_fit("maturation")
    fits = fit_chunk("maturation", plan.start, plan.lower, plan.upper, plan.free, TIMES, values)
    assert list(fits.status) == [CONVERGED, CONVERGED, TOO_FEW_POINTS, TOO_FEW_POINTS]
    assert list(fits.n_points) == [111, 90, 2, 0]
    for row in (0, 1):
        assert fits.ssr[row] <= scipy_ssr(plan, TIMES, values[row]) * (1 + 1e-6)
        assert fits.params[row, 1] == pytest.approx(truth[row, 1], rel=0.1)


def test_per_cell_times_and_ragged_rows():
    """Each cell has its own time points (FOVs timed apart), padded with NaN."""
    rng = np.random.default_rng(4)
    truth = np.array([[5.0, 0.2, 0.5], [3.0, 0.5, 1.0]])
    times = np.full((2, 181), np.nan)
    times[0] = TIMES
    times[1, :100] = TIMES[:100] * 1.5 + 0.3
    values = np.full((2, 181), np.nan)
    values[0] = MODELS["maturation"].curve(times[0], truth[0])
    values[1, :100] = MODELS["maturation"].curve(times[1, :100], truth[1])
    values += rng.normal(0, 0.01, values.shape)
    fits = fit_all(plan_fit("maturation"), times, values)
    np.testing.assert_allclose(fits.params, truth, rtol=0.02, atol=0.02)


def test_a_fixed_parameter_is_freed_by_giving_bounds():
    plan = plan_fit("translation_maturation")
    assert not plan.free[plan.model.parameter_names.index("km")]
    freed = plan_fit("translation_maturation", {}, {"km": (0.1, 5.0)})
    assert freed.free[plan.model.parameter_names.index("km")]


@pytest.mark.parametrize("model_type", sorted(TRUTHS))
def test_every_model_reaches_the_per_cell_least_squares_optimum(model_type):
    """Cells spread around each model's truth; onsets (t0) anywhere in their bounds,
    on and between time points, where the sum of squares has kinks."""
    rng = np.random.default_rng(13)
    plan = plan_fit(model_type)
    truth = np.tile(TRUTHS[model_type], (40, 1)) * rng.uniform(0.8, 1.2, (40, len(plan.start)))
    truth[:, ~plan.free] = plan.start[~plan.free]
    names = plan.model.parameter_names
    if "t0" in names:
        index = names.index("t0")
        low, high = plan.lower[index], min(plan.upper[index], 5.0)
        truth[:, index] = rng.uniform(low, high, 40)
        truth[:4, index] = TIMES[[1, 2, 3, 6]].clip(low, high)  # exactly on time points
    clean = curves(model_type, truth)
    values = clean + rng.normal(0, 0.01 * np.abs(clean).max(), clean.shape)
    fits = fit_all(plan, TIMES, values)
    reference = np.array([scipy_ssr(plan, TIMES, row) for row in values])
    assert np.all(fits.ssr <= reference * (1 + 1e-6))


def lmfit_ssr(plan, times, values) -> float:
    """A second, independent reference: lmfit's Levenberg-Marquardt (MINPACK, bounds by
    its own change of variables), as a user would fit one cell by hand."""
    valid = np.isfinite(values)
    t, y = times[valid], values[valid]
    parameters = lmfit.Parameters()
    for name, start, low, high, free in zip(
        plan.model.parameter_names, plan.start, plan.lower, plan.upper, plan.free, strict=True
    ):
        parameters.add(name, value=start, min=low, max=high, vary=bool(free))

    def residuals(fitted):
        p = np.array([fitted[name].value for name in plan.model.parameter_names])
        return plan.model.curve(t, p) - y

    result = lmfit.minimize(residuals, parameters, method="leastsq")
    return float(np.sum(result.residual**2))


@pytest.mark.parametrize("model_type", sorted(TRUTHS))
def test_every_model_fits_at_least_as_well_as_lmfit_per_cell(model_type):
    rng = np.random.default_rng(17)
    plan = plan_fit(model_type)
    truth = np.tile(TRUTHS[model_type], (10, 1)) * rng.uniform(0.9, 1.1, (10, len(plan.start)))
    truth[:, ~plan.free] = plan.start[~plan.free]
    clean = curves(model_type, truth)
    values = clean + rng.normal(0, 0.01 * np.abs(clean).max(), clean.shape)
    fits = fit_all(plan, TIMES, values)
    reference = np.array([lmfit_ssr(plan, TIMES, row) for row in values])
    assert np.all(fits.ssr <= reference * (1 + 1e-6))
