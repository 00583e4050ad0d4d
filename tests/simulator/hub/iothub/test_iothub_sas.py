"""SAS tokens: the SDK's algorithm (re-implemented here from hub-protocol §3.3, independently of
our builder), verification as edgeHub does it, expiry and skew, keys and audiences."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

import pytest

from iotedge_cli.simulator.hub.iothub.sas import (
    MAX_CLOCK_SKEW,
    SasFailure,
    build_token,
    generate_token,
    parse_token,
    resource_uri,
    verify_token,
)

HUB = "myhub.azure-devices.net"
GATEWAY = "localhost"
PRIMARY = base64.b64encode(bytes(range(32))).decode()
SECONDARY = base64.b64encode(bytes(range(32, 64))).decode()
OTHER = base64.b64encode(b"\x07" * 32).decode()
NOW = 1_795_770_000


def sdk_token(uri: str, key: str, expiry: int) -> str:
    """azure-iot-device's sastoken.py + signing_mechanism.py, as §3.3 documents them."""
    sr = urllib.parse.quote(uri, safe="")
    se = str(expiry)
    digest = hmac.HMAC(base64.b64decode(key), (sr + "\n" + se).encode("utf-8"), hashlib.sha256)
    sig = base64.b64encode(digest.digest()).decode("utf-8")
    return (
        "SharedAccessSignature sr=" + sr + "&sig=" + urllib.parse.quote(sig, safe="") + "&se=" + se
    )


def signed(sr: str, key: str, se: str, order: str = "sr,sig,se", prefix: str = "") -> str:
    """A token whose HMAC covers ``sr`` and ``se`` exactly as written."""
    sig = base64.b64encode(
        hmac.new(base64.b64decode(key), f"{sr}\n{se}".encode(), hashlib.sha256).digest()
    ).decode()
    fields = {"sr": sr, "sig": urllib.parse.quote(sig, safe=""), "se": se}
    body = "&".join(f"{prefix}{name}={fields[name.lower()]}" for name in order.split(","))
    return f"SharedAccessSignature {body}"


def verify(
    token: str,
    device: str = "edge-dev-1",
    module: str | None = "sensor",
    *,
    now: float = NOW,
    secondary: str | None = SECONDARY,
) -> tuple[bool, SasFailure | None, str, str | None]:
    result = verify_token(
        token,
        device_id=device,
        module_id=module,
        primary_key=PRIMARY,
        secondary_key=secondary,
        hostnames=(HUB, GATEWAY),
        now=now,
    )
    return result.ok, result.failure, result.reason, result.key


MODULE_URI = resource_uri(HUB, "edge-dev-1", "sensor")


def test_our_builder_is_the_sdks_algorithm() -> None:
    assert build_token(MODULE_URI, PRIMARY, NOW + 3600) == sdk_token(
        MODULE_URI, PRIMARY, NOW + 3600
    )
    assert generate_token(HUB, "edge-dev-1", "sensor", PRIMARY, now=NOW + 0.9) == sdk_token(
        MODULE_URI, PRIMARY, NOW + 3600
    )
    device_uri = resource_uri(HUB, "leaf1")
    assert device_uri == "myhub.azure-devices.net/devices/leaf1"
    assert generate_token(HUB, "leaf1", None, PRIMARY, now=NOW, ttl=60) == sdk_token(
        device_uri, PRIMARY, NOW + 60
    )
    with_policy = build_token(MODULE_URI, PRIMARY, 5, key_name="iothub owner")
    assert with_policy.endswith("&se=5&skn=iothub%20owner")


def test_sdk_tokens_verify_with_primary_and_secondary_keys() -> None:
    assert verify(sdk_token(MODULE_URI, PRIMARY, NOW + 3600)) == (True, None, "ok", "primary")
    assert verify(sdk_token(MODULE_URI, SECONDARY, NOW + 3600))[::3] == (True, "secondary")
    leaf = sdk_token(resource_uri(HUB, "leaf1"), PRIMARY, NOW + 10)
    assert verify(leaf, "leaf1", None)[0]


def test_wrong_key() -> None:
    ok, failure, reason, _ = verify(sdk_token(MODULE_URI, OTHER, NOW + 3600))
    assert (ok, failure) == (False, SasFailure.SIGNATURE_MISMATCH)
    assert "primary or secondary key" in reason
    # the secondary key is only accepted when the identity has one
    ok, failure, _, _ = verify(sdk_token(MODULE_URI, SECONDARY, NOW + 3600), secondary=None)
    assert (ok, failure) == (False, SasFailure.SIGNATURE_MISMATCH)


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        (NOW - 10_000, True),  # clocks may be behind: se in the future is fine
        (NOW, True),
        (NOW + MAX_CLOCK_SKEW, True),  # se + 300 == now: still accepted
        (NOW + MAX_CLOCK_SKEW + 0.001, False),
        (NOW + MAX_CLOCK_SKEW + 1, False),
    ],
)
def test_expiry_with_300_seconds_of_skew(now: float, accepted: bool) -> None:
    ok, failure, reason, _ = verify(sdk_token(MODULE_URI, PRIMARY, NOW), now=now)
    assert ok is accepted
    if not accepted:
        assert failure is SasFailure.EXPIRED
        assert f"expired at se={NOW}" in reason and "300 s" in reason


