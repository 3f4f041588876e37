"""A fitting request checked against its model: start values, bounds, free parameters.

Every problem is an InvalidArgument naming it, raised before any job exists.
A fixed parameter is fitted when the request gives bounds for it; an initial
value alone only changes the value it is held at.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from common.errors import InvalidArgument

from .models import FitModel, get_model


@dataclass(frozen=True)
class FitPlan:
    model: FitModel
    start: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    free: np.ndarray

    @property
    def n_free(self) -> int:
        return int(self.free.sum())


def plan_fit(
    model_type: str,
    initial: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> FitPlan:
    model = get_model(model_type)
    initial = dict(initial or {})
    bounds = dict(bounds or {})
    known = set(model.parameter_names)
    for option, names in (("model_params", initial), ("model_bounds", bounds)):
        unknown = sorted(set(names) - known)
        if unknown:
            raise InvalidArgument(
                f"unknown parameter(s) {', '.join(unknown)} in {option} for model "
                f"{model.name!r}; its parameters are: {', '.join(model.parameter_names)}",
                field=option,
            )
    start, lower, upper, free = [], [], [], []
    for parameter in model.parameters:
        low, high = bounds.get(parameter.name, parameter.bounds)
        value = initial.get(parameter.name, parameter.default)
        for label, number in (
            ("lower bound", low),
            ("upper bound", high),
            ("initial value", value),
        ):
            if math.isnan(number):
                raise InvalidArgument(
                    f"{label} of {parameter.name} is not a number", field=parameter.name
                )
        if math.isinf(value):
            raise InvalidArgument(
                f"initial value of {parameter.name} is infinite", field=parameter.name
            )
        if low > high:
            raise InvalidArgument(
                f"bounds of {parameter.name} are inverted: [{low}, {high}]", field=parameter.name
            )
        if not low <= value <= high:
            raise InvalidArgument(
                f"initial value {value} of {parameter.name} is outside its bounds [{low}, {high}]",
                field=parameter.name,
            )
        start.append(value)
        lower.append(low)
        upper.append(high)
        free.append((not parameter.fixed or parameter.name in bounds) and low < high)
    return FitPlan(
        model=model,
        start=np.array(start, dtype=np.float64),
        lower=np.array(lower, dtype=np.float64),
        upper=np.array(upper, dtype=np.float64),
        free=np.array(free, dtype=np.bool_),
    )
