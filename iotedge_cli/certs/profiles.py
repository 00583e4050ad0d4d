"""What each kind of certificate looks like: key type and size, constraints, key usage, EKU.

The chain is root CA -> intermediate CA -> edge CA -> leaf (the edge hub server certificate),
and root -> intermediate -> leaf for leaf devices and edge identities, as certGen.sh builds it.
Path lengths fit that chain exactly: the root allows two CAs below it, the intermediate one,
the edge CA none (aziot-edged asks for pathlen 0 when it creates an edge CA itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)
PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)

TEST_ONLY = "edgectl TEST ONLY - not for production"
ROOT_CN = "edgectl Test-Only Root CA"
INTERMEDIATE_CN = "edgectl Test-Only Intermediate CA"

RSA_CA_BITS = 4096
RSA_LEAF_BITS = 2048
DEFAULT_DAYS = 90


class KeyType(str, Enum):
    ec = "ec"
    rsa = "rsa"


@dataclass(frozen=True)
class Profile:
    """Extensions of one kind of certificate (SKI/AKI go on every certificate)."""

    name: str
    ca: bool
    pathlen: int | None = None
    eku: tuple[ObjectIdentifier, ...] = ()


ROOT = Profile("root CA", ca=True, pathlen=2)
INTERMEDIATE = Profile("intermediate CA", ca=True, pathlen=1)
EDGE_CA = Profile("edge CA", ca=True, pathlen=0)
SERVER = Profile("server", ca=False, eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
CLIENT = Profile("client", ca=False, eku=(ExtendedKeyUsageOID.CLIENT_AUTH,))


def generate_key(key_type: KeyType, *, ca: bool) -> PrivateKey:
    """EC P-256, or RSA (4096 bits for CAs, 2048 for leaves)."""
    if key_type is KeyType.ec:
        return ec.generate_private_key(ec.SECP256R1())
    bits = RSA_CA_BITS if ca else RSA_LEAF_BITS
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def key_type_of(key: PrivateKey | PublicKey) -> KeyType | None:
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return KeyType.rsa
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return KeyType.ec
    return None
