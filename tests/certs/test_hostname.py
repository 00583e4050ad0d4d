"""Hostnames as aziot checks them, device ids as IoT Hub takes them."""

from __future__ import annotations

import pytest

from iotedge_cli.certs import CertificateUsageError
from iotedge_cli.certs.hostname import check_device_id, check_hostname


@pytest.mark.parametrize(
    "name", ["gw", "edge-gw.contoso.local", "a" * 63, "x1.y2", "a" * 30 + "." + "b" * 33]
)
def test_valid_hostnames(name: str) -> None:
    result = check_hostname(name)
    assert result.ip is None and result.warnings == ()


@pytest.mark.parametrize("name", ["10.0.0.1", "::1", "fe80::1"])
def test_ip_addresses(name: str) -> None:
    assert check_hostname(name).ip is not None


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "hostname is empty"),
        ("edge_gw", "label 'edge_gw' must be 1-63"),
        ("1edge", "label '1edge'"),
        ("edge-", "label 'edge-'"),
        ("a..b", "label ''"),
        ("a" * 64 + ".b", "has 66 characters; aziot allows at most 64"),
        ("a" * 65, "has 65 characters"),
    ],
)
def test_invalid_hostnames(name: str, fragment: str) -> None:
    with pytest.raises(CertificateUsageError) as info:
        check_hostname(name)
    assert fragment in info.value.message
    assert info.value.hint


def test_upper_case_hostname_warns() -> None:
    (warning,) = check_hostname("Edge-GW").warnings
    assert "consider 'edge-gw'" in warning


@pytest.mark.parametrize("value", ["dev-1", "a.b_c%d*e?f!g(h),i:j=k@l$m'n", "x" * 128])
def test_valid_device_ids(value: str) -> None:
    assert check_device_id(value) == value


@pytest.mark.parametrize("value", ["", "a/b", "a b", "x" * 129, "dev#1", "dev+1", ".."])
def test_invalid_device_ids(value: str) -> None:
    with pytest.raises(CertificateUsageError):
        check_device_id(value)
