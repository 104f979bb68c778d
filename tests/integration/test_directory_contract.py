"""One contract for both Directory implementations: the Cognito adapter (on moto, with the template's
user pool) and the fake the unit and route tests use."""

from __future__ import annotations

import os
from collections.abc import Callable

import boto3
import pytest

from itam.adapters.directory import CognitoDirectory
from itam.requests.ports import Directory, Person
from itam.tenancy import Role, TenantContext
from tests.support.request_fakes import FakeDirectory

ACME = TenantContext("acme", "u-1", "admin@acme", frozenset({Role.ADMIN}))
GLOBEX = TenantContext("globex", "u-2", "admin@globex", frozenset({Role.ADMIN}))

# Adds a user (tenant, e-mail, enabled) and returns their id.
AddUser = Callable[[str, str, bool], str]


@pytest.fixture(params=["cognito", "fake"])
def directory(request: pytest.FixtureRequest) -> tuple[Directory, AddUser]:
    if request.param == "fake":
        fake = FakeDirectory()

        def add_fake(tenant: str, email: str, enabled: bool) -> str:
            user_id = f"sub-{len(fake.users)}"
            fake.add(tenant, user_id, email, enabled)
            return user_id

        return fake, add_fake
    request.getfixturevalue("table")  # the template's pool, USER_POOL_ID set
    cognito, pool_id = boto3.client("cognito-idp"), os.environ["USER_POOL_ID"]

    def add_user(tenant: str, email: str, enabled: bool) -> str:
        attributes = [{"Name": "email", "Value": email}, {"Name": "custom:tenant_id", "Value": tenant}]
        cognito.admin_create_user(
            UserPoolId=pool_id, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS"
        )
        if not enabled:
            cognito.admin_disable_user(UserPoolId=pool_id, Username=email)
        user = cognito.admin_get_user(UserPoolId=pool_id, Username=email)
        return str(next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub"))

    return CognitoDirectory(pool_id, "us-east-1"), add_user


def test_a_user_is_found_by_e_mail_address_in_any_case_or_by_id(directory: tuple[Directory, AddUser]) -> None:
    people, add = directory
    sub = add("acme", "Controller@acme.example.com", True)
    expected = Person(user_id=sub, name="Controller@acme.example.com")
    for name in ("Controller@acme.example.com", "controller@ACME.EXAMPLE.COM", sub):
        assert people.find(ACME, name) == expected


@pytest.mark.parametrize("name", ["nobody@acme.example.com", "controller", "a b@acme.example.com", "x" * 128])
def test_a_name_that_is_no_user_finds_nobody(directory: tuple[Directory, AddUser], name: str) -> None:
    people, add = directory
    add("acme", "controller@acme.example.com", True)
    assert people.find(ACME, name) is None


def test_a_user_of_another_tenant_or_a_disabled_one_is_nobody(directory: tuple[Directory, AddUser]) -> None:
    people, add = directory
    add("globex", "controller@globex.example.com", True)
    add("acme", "gone@acme.example.com", False)
    assert people.find(ACME, "controller@globex.example.com") is None
    assert people.find(GLOBEX, "controller@globex.example.com") is not None
    assert people.find(ACME, "gone@acme.example.com") is None


def test_without_a_pool_the_adapter_refuses_to_guess() -> None:
    with pytest.raises(RuntimeError, match="USER_POOL_ID"):
        CognitoDirectory(None, "us-east-1").find(ACME, "controller@acme.example.com")
