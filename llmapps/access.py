"""Who is calling a service function: the local CLI user, or a remote HTTP/web-UI caller.

Why an argument rather than checks in each route and tab: the rules for a remote caller
(which model specs it may name, which local git paths it may watch, which stored secrets it
sees or may keep by sending back a redacted value) are policy, and policy lives in the
application's service functions. A route or tab only says who is asking; a new handler that
forgets a check cannot open a hole, because there is no check for it to forget. The default
is ``LOCAL`` (the CLI's user owns the machine anyway).
"""

from __future__ import annotations

from enum import Enum


class Access(Enum):
    LOCAL = "local"  # the CLI (or a library user) on this machine: no restriction
    REMOTE = "remote"  # an HTTP request or a web-UI session: the remote-caller rules apply

    @property
    def remote(self) -> bool:
        return self is Access.REMOTE


LOCAL = Access.LOCAL
REMOTE = Access.REMOTE
