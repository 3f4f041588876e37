"""`trivial`: a constant, for testing (pyama-api.md)."""

from numba import njit

from .base import EVALUATE, JACOBIAN, FitModel, ModelParameter


@njit(EVALUATE, cache=True, nogil=True)
def evaluate(t, p, out):
    for i in range(t.size):
        out[i] = p[0] + p[1]


@njit(JACOBIAN, cache=True, nogil=True)
def jacobian(t, p, out, jac):
    for i in range(t.size):
        out[i] = p[0] + p[1]
        jac[i, 0] = 1.0
        jac[i, 1] = 1.0


MODEL = FitModel(
    name="trivial",
    description="Constant model for testing",
    equation="f(t) = A + B",
    parameters=(
        ModelParameter("amplitude", "A", 1.0, (0.0, 10.0), "Constant amplitude"),
        ModelParameter("offset", "B", 0.0, (-5.0, 5.0), "Vertical offset"),
    ),
    evaluate=evaluate,
    jacobian=jacobian,
)
