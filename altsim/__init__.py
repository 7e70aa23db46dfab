"""altsim: a simulator of OpenStack Nova's Cells v2 build path with alternate hosts."""

import warnings

# oslo.messaging (through oslo.service) and futurist import eventlet when it is installed, and
# eventlet warns on import. altsim never monkey-patches and runs the threading executor only, so
# the warning says nothing about altsim; hide it rather than alarm every user on every run.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated", category=Warning)
