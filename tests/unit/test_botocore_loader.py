"""The shared session's data loader reads what botocore's own loader reads, only faster."""

from __future__ import annotations

import json
from pathlib import Path

import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from itam.adapters import sessions

# Every service the product makes a client of (the API, the workers and the AWS inventory).
SERVICES = (
    "dynamodb",
    "sts",
    "sqs",
    "events",
    "secretsmanager",
    "cognito-idp",
    "organizations",
    "ec2",
    "s3",
    "rds",
    "lambda",
)


Loaders = tuple[sessions.ServiceDataLoader, Loader]


@pytest.fixture(scope="module")
def loaders() -> tuple[sessions.ServiceDataLoader, Loader]:
    return sessions.ServiceDataLoader(extra_search_paths=[]), Loader()


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("type_name", ["service-2", "endpoint-rule-set-1"])
def test_a_service_model_is_what_botocore_reads(loaders: Loaders, service: str, type_name: str) -> None:
    ours, botocores = loaders
    assert ours.load_service_model(service, type_name) == botocores.load_service_model(service, type_name)


@pytest.mark.parametrize("name", ["endpoints", "partitions", "sdk-default-configuration", "_retry"])
def test_shared_data_is_what_botocore_reads(loaders: Loaders, name: str) -> None:
    ours, botocores = loaders
    assert ours.load_data(name) == botocores.load_data(name)


def test_a_service_is_known_without_listing_them_all(loaders: Loaders) -> None:
    ours, botocores = loaders
    known = ours.list_available_services("service-2")
    assert "dynamodb" in known
    for odd in ("no-such-service", "", "../dynamodb", ".", "dynamodb/2012-08-10", 42):
        assert odd not in known
    assert list(known) == botocores.list_available_services("service-2")  # the whole list when asked
    assert len(known) == len(botocores.list_available_services("service-2"))


def test_an_unknown_service_is_refused_as_botocore_refuses_it() -> None:
    with pytest.raises(UnknownServiceError, match=r"no-such-service.*dynamodb"):
        sessions.client("no-such-service", "us-east-1", aws_access_key_id="a", aws_secret_access_key="b")


def test_the_configured_data_path_is_searched_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = tmp_path / "sts" / "2011-06-15"
    model_dir.mkdir(parents=True)
    (model_dir / "service-2.json").write_text(json.dumps({"metadata": {"serviceId": "Custom"}}))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    loader = sessions.data_loader(botocore.session.Session())
    assert loader.load_service_model("sts", "service-2") == {"metadata": {"serviceId": "Custom"}}
    assert "sts" in loader.list_available_services("service-2")


def test_the_shared_session_uses_it_and_makes_working_clients() -> None:
    session = sessions.base_session()
    assert isinstance(session.get_component("data_loader"), sessions.ServiceDataLoader)
    client = sessions.client("dynamodb", "eu-west-1", aws_access_key_id="a", aws_secret_access_key="b")
    assert client.meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"
    assert client.meta.service_model.operation_model("TransactWriteItems").name == "TransactWriteItems"
