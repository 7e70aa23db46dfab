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
"""

SINCE_PARAMETER = "altsim_since"
TOKEN_HEADER = "Altsim-Candidates-Token"
SINCE_HEADER = "Altsim-Candidates-Since"
REMOVED_KEY = "altsim_removed"
