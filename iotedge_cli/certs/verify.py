"""``certs verify``: does a certificate chain up to a trusted root, and is it fit for a purpose?

Theory of operation: starting from the certificate, find its issuer among the given roots
(trust anchors) first, then among the untrusted intermediates (the rest of the certificate's
own file and ``--chain``), matching by name and checking the signature. The path found is then
checked the way strict verifiers do (OpenSSL with -x509_strict, TLS stacks): validity at
``now``, CA:TRUE and keyCertSign on every issuer, path length constraints, the extended key
usage for the purpose on the leaf (and on CAs that restrict it), and the hostname against the
subjectAltName (never the CN, as modern TLS clients do). Problems are collected, not raised,
so one run names everything that is wrong; the result is data for the CLI to render.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from iotedge_cli.certs.authority import common_name

WARN_DAYS = 7
MAX_DEPTH = 10
_PURPOSES = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}
_EKU_LABEL = {"server": "serverAuth", "client": "clientAuth"}


@dataclass
class VerifyResult:
    path: list[x509.Certificate] = field(default_factory=list)  # leaf first, trust anchor last
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    cert: x509.Certificate,
    *,
    untrusted: list[x509.Certificate],
    roots: list[x509.Certificate],
    now: dt.datetime,
    hostname: str | None = None,
    purpose: str | None = None,
) -> VerifyResult:
    result = VerifyResult()
    _build_path(cert, untrusted, roots, result)
    for depth, c in enumerate(result.path):
        _check_validity(c, now, result)
        if depth > 0:
            _check_issuer(c, depth, result)
    if purpose is not None:
        _check_purpose(result.path or [cert], purpose, result)
    if hostname is not None:
        _check_hostname(cert, hostname, result)
    return result


def _label(cert: x509.Certificate) -> str:
    return f"'{common_name(cert)}'"


def _signed_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _build_path(
    cert: x509.Certificate,
    untrusted: list[x509.Certificate],
    roots: list[x509.Certificate],
    result: VerifyResult,
) -> None:
    path = [cert]
    current = cert
    for _ in range(MAX_DEPTH):
        anchor = next((r for r in roots if _signed_by(current, r)), None)
        if anchor is not None:
            if anchor != current:
                path.append(anchor)
            result.path = path
            return
        issuer = next((c for c in untrusted if c not in path and _signed_by(current, c)), None)
        if issuer is None:
            break
        path.append(issuer)
        current = issuer
    result.path = path
    named = [c for c in [*roots, *untrusted] if c.subject == current.issuer and c != current]
    if _signed_by(current, current):
        result.problems.append(
            f"{_label(current)} is a self-signed root that is not trusted: pass it with --ca "
            "if you trust it"
            + (" (a different root with the same name is trusted)" if named else "")
        )
    elif named:
        result.problems.append(
            f"{_label(current)}: wrong signature: issuer {_label(named[0])} has the right name "
            "but its key did not sign this certificate (a different CA with the same name?)"
        )
    else:
        result.problems.append(
            f"{_label(current)}: wrong issuer: '{current.issuer.rfc4514_string()}' is neither in "
            "--ca nor in the chain; pass the issuing CA with --chain and the root with --ca"
        )


def _check_validity(cert: x509.Certificate, now: dt.datetime, result: VerifyResult) -> None:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if end <= now:
        result.problems.append(f"{_label(cert)} expired on {end:%Y-%m-%d %H:%M} UTC")
    elif start > now:
        result.problems.append(
            f"{_label(cert)} is not yet valid: valid from {start:%Y-%m-%d %H:%M} UTC"
        )
    elif end - now <= dt.timedelta(days=WARN_DAYS):
        result.warnings.append(
            f"{_label(cert)} expires in less than {WARN_DAYS} days ({end:%Y-%m-%d %H:%M} UTC)"
        )


def _check_issuer(cert: x509.Certificate, depth: int, result: VerifyResult) -> None:
    """``cert`` signed the certificate below it; ``depth - 1`` CAs sit between it and the leaf."""
    try:
        bc: x509.BasicConstraints | None = cert.extensions.get_extension_for_class(
            x509.BasicConstraints
        ).value
    except x509.ExtensionNotFound:
        bc = None
    if bc is None or not bc.ca:
        result.problems.append(
            f"{_label(cert)} is not a CA (basicConstraints CA:TRUE missing) but signed "
            f"{_label(result.path[depth - 1])}"
        )
        return
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.key_cert_sign:
            result.problems.append(
                f"{_label(cert)} is a CA without keyCertSign in its keyUsage: it may not sign "
                "certificates"
            )
    except x509.ExtensionNotFound:
        pass
    below = depth - 1  # intermediate CAs between this one and the leaf
    if bc.path_length is not None and below > bc.path_length:
        result.problems.append(
            f"{_label(cert)}: pathlen exceeded: its pathlen is {bc.path_length} but {below} CA "
            f"certificate(s) follow it in the chain"
        )


def _check_purpose(path: list[x509.Certificate], purpose: str, result: VerifyResult) -> None:
    oid, label = _PURPOSES[purpose], _EKU_LABEL[purpose]
    for depth, c in enumerate(path):
        try:
            eku = c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            if depth == 0:
                result.problems.append(
                    f"{_label(c)}: missing EKU: no extendedKeyUsage; a {purpose} certificate "
                    f"needs {label}"
                )
            continue
        if oid not in eku and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
            where = "" if depth == 0 else " (a CA's EKU restricts every certificate below it)"
            result.problems.append(
                f"{_label(c)}: missing EKU {label}: its extendedKeyUsage does not allow "
                f"{purpose} authentication{where}"
            )


def _check_hostname(cert: x509.Certificate, hostname: str, result: VerifyResult) -> None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        result.problems.append(
            f"{_label(cert)}: hostname '{hostname}' not in SAN: the certificate has no "
            "subjectAltName, and TLS clients ignore the CN"
        )
        return
    try:
        ip = ipaddress.ip_address(hostname)
    except ValueError:
        ip = None
    if ip is not None:
        if ip in san.get_values_for_type(x509.IPAddress):
            return
    elif any(_dns_match(pattern, hostname) for pattern in san.get_values_for_type(x509.DNSName)):
        return
    names = ", ".join(
        [f"DNS:{d}" for d in san.get_values_for_type(x509.DNSName)]
        + [f"IP:{a}" for a in san.get_values_for_type(x509.IPAddress)]
    )
    result.problems.append(
        f"{_label(cert)}: hostname '{hostname}' not in SAN ({names or 'no DNS or IP names'})"
    )


def _dns_match(pattern: str, hostname: str) -> bool:
    pattern, hostname = pattern.lower().rstrip("."), hostname.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = hostname.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == hostname
