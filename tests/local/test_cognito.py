"""The emulated user pool keeps the settings of template.yaml's pool that the API relies on, as Cognito
does: users cannot change their e-mail address, a change applies only once verified, user names and
addresses are one user's in any case, group names have no whitespace."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.local.cognito import valid_group_name
from infra.local.resources import StackResources
from infra.local.token import issue_tokens
from tests.local.conftest import REGION
from tests.support.tokens import unverified_claims


def state(itam: StackResources, moto_url: str) -> dict[str, Any]:
    return {
        "moto_url": moto_url,
        "region": REGION,
        "user_pool_id": itam.user_pool_id,
        "client_id": itam.client_id,
    }


def attributes(cognito: Any, pool_id: str, username: str) -> dict[str, str]:
    user = cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    return {a["Name"]: a["Value"] for a in user["UserAttributes"]}


def a_user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}@acme.example.com"


def test_a_user_cannot_change_their_e_mail_address(
    itam: StackResources, moto_url: str, session: boto3.Session
) -> None:
    cognito = session.client("cognito-idp", endpoint_url=moto_url)
    address = a_user()
    tokens = issue_tokens(state(itam, moto_url), "acme", "editor", user=address)

    for change in ({"email": "someone-else@acme.example.com"}, {"email_verified": "true"}):
        update = [{"Name": name, "Value": value} for name, value in change.items()]
        with pytest.raises(ClientError) as refused:
            cognito.update_user_attributes(AccessToken=tokens["AccessToken"], UserAttributes=update)
        assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert attributes(cognito, itam.user_pool_id, address)["email"] == address
    # What the app client may write, the user writes
    cognito.update_user_attributes(
        AccessToken=tokens["AccessToken"], UserAttributes=[{"Name": "name", "Value": "Erin"}]
    )
    assert attributes(cognito, itam.user_pool_id, address)["name"] == "Erin"


def test_through_a_client_that_may_write_it_a_new_address_waits_for_verification(
    itam: StackResources, moto_url: str, session: boto3.Session
) -> None:
    cognito = session.client("cognito-idp", endpoint_url=moto_url)
    # Given: another app client of the pool, without WriteAttributes (it may write every attribute)
    other = cognito.create_user_pool_client(
        UserPoolId=itam.user_pool_id, ClientName="other", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    address = a_user()
    tokens = issue_tokens({**state(itam, moto_url), "client_id": other}, "acme", "viewer", user=address)
    # When: the user sets a new address
    cognito.update_user_attributes(
        AccessToken=tokens["AccessToken"],
        UserAttributes=[{"Name": "email", "Value": "new@acme.example.com"}, {"Name": "name", "Value": "V"}],
    )
    # Then: the old one stays until confirmed with a code (which the emulator never sends)
    kept = attributes(cognito, itam.user_pool_id, address)
    assert (kept["email"], kept["name"]) == (address, "V")


def test_user_names_and_addresses_are_one_user_s_in_any_case(
    itam: StackResources, moto_url: str, session: boto3.Session
) -> None:
    cognito = session.client("cognito-idp", endpoint_url=moto_url)
    address = a_user()
    first = issue_tokens(state(itam, moto_url), "acme", "viewer", user=address)
    shouted = issue_tokens(state(itam, moto_url), "acme", "viewer", user=address.upper())
    assert unverified_claims(first["IdToken"])["sub"] == unverified_claims(shouted["IdToken"])["sub"]
    assert attributes(cognito, itam.user_pool_id, address.upper())["email"] == address

    other = a_user()
    issue_tokens(state(itam, moto_url), "acme", "viewer", user=other)
    with pytest.raises(ClientError) as taken:  # another user cannot be given the address in another case
        cognito.admin_update_user_attributes(
            UserPoolId=itam.user_pool_id,
            Username=other,
            UserAttributes=[{"Name": "email", "Value": address.upper()}],
        )
    assert taken.value.response["Error"]["Code"] == "AliasExistsException"
    with pytest.raises(ClientError) as exists:
        cognito.admin_create_user(
            UserPoolId=itam.user_pool_id, Username=address.title(), MessageAction="SUPPRESS"
        )
    assert exists.value.response["Error"]["Code"] == "UsernameExistsException"


@pytest.mark.parametrize("name", ["admin ", " admin", "x admin", "admin\t", "admin\u00a0"])
def test_group_names_with_whitespace_are_refused(
    itam: StackResources, moto_url: str, session: boto3.Session, name: str
) -> None:
    cognito = session.client("cognito-idp", endpoint_url=moto_url)
    with pytest.raises(ClientError) as refused:
        cognito.create_group(UserPoolId=itam.user_pool_id, GroupName=name)
    assert refused.value.response["Error"]["Code"] in ("InvalidParameterException", "ValidationException")


def test_group_names_cognito_accepts_are_accepted_and_no_others() -> None:
    for name in ("admin", "x,admin", '"admin"', "[admin]", "Ünïcode-group_1", "a" * 128):
        assert valid_group_name(name), name
    for name in ("", "a" * 129, "a b", "a\nb"):
        assert not valid_group_name(name), name
