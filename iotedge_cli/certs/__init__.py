"""Test certificates for IoT Edge: CA objects in memory that issue children, files written last.

The flow is always the same: build or load certificate authorities (:mod:`.authority`), let them
issue certificates (profiles in :mod:`.profiles`), turn the results into a list of output files
(:mod:`.layout`), and hand that list to the one function that writes files
(:func:`.store.write_files`). Time is always a parameter (``now``, or explicit
``not_before``/``not_after``); nothing here reads the clock or prints. Everything produced is
labelled TEST ONLY, as the official tools do.
"""

from __future__ import annotations

from iotedge_cli.errors import InputError, UsageError


class CertificateInputError(InputError):
    """A certificate or key file that cannot be read or used (exit 2)."""


class CertificateUsageError(UsageError):
    """A request that cannot be met: a bad hostname, a CA that cannot issue this (exit 2)."""
