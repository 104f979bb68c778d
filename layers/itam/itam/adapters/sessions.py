"""botocore sessions that share one loader per process.

Building a client reads and parses its service model, its endpoint ruleset and the partition data,
after listing botocore's data directory; a session's loader keeps what it has read, but every
session has a loader of its own. A request served on tenant-scoped credentials builds two clients on
two sessions (STS for the AssumeRole, then DynamoDB on a session that signs as the tenant), so with
a loader each the cold start would do all of that reading twice. Every session made here shares the
first one's loader instead.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import botocore.session
from botocore.config import Config

# Client creation on one session is not thread safe (botocore documents it): the local stack serves
# several execution environments from one process.
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def base_session() -> botocore.session.Session:
    session = botocore.session.get_session()
    session.get_component("data_loader")  # built now, once, rather than lazily under concurrent use
    return session


def new_session(
    access_key: str | None = None, secret_key: str | None = None, token: str | None = None
) -> Any:
    """A botocore session on the process's shared loader; it signs with the given credentials, or
    with the process's own (the function's role) when none are given."""
    session = botocore.session.get_session()
    session.register_component("data_loader", base_session().get_component("data_loader"))
    if access_key is not None and secret_key is not None:
        session.set_credentials(access_key, secret_key, token)
    return session


def client(
    service: str, region: str, endpoint_url: str | None = None, config: Config | None = None, **kwargs: Any
) -> Any:
    """A client on the process's shared session; `kwargs` are create_client's (e.g. credentials)."""
    with _LOCK:
        return base_session().create_client(
            service, region_name=region, endpoint_url=endpoint_url, config=config, **kwargs
        )
