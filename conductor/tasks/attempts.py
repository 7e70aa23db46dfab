"""How many alternates a build asks for, and how many attempts it may make.

Both conductors apply the same bound, so it lives in one place: the super conductor to decide
whether the first compute gets a retry at all, the cell conductor to stop a reschedule. With
`[conductor] alternates_from = config` (Nova) the bound is `[scheduler] max_attempts` and the
scheduler picks the number of alternates from the same option; with `request` the request's
`num_alternates` decides both, so the caller, not the operator, sets how hard a build is tried;
with `[scheduler] legacy_retry` there are no alternates and the bound is max_attempts again.
"""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

from altsim.objects import RequestSpec


@dataclass(frozen=True)
class Attempts:
    max_attempts: int
    from_request: bool = False  # [conductor] alternates_from = request
    legacy_retry: bool = False  # [scheduler] legacy_retry

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Attempts:
        return cls(max_attempts=conf.scheduler.max_attempts,
                   from_request=conf.conductor.alternates_from == "request",
                   legacy_retry=conf.scheduler.legacy_retry)

    def alternates_to_request(self, spec: RequestSpec) -> int | None:
        """num_alternates for select_destinations; None lets the scheduler use its own
        max_attempts - 1, as Nova's conductor does."""
        if self.legacy_retry:
            return 0
        if self.from_request:
            return spec.num_alternates
        return None

    def allowed(self, spec: RequestSpec) -> int:
        """The most attempts (spawns on distinct hosts) a build of this request may make."""
        if self.legacy_retry or not self.from_request or spec.num_alternates is None:
            return self.max_attempts
        return 1 + spec.num_alternates
