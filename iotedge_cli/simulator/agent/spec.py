"""Desired modules: what the manifest asks the agent to run, in a form the agent can compare.

A :class:`ModuleSpec` keeps only what the agent acts on. Its :attr:`~ModuleSpec.fingerprint`
covers what makes edgeAgent *update* (recreate) a module: image, version, env, createOptions,
``restartPolicy`` and ``imagePullPolicy`` (its ``IsOnlyModuleStatusChanged``: only a change
of ``status`` alone is applied to the running container). ``startupOrder`` only orders
starts, so changing it recreates nothing.

Defaults are edgeAgent's (``../shared/spec/manifests-routes-certs.md`` §2.3): restartPolicy
``on-unhealthy``, startupOrder 4294967295, imagePullPolicy ``on-create``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from iotedge_cli.errors import InputError
from iotedge_cli.manifest.createoptions import (
    is_empty_text,
    join_create_options,
    load_create_options,
)
from iotedge_cli.manifest.jsonparse import JsonSyntaxError
from iotedge_cli.manifest.model import Manifest, ModuleDef

Status = Literal["running", "stopped"]
RestartPolicy = Literal["never", "on-failure", "on-unhealthy", "always"]
PullPolicy = Literal["on-create", "never"]

STATUSES: tuple[Status, ...] = ("running", "stopped")
RESTART_POLICIES: tuple[RestartPolicy, ...] = ("never", "on-failure", "on-unhealthy", "always")
PULL_POLICIES: tuple[PullPolicy, ...] = ("on-create", "never")
DEFAULT_RESTART_POLICY: RestartPolicy = "on-unhealthy"
DEFAULT_STARTUP_ORDER = 4294967295
MAX_STARTUP_ORDER = 4294967295


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    image: str
    status: Status = "running"
    restart_policy: RestartPolicy = DEFAULT_RESTART_POLICY
    startup_order: int = DEFAULT_STARTUP_ORDER
    image_pull_policy: PullPolicy = "on-create"
    env: tuple[tuple[str, str], ...] = ()  # manifest env, sorted by name
    create_options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    version: str = ""

    @property
    def fingerprint(self) -> str:
        """A stable digest of what the module is made from (change => recreate)."""
        body = json.dumps(
            {
                "image": self.image,
                "version": self.version,
                "env": [list(kv) for kv in self.env],
                "createOptions": self.create_options,
                "restartPolicy": self.restart_policy,
                "imagePullPolicy": self.image_pull_policy,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(body.encode()).hexdigest()[:16]


def module_specs(manifest: Manifest, *, system: bool = False) -> list[ModuleSpec]:
    """The modules the agent runs, in manifest order.

    ``edgeAgent`` and ``edgeHub`` are played by edgectl itself, so system modules are left
    out unless ``system=True``. Raises :class:`InputError` naming the module and the fix
    when a definition cannot be run.
    """
    return [module_spec(m) for m in manifest.modules() if system or not m.system]


def module_spec(module: ModuleDef) -> ModuleSpec:
    name, raw = module.name, module.spec
    if not isinstance(raw, dict):
        raise _bad(name, "is not an object", 'write {"type": "docker", "settings": {...}}')
    settings = raw.get("settings")
    if not isinstance(settings, dict):
        raise _bad(name, "has no settings object", 'add "settings": {"image": "..."}')
    image = settings.get("image")
    if not isinstance(image, str) or not image.strip():
        raise _bad(name, "has no settings.image", 'set "settings.image" to the module image')
    image = image.strip()
    if "$" in image:
        raise _bad(
            name,
            f"image {image!r} holds an unexpanded placeholder",
            "generate the manifest first (`edgectl manifest generate`)",
        )
    return ModuleSpec(
        name=name,
        image=image if _has_tag(image) else f"{image}:latest",
        status=_choice(name, "status", raw.get("status", "running"), STATUSES),
        restart_policy=_choice(
            name,
            "restartPolicy",
            raw.get("restartPolicy", DEFAULT_RESTART_POLICY),
            RESTART_POLICIES,
        ),
        startup_order=_startup_order(name, raw.get("startupOrder", DEFAULT_STARTUP_ORDER)),
        image_pull_policy=_choice(
            name, "imagePullPolicy", raw.get("imagePullPolicy", "on-create"), PULL_POLICIES
        ),
        env=_env(name, raw.get("env")),
        create_options=_create_options(name, settings),
        version=str(raw.get("version", "")),
    )


def _has_tag(image: str) -> bool:
    # as DockerConfig.cs: the tag is a ':' after the last '/'; a digest counts as pinned
    return "@" in image or ":" in image.rsplit("/", 1)[-1]


def _bad(name: str, what: str, fix: str) -> InputError:
    return InputError(
        f"module '{name}' {what}; {fix}",
        hint="`edgectl manifest validate` lists every problem in the manifest",
    )


def _choice(name: str, key: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise _bad(name, f"has {key} {value!r}", f"use one of {choices}")
    return value


def _startup_order(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STARTUP_ORDER:
        raise _bad(
            name, f"has startupOrder {value!r}", f"use an integer from 0 to {MAX_STARTUP_ORDER}"
        )
    return value


def _env(name: str, env: Any) -> tuple[tuple[str, str], ...]:
    if env is None:
        return ()
    if not isinstance(env, dict):
        raise _bad(name, "has env that is not an object", 'write "env": {"NAME": {"value": "x"}}')
    out: list[tuple[str, str]] = []
    for key, item in env.items():
        if not isinstance(item, dict) or "value" not in item:
            raise _bad(name, f"has env.{key} without a value", f'write "{key}": {{"value": "..."}}')
        out.append((key, _env_text(item["value"])))
    return tuple(sorted(out))


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as the agent stores it (JSON text)
    return value if isinstance(value, str) else json.dumps(value)


def _create_options(name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    try:
        text = join_create_options(settings)
    except TypeError:
        raise _bad(
            name,
            "has createOptions that is not a string",
            "generate the manifest (`edgectl manifest generate`), which stringifies it",
        ) from None
    if text is None or is_empty_text(text):
        return {}
    try:
        value, _ = load_create_options(text, template=False)
    except JsonSyntaxError as exc:
        raise _bad(
            name,
            f"has createOptions that do not parse: {exc.message} (at character {exc.offset})",
            "fix the JSON text of settings.createOptions",
        ) from None
    if not isinstance(value, dict):
        raise _bad(name, "has createOptions that are not a JSON object", "write {...}")
    return value


def by_name(specs: Iterable[ModuleSpec]) -> dict[str, ModuleSpec]:
    return {s.name: s for s in specs}
