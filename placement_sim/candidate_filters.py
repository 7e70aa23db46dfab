"""What narrows allocation candidates besides resources: required and forbidden traits and
aggregate membership, as ``GET /allocation_candidates`` takes them.

* ``required=A,B`` (1.17): the provider has every trait; ``!C`` (1.22) forbids one; ``in:D,E``
  (1.39) asks for at least one of them. The parameter may repeat (1.39), each one more
  condition.
* ``member_of=<agg>`` or ``member_of=in:<agg1>,<agg2>`` (1.21): the provider is in one of the
  aggregates; repeated (1.24), it must satisfy each. ``member_of=!<agg>`` or
  ``member_of=!in:<agg1>,<agg2>`` (1.32) forbids them: the provider is in none of them.

A ``CandidateFilters`` is hashable: the store caches each provider's answer per resources and
filters.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CandidateFilters:
    required: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()
    # Each set: the provider has at least one of these traits.
    any_traits: tuple[frozenset[str], ...] = ()
    # Each set: the provider is in at least one of these aggregates.
    member_of: tuple[frozenset[str], ...] = ()
    # The provider is in none of these aggregates.
    forbidden_aggregates: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.required or self.forbidden or self.any_traits or self.member_of
                    or self.forbidden_aggregates)

    @property
    def traits_named(self) -> frozenset[str]:
        """Every trait the filters name (each must exist)."""
        return self.required | self.forbidden | frozenset().union(*self.any_traits)

    def admits(self, traits: frozenset[str], aggregates: frozenset[str]) -> bool:
        return (self.required <= traits and not self.forbidden & traits
                and all(group & traits for group in self.any_traits)
                and all(group & aggregates for group in self.member_of)
                and not self.forbidden_aggregates & aggregates)


NO_FILTERS = CandidateFilters()
