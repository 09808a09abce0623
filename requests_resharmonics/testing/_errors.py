"""The fake API's errors, as a Spring service answers them.

Every refusal is an `ApiError` carrying its status and message; `spring_error` writes it in
Spring Boot's default JSON shape (``timestamp``, ``status``, ``error``, ``message``,
``path``), plus, for a body that fails validation, ``errors``: one entry per field, as
Spring Boot lists binding errors. Those shapes are a guess: the real bodies of 400, 404 and
405 answers are not documented.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from ._http import Answer

_REASONS = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Internal Server Error",
}


@dataclass(frozen=True)
class FieldError:
    """One field a request got wrong: where (``roomStays[0].rateId``) and what, in words."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field} {self.message}"


class ApiError(Exception):
    """Raised by a route to answer with a Spring-style error."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        fields: tuple[FieldError, ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.fields = fields


def not_found(what: str, key: object) -> ApiError:
    """Return the error for an unknown id (the wording is a guess)."""
    return ApiError(404, f"{what} with id {key} not found")


def mismatch(name: str, value: str, java_type: str) -> ApiError:
    """Return Spring's 400 for a parameter or path variable that does not convert."""
    return ApiError(
        400,
        f"Method parameter '{name}': Failed to convert value of type 'java.lang.String' to "
        f"required type '{java_type}'; invalid value '{value}'",
    )


def spring_error(
    status: int,
    path: str,
    message: str,
    headers: dict[str, str] | None = None,
    fields: tuple[FieldError, ...] = (),
) -> Answer:
    """Return an error in Spring Boot's default shape (a guess at the real body)."""
    moment = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    body: dict[str, Any] = {
        "timestamp": moment,
        "status": status,
        "error": _REASONS.get(status, "Error"),
        "message": message,
        "path": path,
    }
    if fields:
        body["errors"] = [{"field": f.field, "defaultMessage": f.message} for f in fields]
    return Answer(status, body, headers or {})
