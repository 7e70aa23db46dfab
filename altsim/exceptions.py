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


class BuildTimedOut(BuildAbortException):
    """A build still in BUILD past [conductor] build_timeout: the sweeper ends it in ERROR."""

    REASON = "Instance build timed out"

    @classmethod
    def after(cls, instance_uuid: str, building_s: float, timeout_s: float) -> BuildTimedOut:
        # Nova's BuildAbortException text with the reason its build-timeout task logs.
        return cls(f"Build of instance {instance_uuid} aborted: {cls.REASON} after "
                   f"{building_s:.1f} s in BUILD ([conductor] build_timeout = {timeout_s:g} s)")


REMOTE_EXCEPTION_MODULES = [__name__]
