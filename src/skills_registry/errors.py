"""Domain errors raised by services; the app factory maps each to HTTP once."""

from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(DomainError):
    pass


class ConflictError(DomainError):
    pass


class PermissionDeniedError(DomainError):
    pass


class ServiceUnavailableError(DomainError):
    pass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class RuleViolation(DomainError):
    """One or more fields break a domain rule (answered as 422)."""

    errors: list[FieldError] = field(default_factory=list)
    detail: str = "请求内容有误 / the request has invalid fields"

    def __post_init__(self) -> None:
        Exception.__init__(self, self.detail)

    @classmethod
    def single(cls, field_name: str, message: str) -> RuleViolation:
        return cls(errors=[FieldError(field_name, message)], detail=message)
