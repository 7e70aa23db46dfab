"""Exceptions that cross service boundaries (RPC peers rebuild them by module and name).

oslo.messaging rebuilds a remote exception by calling its class with the original `args`, so each
class takes its full message as its only argument.
"""

from __future__ import annotations


class AltsimError(Exception):
    """Base of the build-path errors; its message is what lands in an instance fault."""


class NoValidHost(AltsimError):
    def __init__(self, message: str = "No valid host was found. "
                                      "There are not enough hosts available.") -> None:
        super().__init__(message)


class MaxRetriesExceeded(AltsimError):
    PREFIX = "Exceeded maximum number of retries. "

    @classmethod
    def exceeded_attempts(cls, max_attempts: int, instance_uuid: str,
                          last_reason: str | None) -> MaxRetriesExceeded:
        return cls(f"{cls.PREFIX}Exceeded max scheduling attempts {max_attempts} for instance "
                   f"{instance_uuid}. Last exception: {last_reason}")

    @classmethod
    def exhausted_hosts(cls, instance_uuid: str) -> MaxRetriesExceeded:
        return cls(f"{cls.PREFIX}Exhausted all hosts available for retrying build failures "
                   f"for instance {instance_uuid}.")


class RescheduledException(AltsimError):
    """A spawn failure the cell conductor may retry on an alternate."""


class BuildAbortException(AltsimError):
    """A spawn failure that must not be retried anywhere."""


REMOTE_EXCEPTION_MODULES = [__name__]
