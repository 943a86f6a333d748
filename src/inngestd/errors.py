"""The root of every inngestd exception, and its families.

A user's mistake (bad input, a failing app) and a server fault are different types, so the
HTTP layer can map each family to one status code in one place.
"""

from __future__ import annotations

from typing import ClassVar


class InngestdError(Exception):
    """Unexpected server error."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self)


# -- not found ------------------------------------------------------------------------------
class NotFound(InngestdError):
    """Not found."""


class RunNotFound(NotFound):
    """Run not found."""


class EventNotFound(NotFound):
    """Event not found."""


class FunctionNotFound(NotFound):
    """Function not found."""


class AppNotFound(NotFound):
    """App not found."""


# -- bad input --------------------------------------------------------------------------------
class StepNotFound(NotFound):
    """Step not found in the run."""


class InvalidInput(InngestdError):
    """Invalid input."""


class InvalidEvent(InvalidInput):
    """Invalid event."""


class PayloadTooLarge(InvalidInput):
    """Payload too large."""


class InvalidFunctionConfig(InvalidInput):
    """Invalid function configuration."""


class InvalidExpression(InvalidInput):
    """Invalid expression."""


class InvalidDuration(InvalidInput):
    """Invalid duration."""


class Unauthorized(InngestdError):
    """Unauthorized."""


# -- conflicts --------------------------------------------------------------------------------
class Conflict(InngestdError):
    """Conflict."""


class RunAlreadyEnded(Conflict):
    """Run has already ended."""


# -- the app's side ---------------------------------------------------------------------------
class SDKError(InngestdError):
    """The app answered in a way that is not a valid SDK response."""


class SDKUnreachable(SDKError):
    """The app could not be reached."""

    retryable = True


# -- the store's side -------------------------------------------------------------------------
class StoreError(InngestdError):
    """Store failure."""


class LeaseLost(StoreError):
    """The queue item's lease expired or another worker holds it."""


class DataDirLocked(StoreError):
    """Another inngestd process is using this data directory."""
