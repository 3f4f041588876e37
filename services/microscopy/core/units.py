"""Conversion of the length and time units instruments write into micrometres and minutes."""

from __future__ import annotations

_LENGTH_TO_UM: dict[str, float] = {
    "pm": 1e-6,
    "nm": 1e-3,
    "um": 1.0,
    "µm": 1.0,  # micro sign
    "μm": 1.0,  # Greek mu
    "\\u00b5m": 1.0,  # ImageJ writes the escape sequence literally
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "micrometre": 1.0,
    "mm": 1e3,
    "cm": 1e4,
    "m": 1e6,
}

_TIME_TO_MIN: dict[str, float] = {
    "ns": 1 / 60e9,
    "us": 1 / 60e6,
    "µs": 1 / 60e6,
    "ms": 1 / 60e3,
    "s": 1 / 60,
    "sec": 1 / 60,
    "second": 1 / 60,
    "seconds": 1 / 60,
    "min": 1.0,
    "minute": 1.0,
    "minutes": 1.0,
    "h": 60.0,
    "hr": 60.0,
    "hour": 60.0,
    "hours": 60.0,
    "d": 1440.0,
    "day": 1440.0,
    "days": 1440.0,
}


def length_to_um(value: float, unit: str | None) -> float | None:
    """`value` in `unit` as micrometres; None when the unit is unknown (e.g. "pixel", "inch")."""
    factor = _LENGTH_TO_UM.get((unit or "").strip().lower())
    if factor is None:
        return None
    # 12 significant digits: 1.6e-6 m gives 1.6 um, not 1.5999999999999999.
    return float(f"{float(value) * factor:.12g}")


def time_to_minutes_factor(unit: str | None) -> float | None:
    """Factor turning a time in `unit` into minutes; None when the unit is unknown."""
    return _TIME_TO_MIN.get((unit or "").strip().lower())
