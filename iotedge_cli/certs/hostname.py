"""The edge device hostname, checked as aziot does (``aziotctl check``'s hostname check).

aziot warns when the configured hostname is not RFC 1035 (labels of 1-63 characters that start
with a letter, end with a letter or digit and hold only letters, digits and hyphens; 255 in all)
or is longer than 64 characters (too long for a certificate CN). edgectl refuses both, since the
name goes into the edge hub server certificate's CN and SAN. An IP address is accepted and goes
into the SAN as an IP entry, as aziot-edged does.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from iotedge_cli.certs import CertificateUsageError

_LABEL = re.compile(r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
MAX_CN = 64


@dataclass(frozen=True)
class Hostname:
    name: str
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    warnings: tuple[str, ...] = ()


def check_hostname(name: str) -> Hostname:
    """Accept an IP address or an RFC 1035 name of at most 64 characters; else explain why not."""
    try:
        return Hostname(name, ipaddress.ip_address(name))
    except ValueError:
        pass
    hint = "use the name clients connect with, e.g. --hostname edge-gw.contoso.local"
    if not name:
        raise CertificateUsageError("hostname is empty", hint=hint)
    if len(name) > MAX_CN:
        raise CertificateUsageError(
            f"hostname '{name}' has {len(name)} characters; aziot allows at most {MAX_CN} "
            "(it becomes the certificate's CN)",
            hint="use a shorter name (or an alias) as the edge device hostname",
        )
    for label in name.split("."):
        if not _LABEL.match(label):
            raise CertificateUsageError(
                f"hostname '{name}' is not RFC 1035: label '{label}' must be 1-63 letters, "
                "digits or hyphens, start with a letter and end with a letter or digit",
                hint=hint,
            )
    warnings: tuple[str, ...] = ()
    if name != name.lower():
        warnings = (
            f"hostname '{name}' has upper-case letters; clients must connect with exactly this "
            "name, and Azure host names are lower-case: consider '" + name.lower() + "'",
        )
    return Hostname(name, None, warnings)


# IoT Hub device ids: <= 128 ASCII alphanumerics and - . % _ * ? ! ( ) , : = @ $ '
_DEVICE_ID = re.compile(r"[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}\Z")


def check_device_id(value: str, *, what: str = "device id") -> str:
    if not _DEVICE_ID.match(value):
        raise CertificateUsageError(
            f"{what} '{value}' is not a valid IoT Hub device id",
            hint="use at most 128 ASCII letters, digits and - . % _ * ? ! ( ) , : = @ $ '",
        )
    if value in {".", ".."}:
        raise CertificateUsageError(f"{what} '{value}' cannot be used as a file name")
    return value


def check_common_name(value: str, *, what: str) -> str:
    if not value or len(value) > MAX_CN:
        raise CertificateUsageError(
            f"{what} '{value}' must be 1-{MAX_CN} characters (the certificate CN limit)",
            hint="choose a shorter name",
        )
    return value
