#!/usr/bin/env python3
"""The local stand-in for EventBridge Scheduler: invokes the functions served by
`cargo lambda watch` on the schedules infra/template.yaml gives them (its `ScheduleV2`
events: `rate(...)` expressions and their `Input`, with `<aws.scheduler.scheduled-time>`
replaced by the time of the run), so that a local stack dispatches SOP plans, moves rotas,
confirms fission holds, sweeps expiring points and unfinished callbacks as a deployment does.

    schedules.py list --template infra/template.yaml
    schedules.py run --template infra/template.yaml --invoke-base URL [--once]

`run` invokes every scheduled function at once, then each again when its rate comes round,
until killed; with `--once`, each once, exiting 1 if any invocation failed. Each invocation is
logged as one JSON line.
"""
import argparse
import datetime
import json
import re
import sys
import time
import urllib.error
import urllib.request

import yaml


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (`!Ref`, `!GetAtt`, ...) read as plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_CfnLoader.add_multi_constructor("!", _any_tag)

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def schedules(template_path):
    """(function name, period in seconds, input template) per ScheduleV2 event."""
    with open(template_path, encoding="utf-8") as f:
        template = yaml.load(f, Loader=_CfnLoader)
    out = []
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties") or {}
        name = ((props.get("Environment") or {}).get("Variables") or {}).get("SCRM_FUNCTION")
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "ScheduleV2" or not name:
                continue
            ep = event.get("Properties") or {}
            m = re.fullmatch(r"rate\((\d+) (\w+)\)", str(ep.get("ScheduleExpression", "")))
            if not m or m.group(2) not in _UNITS:
                raise SystemExit(f"{name}: unsupported schedule {ep.get('ScheduleExpression')!r}")
            out.append((name, int(m.group(1)) * _UNITS[m.group(2)], ep.get("Input") or "{}"))
    return sorted(out)


def invoke(base, name, payload):
    req = urllib.request.Request(
        f"{base}/2015-03-31/functions/{name}/invocations",
        data=payload.encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=900) as resp:
            body = resp.read().decode(errors="replace")
            # cargo lambda answers a function's error as 200 with an errorType body.
            ok = resp.status == 200 and '"errorType"' not in body
            return ok, body
    except (urllib.error.URLError, OSError) as e:
        return False, str(e)


def run(args):
    plan = schedules(args.template)
    due = {name: 0.0 for name, _, _ in plan}
    failed = False
    while True:
        now = time.time()
        for name, period, template in plan:
            if now < due[name]:
                continue
            due[name] = now + period
            at = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
            payload = template.replace(
                "<aws.scheduler.scheduled-time>", at.strftime("%Y-%m-%dT%H:%M:%SZ")
            )
            started = time.time()
            ok, body = invoke(args.invoke_base, name, payload)
            failed |= not ok
            print(
                json.dumps(
                    {
                        "function": name,
                        "ok": ok,
                        "ms": round((time.time() - started) * 1000),
                        "answer": body[:500],
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )
        if args.once:
            return 1 if failed else 0
        time.sleep(1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list")
    ls.add_argument("--template", required=True)
    r = sub.add_parser("run")
    r.add_argument("--template", required=True)
    r.add_argument("--invoke-base", required=True)
    r.add_argument("--once", action="store_true")
    args = p.parse_args()
    if args.command == "list":
        for name, period, payload in schedules(args.template):
            print(f"{name}\tevery {period} s\t{payload}")
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
