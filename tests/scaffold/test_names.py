from __future__ import annotations

import pytest

from iotedge_cli.errors import UsageError
from iotedge_cli.routes import parse_route
from iotedge_cli.scaffold.names import (
    check_module_name,
    check_registry,
    check_repository,
    pascal,
    route_texts,
    snake,
)


@pytest.mark.parametrize("name", ["FilterModule", "my-module", "ok_name", "a__b", "M2", "x" * 64])
def test_good_names_work_in_every_route(name: str) -> None:
    assert check_module_name(name) == name
    for text in route_texts(name, sensor="SimulatedTemperatureSensor"):
        parse_route(text)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "the name is empty"),
        ("x" * 65, "65 characters long; the limit is 64"),
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        ("a..b", "cannot contain '..'"),
        ("$edgeHub", "reserved for system modules"),
        ("edgeAgent", "is a system module of IoT Edge"),
        ("my module", "' ' is not allowed in an IoT Edge module id"),
        ("Ünï", "'Ü' is not allowed in an IoT Edge module id"),
        ("x.y", "would break ${MODULES.<name>.<platform>}"),
        ("1abc", "must start with a letter"),
        ("a+b", "'+' is not allowed in routes and code identifiers"),
        ("a___b", "would be rejected by Docker"),
        ("a-", "would be rejected by Docker"),
    ],
)
def test_bad_names_say_which_rule(name: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        check_module_name(name)
    assert fragment in info.value.message
    assert info.value.message.startswith(f"invalid module name {name!r}: ")
    assert info.value.hint


def test_case_conversions() -> None:
    assert snake("FilterModule") == "filter_module"
    assert snake("my-module") == "my_module"
    assert snake("HTTPFilter") == "http_filter"
    assert pascal("filter_module") == "FilterModule"
    assert pascal("FilterModule") == "FilterModule"


def test_repository_and_registry() -> None:
    assert check_repository("MyAcr.azurecr.io/Filter") == "myacr.azurecr.io/filter"
    assert check_registry("localhost:5000") == "localhost:5000"
    for bad in ("localhost:5000/x:1.0", "a b/c", ""):
        with pytest.raises(UsageError):
            check_repository(bad)
    for bad in ("https://x.io", "x.io/path", ""):
        with pytest.raises(UsageError):
            check_registry(bad)
