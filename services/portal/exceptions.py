"""What can go wrong behind a page, as the pages answer it.

    Exception
    ├── SignInNeeded     no session, or the API no longer takes its token: back to sign-in
    ├── NotPermitted     the person's roles do not allow it: the 403 page
    ├── ApiUnavailable   the API did not answer (or failed): the 503 page
    ├── ApiProblem       the API refused the call: its message, next to the field it names
    └── CsrfRefused      a form without a valid CSRF token: the 403 page, nothing done
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.portal.messages import field_message, problem_message


class SignInNeeded(Exception):
    """The person must sign in (again); `expired` when they had a session that ended."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("sign-in needed")
        self.expired = expired


class NotPermitted(Exception):
    def __init__(self, detail: str = "", *, required_roles: list[str] | None = None) -> None:
        super().__init__(detail)
        self.required_roles = required_roles or []


class ApiUnavailable(Exception):
    """The API did not answer, or failed: nothing the person can mend."""


class CsrfRefused(Exception):
    """An unsafe request without the token the portal put in its own forms."""


@dataclass
class ApiProblem(Exception):
    """A refusal of the API (RFC 9457): `message` in Chinese for the page, `fields` the
    Chinese message for each input the problem names."""

    status: int
    slug: str
    detail: str
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, status: int, body: dict[str, Any]) -> ApiProblem:
        slug = str(body.get("type", "")).rsplit("/", 1)[-1]
        fields: dict[str, str] = {}
        if body.get("field"):
            fields[_input_name(str(body["field"]))] = problem_message(status, slug, body)
        for error in body.get("errors") or []:
            if isinstance(error, dict) and error.get("field"):
                fields.setdefault(_input_name(str(error["field"])),
                                  field_message(str(error.get("code", ""))))
        return cls(status=status, slug=slug, detail=str(body.get("detail", "")),
                   message=problem_message(status, slug, body), fields=fields, body=body)

    def __str__(self) -> str:
        return f"{self.status} {self.slug}: {self.detail}"


def _input_name(api_field: str) -> str:
    """The form input an API field names: `body.share.type` → `share.type`."""
    for prefix in ("body.", "query.", "path."):
        if api_field.startswith(prefix):
            return api_field[len(prefix):]
    return api_field
