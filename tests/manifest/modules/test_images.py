"""parse_image: edgeAgent's image rule plus Docker's reference grammar."""

from __future__ import annotations

import pytest

from iotedge_cli.manifest.images import ImageRef, ImageRefError, normalize_host, parse_image

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("ubuntu", ImageRef(None, "ubuntu")),
        ("library/redis:7-alpine", ImageRef(None, "library/redis", "7-alpine")),
        (
            "mcr.microsoft.com/azureiotedge-agent:1.5",
            ImageRef("mcr.microsoft.com", "azureiotedge-agent", "1.5"),
        ),
        (
            "myacr.azurecr.io/a/b-c__d.e:0.0.1-amd64",
            ImageRef("myacr.azurecr.io", "a/b-c__d.e", "0.0.1-amd64"),
        ),
        ("localhost:5000/mod", ImageRef("localhost:5000", "mod")),
        ("[::1]:5000/mod:1", ImageRef("[::1]:5000", "mod", "1")),
        (
            "$upstream:443/azureiotedge-hub:1.5",
            ImageRef("$upstream:443", "azureiotedge-hub", "1.5"),
        ),
        (f"nginx@{DIGEST}", ImageRef(None, "nginx", None, DIGEST)),
        ("  redis:7  ", ImageRef(None, "redis", "7")),  # edgeAgent trims
        ("MyACR.azurecr.io/mod:1", ImageRef("MyACR.azurecr.io", "mod", "1")),
    ],
)
def test_valid_references(ref: str, expected: ImageRef) -> None:
    assert parse_image(ref) == expected


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("my image:1", "whitespace"),
        ("https://myacr.azurecr.io/mod:1", "drop 'https://'"),
        ("myacr.azurecr.io/MyModule:1", "lowercase: 'MyModule' → 'mymodule'"),
        ("MyModule", "lowercase"),
        (f"mod:1.0@{DIGEST}", "tag and a digest together"),
        ("mod@sha256:abc", "64 hex digits"),
        ("mod:1:2", "more than one ':'"),
        ("mod:", "tag after ':' is empty"),
        ("myacr.azurecr.io/", "ends with '/'"),
        ("myacr.azurecr.io//mod", "empty path component"),
        ("mod:-1", "tag '-1' is invalid"),
        ("mod:" + "a" * 129, "at most 128"),
        ("$parent:443/mod", "only '$upstream:<port>/…'"),
        ("$upstream/mod", "only '$upstream:<port>/…'"),
        ("$MODULE_IMAGE", "only '$upstream:<port>/…'"),
        ("my_reg:5000/mod", "not a valid host"),
        ("a..b", "separators"),
        ("a/b!c", "contains '!'"),
        ("a" * 256, "255"),
    ],
)
def test_invalid_references_say_what_is_wrong(ref: str, fragment: str) -> None:
    with pytest.raises(ImageRefError) as info:
        parse_image(ref)
    assert fragment in str(info.value)


def test_host_version_and_text() -> None:
    hub = parse_image("index.docker.io/library/redis:7")
    assert hub.host == "docker.io" and parse_image("redis").host == "docker.io"
    assert parse_image("MyACR.azurecr.io/m").host == "myacr.azurecr.io"
    assert parse_image("$upstream:443/m:1").is_upstream
    assert parse_image("a:1.2-linux-amd64").version == (1, 2, 0)
    assert parse_image("a:1.1.3").version == (1, 1, 3)
    assert parse_image("a:latest").version is None
    assert parse_image("a").version is None
    assert str(parse_image(f"r.io/a/b@{DIGEST}")) == f"r.io/a/b@{DIGEST}"
    assert normalize_host(" Registry-1.Docker.IO ") == "docker.io"
