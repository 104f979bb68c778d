"""botocore sessions that share one loader per process.

Building a client reads and parses its service model, its endpoint ruleset and the partition data,
after listing botocore's data directory; a session's loader keeps what it has read, but every
session has a loader of its own, and making a session registers botocore's event handlers. A
request served on tenant-scoped credentials builds two clients (STS for the AssumeRole, then
DynamoDB signing as the tenant): both come from the process's one session, the DynamoDB client with
the tenant's credentials given to it, so the cold start reads botocore's data and sets up a session
once.

The session's data loader does what botocore's does, in about 30 ms less of every cold start:
- it finds a service's model by looking in that service's directory only. botocore's own loader
  first lists every service it ships, twice (once for the service model, once for its endpoint
  ruleset): two walks over some 450 directories, about 20 ms, to answer whether one service exists;
- it reads JSON into plain dicts (ordered, as every dict is) instead of OrderedDicts: the 1.2 MB
  endpoint file alone takes 16 ms the one way and 6 ms the other.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from functools import cached_property, lru_cache
from typing import Any, overload

import botocore.session
from botocore.config import Config
from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader

# Client creation on one session is not thread safe (botocore documents it): the local stack serves
# several execution environments from one process.
_LOCK = threading.Lock()


class KnownServices(Sequence[str]):
    """The services botocore has data of a type for: `in` looks at the one service's directory; the
    whole list (an error message's, `get_available_services`) is made when first asked for."""

    def __init__(self, loader: ServiceDataLoader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name

    def __contains__(self, service: object) -> bool:
        if not isinstance(service, str) or not service or os.sep in service or service.startswith("."):
            return False
        try:
            self._loader.list_api_versions(service, self._type_name)
        except DataNotFoundError:
            return False
        return True

    @cached_property
    def _all(self) -> list[str]:
        return list(Loader.list_available_services(self._loader, self._type_name))

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._all[index]

    def __len__(self) -> int:
        return len(self._all)

    def __iter__(self) -> Iterator[str]:
        return iter(self._all)


class DictJSONFileLoader(JSONFileLoader):
    """botocore's JSON file loader, into plain dicts."""

    def _load_file(self, full_path: str, open_method: Any) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as data:
            return json.loads(data.read().decode("utf-8"))


class ServiceDataLoader(Loader):
    """botocore's loader, the same search paths and caches, without listing every service to load one."""

    def __init__(self, extra_search_paths: list[str]) -> None:
        super().__init__(extra_search_paths=extra_search_paths, file_loader=DictJSONFileLoader())

    # A sequence, as botocore uses what it returns (`in`, iteration, a join): the stubs say list.
    def list_available_services(self, type_name: str) -> KnownServices:  # type: ignore[override]
        return KnownServices(self, type_name)


def data_loader(session: botocore.session.Session) -> ServiceDataLoader:
    """The loader botocore would make (`AWS_DATA_PATH` / `data_path` searched first), as this one."""
    data_path = session.get_config_variable("data_path")
    extra = (
        [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)] if data_path else []
    )
    return ServiceDataLoader(extra_search_paths=extra)


@lru_cache(maxsize=1)
def base_session() -> botocore.session.Session:
    session = botocore.session.get_session()
    # Built now, once, rather than lazily under concurrent use.
    session.register_component("data_loader", data_loader(session))
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
