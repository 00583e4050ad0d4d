"""Route evaluation performance: conditions per second and routing decisions per second.

Prints, side by side in one run:
- evaluations/s of ``$body.machine.temperature > 30 AND $connectionModuleId = 'sensor'`` over
  10k distinct JSON messages, each body parsed once (target >= 100k/s), beside the same
  predicate as a hand-written Python lambda over the ``json.loads`` result (the reference);
- routing decisions/s of :func:`iotedge_cli.routes.router.route` for a generated manifest
  with 50 routes (module, output, leaf and twin sources; conditions on half of them).

Usage: python bench/routes_bench.py [--seconds S] [--messages N]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import Any

CONDITION = "$body.machine.temperature > 30 AND $connectionModuleId = 'sensor'"


def messages(n: int) -> list[Any]:
    from iotedge_cli.routes.message import Message

    rng = random.Random(42)
    found = []
    for i in range(n):
        body = {
            "machine": {"temperature": round(rng.uniform(0, 60), 2), "pressure": rng.random()},
            "ambient": {"temperature": 21.5, "humidity": 30 + i % 40},
            "timeCreated": f"2024-01-01T00:00:{i % 60:02d}Z",
        }
        module = "sensor" if i % 3 else "other"
        found.append(
            Message.from_source(
                f"/messages/modules/{module}/outputs/out{i % 4}",
                body=json.dumps(body).encode("utf-8"),
                system_properties={
                    "contentType": "application/json",
                    "contentEncoding": "utf-8",
                    "messageId": str(i),
                },
                properties={"alert": "yes" if i % 7 == 0 else "no"},
            )
        )
    return found


def rate(fn: Callable[[], int], seconds: float) -> float:
    fn()  # warm-up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += fn()
    return done / (time.perf_counter() - start)


def evaluations(n: int, seconds: float) -> tuple[float, float, float, float, int]:
    from iotedge_cli.routes.condition import compile_condition
    from iotedge_cli.routes.values import TriBool

    condition = compile_condition(CONDITION)
    msgs = messages(n)

    # The first evaluation of a message parses its body (then cached on the message).
    fresh = messages(n)
    start = time.perf_counter()
    for m in fresh:
        condition.evaluate(m)
    first_pass = n / (time.perf_counter() - start)

    def ours() -> int:
        for m in msgs:
            condition.evaluate(m)
        return len(msgs)

    bodies = [json.loads(m.body) for m in msgs]
    modules = [m.system_properties.get("connectionModuleId") for m in msgs]
    pairs = list(zip(bodies, modules, strict=True))

    def reference(b: Any, module: str | None) -> bool:
        machine = b.get("machine") if isinstance(b, dict) else None
        t = machine.get("temperature") if isinstance(machine, dict) else None
        return isinstance(t, (int, float)) and t > 30 and module == "sensor"

    def lam() -> int:
        for b, module in pairs:
            reference(b, module)
        return len(pairs)

    raw = [(m.body, m.system_properties.get("connectionModuleId")) for m in msgs]

    def lam_parse() -> int:
        for body, module in raw:
            reference(json.loads(body), module)
        return len(raw)

    hits = sum(condition.evaluate(m) is TriBool.TRUE for m in msgs)
    assert hits == sum(reference(b, mod) for b, mod in pairs), "condition disagrees with reference"
    return rate(ours, seconds), rate(lam, seconds), first_pass, rate(lam_parse, seconds), hits


def manifest_with_routes(count: int) -> str:
    rng = random.Random(7)
    modules = [f"module{i}" for i in range(10)]
    routes: dict[str, Any] = {}
    for i in range(count):
        kind = i % 5
        if kind == 0:
            source = f"/messages/modules/{rng.choice(modules)}/outputs/out{i % 4}"
        elif kind == 1:
            source = f"/messages/modules/{rng.choice(modules)}/*"
        elif kind == 2:
            source = "/messages/*"
        elif kind == 3:
            source = "/messages/modules/*"
        else:
            source = "/twinChangeNotifications" if i % 2 else "/*"
        where = ""
        if i % 2:
            where = (
                f" WHERE $body.machine.temperature > {i} AND $connectionModuleId = "
                f"'{rng.choice(modules)}'"
                if kind != 4
                else ""
            )
        sink = (
            "$upstream"
            if i % 3 == 0
            else f'BrokeredEndpoint("/modules/{rng.choice(modules)}/inputs/in{i % 3}")'
        )
        text = f"FROM {source}{where} INTO {sink}"
        routes[f"route{i:02d}"] = {"route": text, "priority": i % 10} if i % 4 == 0 else text
    hub = {
        "properties.desired": {
            "schemaVersion": "1.1",
            "routes": routes,
            "storeAndForwardConfiguration": {"timeToLiveSecs": 7200},
        }
    }
    return json.dumps({"modulesContent": {"$edgeHub": hub}}, indent=2)


def decisions(n: int, seconds: float) -> tuple[float, int, float]:
    from iotedge_cli.manifest.loader import load_text
    from iotedge_cli.manifest.model import Manifest
    from iotedge_cli.routes.message import Message
    from iotedge_cli.routes.router import route, routes_from_manifest, store_and_forward_ttl

    manifest = Manifest.from_doc(load_text(manifest_with_routes(50), "bench.json"))
    specs, problems = routes_from_manifest(manifest)
    assert not problems, problems
    ttl = store_and_forward_ttl(manifest)
    rng = random.Random(3)
    msgs = []
    for i in range(n):
        module = f"module{rng.randrange(10)}"
        msgs.append(
            Message.from_source(
                f"/messages/modules/{module}/outputs/out{i % 4}" if i % 10 else "/messages",
                body=json.dumps({"machine": {"temperature": rng.uniform(0, 60)}}).encode(),
                system_properties={"contentType": "application/json", "contentEncoding": "utf-8"},
            )
        )

    def run() -> int:
        for m in msgs:
            route(specs, m, default_ttl=ttl)
        return len(msgs)

    delivered = sum(len(route(specs, m, default_ttl=ttl).deliveries) for m in msgs)
    return rate(run, seconds), len(specs), delivered / len(msgs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--messages", type=int, default=10_000, help="distinct messages")
    args = parser.parse_args()

    ours, ref, first, ref_parse, hits = evaluations(args.messages, args.seconds)
    print(f"condition: {CONDITION}")
    print(f"  {args.messages} distinct JSON messages, {hits} match")
    print(f"  edgectl, body already parsed        {ours:10.0f} evaluations/s   (target >= 100000)")
    print(f"  edgectl, first pass (parses body)   {first:10.0f} evaluations/s")
    print(f"  reference Python lambda on dicts    {ref:10.0f} evaluations/s")
    print(f"  reference json.loads + lambda       {ref_parse:10.0f} evaluations/s")
    per_s, count, avg = decisions(args.messages, args.seconds)
    print(f"routing: {count} routes, {avg:.1f} deliveries per message on average")
    print(f"  edgectl route()                     {per_s:10.0f} decisions/s")


if __name__ == "__main__":
    main()
