"""altsim's extension of GET /allocation_candidates: the candidates that changed since an
earlier answer, which both the placement simulator and its client speak.

Every answer carries `Altsim-Candidates-Token: <token>`. A request with `altsim_since=<token>`
may then be answered with only the providers whose generation moved since that answer: the
body's allocation requests and summaries are theirs (those still candidates), its
`altsim_removed` lists the others, and `Altsim-Candidates-Since: <token>` says the answer is
such a delta. The server may answer in full instead (no such header). A real placement sends
no token, so a client never sends `altsim_since` to one (it would be a 400 there).
PlacementStore.candidates_since says when a delta is possible; candidates_cache how a client
applies one.

A token is `<placement>:<change number>`: which placement answered (a restarted one is
another) and the last change it had numbered. `CandidatesToken` is its one reader and writer.
"""

from __future__ import annotations

from dataclasses import dataclass

SINCE_PARAMETER = "altsim_since"
TOKEN_HEADER = "Altsim-Candidates-Token"
SINCE_HEADER = "Altsim-Candidates-Since"
REMOVED_KEY = "altsim_removed"


@dataclass(frozen=True, slots=True)
class CandidatesToken:
    """A candidates token: the placement that gave it, and the change number it names."""

    epoch: str
    number: int

    @classmethod
    def parse(cls, text: str | None) -> CandidatesToken | None:
        """The token `text` spells, or None when it spells none (no token, or garbage: the
        server then answers in full, the client asks in full)."""
        epoch, _, number = (text or "").partition(":")
        # ASCII digits only: int() refuses some characters that str.isdigit() accepts.
        if not (number.isascii() and number.isdigit()):
            return None
        return cls(epoch, int(number))

    def __str__(self) -> str:
        return f"{self.epoch}:{self.number}"

    def later_than(self, other: CandidatesToken | None) -> bool:
        """Whether this names a later change than `other` of the same placement."""
        return other is not None and self.epoch == other.epoch and self.number > other.number
