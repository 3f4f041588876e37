"""The MCP server whose tool errors read in the user's terms.

The MCP SDK frames every anticipated tool failure as "Error executing tool
<name>: <text>", and for arguments that fail the tool's input schema <text>
is pydantic's report, with type names and an errors.pydantic.dev link. A model
(and the person reading over its shoulder) is better served by what the REST
API says: the documented error code, then the problem, e.g.

    INVALID_PARAMETERS: fov: must be at most 2147483647
    FILE_NOT_FOUND: <what the service says of the path>

A failed service call (`BackendError`, raised by a tool as it is: tools do not
catch it) reads as the REST answer does, `<ERROR_CODE>: <message>`, worded by
`edge.errors.user_message` (no RPC path, address or exception repr).

`call_tool` is the SDK's documented entry for a call; this rewrites the
ToolError it raises and keeps the original as `__cause__`, so the SDK still
logs the rejected fields (never their values). Other crashes
(UnexpectedToolError) and unknown tools keep the SDK's own text.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from common import errors
from edge.errors import BackendError, user_message

# Bounds read better as words than as pydantic's "less than or equal to".
_BOUNDS = {
    "less_than_equal": ("le", "must be at most"),
    "greater_than_equal": ("ge", "must be at least"),
    "less_than": ("lt", "must be less than"),
    "greater_than": ("gt", "must be greater than"),
}


def problem_text(problem: ErrorDetails) -> str:
    """One validation problem as "<field>: <what it must be>"."""
    field = ".".join(str(part) for part in problem["loc"]) or "arguments"
    if problem["type"] == "missing":
        return f"{field}: is required"
    if problem["type"] in _BOUNDS:
        key, words = _BOUNDS[problem["type"]]
        return f"{field}: {words} {problem.get('ctx', {}).get(key)}"
    message = problem["msg"]
    if message.startswith("Input should be "):
        message = "must be " + message.removeprefix("Input should be ")
    return f"{field}: {message}"


def invalid_arguments(error: ValidationError) -> str:
    """All problems in one line, e.g.
    `INVALID_PARAMETERS: fov: must be at most 2147483647; t: must be at least 0`."""
    problems = "; ".join(problem_text(problem) for problem in error.errors(include_url=False))
    return f"{errors.INVALID_PARAMETERS}: {problems}"


def backend_failure(error: BackendError) -> str:
    """A failed service call as a tool error: `FILE_NOT_FOUND: <the user's terms>`."""
    message, _ = user_message(error)
    return f"{error.failure.error_code}: {message}"


class EdgeMCPServer(MCPServer):
    """MCPServer whose tool errors are the tool's own text, or for invalid
    arguments `invalid_arguments`, without the SDK's "Error executing tool" frame."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as error:
            cause = error.__cause__
            if isinstance(cause, BackendError):
                raise ToolError(backend_failure(cause)) from cause
            raise
        except ToolError as error:
            cause = error.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(invalid_arguments(cause)) from cause
            if isinstance(cause, ToolError):  # raised by the tool itself, framed by the SDK
                raise ToolError(str(cause)) from cause
            raise
