"""The fitting models, by name. Adding one: a module beside these with a `MODEL`,
and its name in `_MODULES`."""

from __future__ import annotations

from importlib import import_module

from common.errors import InvalidArgument

from .base import FitModel, ModelParameter

_MODULES = (
    "trivial",
    "maturation",
    "translation_maturation",
    "translation",
    "maturation_blocked",
    "exponential_decay",
)

MODELS: dict[str, FitModel] = {
    model.name: model for model in (import_module(f"{__name__}.{m}").MODEL for m in _MODULES)
}


def get_model(name: str) -> FitModel:
    """The model called `name`; InvalidArgument naming the known ones otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise InvalidArgument(
            f"unknown model {name!r}; known models: {known}", field="model_type", model=name
        ) from None


__all__ = ["MODELS", "FitModel", "ModelParameter", "get_model"]
