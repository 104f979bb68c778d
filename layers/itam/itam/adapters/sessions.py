"""botocore sessions that share one loader per process.

Building a client reads and parses its service model, its endpoint ruleset and the partition data,
after listing botocore's data directory; a session's loader keeps what it has read, but every
session has a loader of its own, and making a session registers botocore's event handlers. A
request served on tenant-scoped credentials builds two clients (STS for the AssumeRole, then
DynamoDB signing as the tenant): both come from the process's one session, the DynamoDB client with
the tenant's credentials given to it, so the cold start reads botocore's data and sets up a session
once.
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


def client(
    service: str, region: str, endpoint_url: str | None = None, config: Config | None = None, **kwargs: Any
) -> Any:
    """A client on the process's shared session; `kwargs` are create_client's (e.g. credentials)."""
    with _LOCK:
        return base_session().create_client(
            service, region_name=region, endpoint_url=endpoint_url, config=config, **kwargs
        )


class SigningAs:
    """What PynamoDB asks of its botocore session, `create_client`, answered by the process's shared
    session with the given credentials: every tenant's DynamoDB client signs as that tenant without a
    botocore session of its own (a new session registers botocore's hundreds of event handlers
    again, a few milliseconds of every cold start)."""

    def __init__(
        self, access_key: str | None = None, secret_key: str | None = None, token: str | None = None
    ) -> None:
        # Without credentials, the clients sign as the function's own role (botocore's default chain).
        self._credentials = (
            {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key, "aws_session_token": token}
            if access_key is not None
            else {}
        )

    def create_client(
        self,
        service_name: str,
        region_name: str,
        endpoint_url: str | None = None,
        config: Config | None = None,
    ) -> Any:
        """A client of `service_name` signing with these credentials."""
        return client(service_name, region_name, endpoint_url, config, **self._credentials)