@pytest.mark.parametrize(
    ("uri", "device", "module", "fragment"),
    [
        (
            "evil.example.com/devices/edge-dev-1/modules/sensor",
            "edge-dev-1",
            "sensor",
            "host 'evil.example.com'",
        ),
        (resource_uri(HUB, "edge-dev-1", "filter"), "edge-dev-1", "sensor", "not this identity's"),
        (resource_uri(HUB, "other", "sensor"), "edge-dev-1", "sensor", "not this identity's"),
        # a device-scoped token does not authenticate a module, nor a module token a device
        (resource_uri(HUB, "edge-dev-1"), "edge-dev-1", "sensor", "not this identity's"),
        (resource_uri(HUB, "leaf1", "x"), "leaf1", None, "not this identity's"),
        (f"{HUB}/devices", "edge-dev-1", "sensor", "is not host/devices/<d>[/modules/<m>]"),
        (f"{HUB}/things/edge-dev-1", "edge-dev-1", None, "is not host/devices/<d>"),
    ],
)
def test_wrong_audience(uri: str, device: str, module: str | None, fragment: str) -> None:
    ok, failure, reason, _ = verify(sdk_token(uri, PRIMARY, NOW + 3600), device, module)
    assert (ok, failure) == (False, SasFailure.WRONG_AUDIENCE)
    assert fragment in reason


@pytest.mark.parametrize(
    "uri",
    [
        resource_uri(GATEWAY, "edge-dev-1", "sensor"),  # the gateway hostname is an audience too
        resource_uri("MyHub.Azure-Devices.NET", "Edge-Dev-1", "SENSOR"),  # case ignored
    ],
)
def test_accepted_audiences(uri: str) -> None:
    assert verify(sdk_token(uri, PRIMARY, NOW + 3600))[0]


@pytest.mark.parametrize(
    "sr",
    [
        "myhub.azure-devices.net%2Fdevices%2Fedge-dev-1%2Fmodules%2Fsensor",  # the SDK's form
        "myhub.azure-devices.net%2fdevices%2fedge-dev-1%2fmodules%2fsensor",  # lower-case escapes
        "myhub.azure-devices.net/devices/edge-dev-1/modules/sensor",  # not encoded at all
        "myhub.azure-devices.net%2Fdevices/edge-dev-1%2Fmodules/sensor",  # partly encoded
    ],
)
def test_hmac_covers_sr_exactly_as_sent(sr: str) -> None:
    assert verify(signed(sr, PRIMARY, str(NOW)))[0]
    # the same signature with sr written any other way is a mismatch, not re-normalised
    token = signed(sr, PRIMARY, str(NOW))
    fields = dict(part.split("=", 1) for part in token.split(" ", 1)[1].split("&"))
    canonical = urllib.parse.quote(urllib.parse.unquote(sr), safe="")
    other = canonical if sr != canonical else sr.lower()
    tampered = f"SharedAccessSignature sr={other}&sig={fields['sig']}&se={fields['se']}"
    assert verify(tampered)[1] is SasFailure.SIGNATURE_MISMATCH


def test_ids_inside_sr_are_percent_encoded_by_the_sdk() -> None:
    uri = resource_uri(HUB, "dev:1", "mod$x")
    token = sdk_token(uri, PRIMARY, NOW)
    assert "dev%3A1%2Fmodules%2Fmod%24x" in token
    assert verify(token, "dev:1", "mod$x")[0]


def test_field_order_and_name_case_do_not_matter() -> None:
    sr = urllib.parse.quote(MODULE_URI, safe="")
    assert verify(signed(sr, PRIMARY, str(NOW), order="se,sig,sr"))[0]
    assert verify(signed(sr, PRIMARY, str(NOW), order="SR,SIG,SE"))[0]


def test_se_is_signed_exactly_as_sent() -> None:
    sr = urllib.parse.quote(MODULE_URI, safe="")
    token = signed(sr, PRIMARY, "0" + str(NOW))
    assert verify(token)[0]
    assert parse_token(token).expiry == NOW


@pytest.mark.parametrize(
    ("token", "fragment"),
    [
        ("", "must start with 'SharedAccessSignature '"),
        ("sharedaccesssignature sr=a&sig=b&se=1", "must start with"),
        ("SharedAccessSignature  sr=a&sig=b&se=1", "is not name=value"),
        ("SharedAccessSignature sr=a&sig=b", "lacks se"),
        ("SharedAccessSignature sr=a&se=1", "lacks sig"),
        ("SharedAccessSignature sig=b&se=1", "lacks sr"),
        ("SharedAccessSignature sr=a&sig=b&se=soon", "se='soon' is not an integer"),
        ("SharedAccessSignature sr=a&sig=b&se=1&sr=c", "'sr' appears twice"),
        ("SharedAccessSignature sr=a&sig=b&se=1&junk", "'junk' is not name=value"),
    ],
)
def test_malformed_tokens(token: str, fragment: str) -> None:
    ok, failure, reason, _ = verify(token)
    assert (ok, failure) == (False, SasFailure.MALFORMED)
    assert fragment in reason
    with pytest.raises(ValueError, match=r".+"):
        parse_token(token)


def test_policy_tokens_are_refused() -> None:
    token = build_token(MODULE_URI, PRIMARY, NOW, key_name="iothubowner")
    ok, failure, reason, _ = verify(token)
    assert (ok, failure) == (False, SasFailure.POLICY_KEY)
    assert "'iothubowner' (skn)" in reason


def test_result_is_truthy_only_when_ok() -> None:
    good = verify_token(
        sdk_token(MODULE_URI, PRIMARY, NOW),
        device_id="edge-dev-1",
        module_id="sensor",
        primary_key=PRIMARY,
        secondary_key=None,
        hostnames=[HUB],
        now=NOW,
    )
    assert good and good.expiry == NOW
