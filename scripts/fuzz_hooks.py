"""Schemathesis hooks of scripts/fuzz-api.sh: the failures set aside, and why.

1. The local Lambda emulator (`cargo lambda watch`) answers a request whose body, or a
   header value, is not UTF-8 text itself, with its own 500 problem document, before any
   function sees it (a deployed function URL hands such a body to the function
   base64-encoded, and the functions answer 400 `invalid_json`: see the tests of
   `adapters/src/http/extract.rs`). Only that answer is set aside.

2. "Schema-valid request rejected" on the operations below: what they accept depends on rules
   between fields, or on content, that a JSON schema cannot state. Each answers such a
   request 400 with a stable code naming the problem, and its OpenAPI description says the
   rule. Every other check (no server error, documented statuses, schema-violating data
   rejected, response schemas) still holds for them.

3. "Schema-valid request rejected" on `PUT /v1/tenant/settings` when `wecom_rate_limits.overrides`
   has a key that is no WeCom API path: OpenAPI 3.0 cannot constrain a map's keys (no
   `propertyNames`); the description states the rule and the route answers 400
   `validation_failed`. Set aside only for such a body.

Any other failure fails the run.

One request is changed before it is sent: `PUT /v1/tenant/secrets` would otherwise replace
the stack tenant's WeCom secrets with made-up ones and break every later request that calls
WeCom (logins, re-syncs, JS-SDK signatures). Each value the route would accept is replaced
by the tenant's real value of that field (`FUZZ_TENANT_SECRETS`, set by fuzz-api.sh), so the
request still takes the accepting path and answers the same; values it refuses are sent
unchanged. Likewise `PUT /v1/tenant/settings` would store made-up WeCom frequency limits
(one call a day, say) that pace every later request calling WeCom into "retry later": limits
the route would accept are left out of the body (the route then stores the default, the
accepting path all the same); limits it refuses are sent unchanged.
"""

import json
import os
import re

import schemathesis

# The emulator's own 500 body (a function's 500 is `{"error": {"code": "internal", ...}}`).
EMULATOR_500 = b'"type":"https://httpstatuses.com/500"'

# Operation -> the rule no schema states.
CROSS_FIELD_RULES = {
    # The header names the columns; each row has the header's fields.
    "POST /v1/points/imports": "a CSV file's header and rows",
    # An enabled rule pays at least 1 point; tiers rise; an expiry needs a timezone.
    "PUT /v1/points/rules": "rules between a rule's fields",
    # The fields a kind takes, times in the tenant's timezone, calendar items in the future,
    # journey steps in order.
    "POST /v1/sop/plans": "a plan's fields by kind and its times",
    "PUT /v1/sop/plans/{plan_id}": "a plan's fields by kind and its times",
    # A stock change (`add_stock`) needs an Idempotency-Key header.
    "PATCH /v1/points/rewards/{reward_id}": "add_stock needs an Idempotency-Key",
    # Either unionid and openid, or external_userid.
    "POST /v1/customer-sessions": "either unionid and openid, or external_userid",
    # An idempotency key as the Idempotency-Key header or the idempotency_key field.
    "POST /v1/points/bulk": "a key in the header or the body",
    "POST /v1/points/group-awards": "a key in the header or the body",
    # The rules document, as for PUT /v1/points/rules.
    "POST /v1/points/rules/preview": "rules between a rule's fields",
    # A name search's cursor answered for the same name prefix.
    "GET /v1/customers": "a name search's cursor of the same prefix",
    # A cursor answered for the same sort and search; a search takes no sort.
    "GET /v1/points/accounts": "a cursor of the same sort and search",
    "GET /v1/points/accounts.csv": "a cursor of the same sort and search",
    # The fields a schedule's kind takes (weekdays for weekly, days for monthly).
    "POST /v1/sop/schedule-preview": "the fields a schedule's kind takes",
    # `to` on or after `from`, at most 42 days.
    "GET /v1/sop/calendar": "a range between two dates",
    # Either a link, or corp_id and code.
    "POST /v1/session": "either link, or corp_id and code",
    # A page on the configured web origins (none in the fuzzer's stack).
    "GET /v1/jssdk/signature": "a page URL on the configured web origins",
    # A cursor answered for the same status; a link or a code exchanged once.
    "GET /v1/tasks": "a cursor of the same status, a link or code used once",
    # A shift ends after it starts; a welcome has text or attachments; URLs have a host.
    "POST /v1/growth/channel-codes": "a rota's times and a welcome's content",
    "PUT /v1/growth/channel-codes/{state}": "a rota's times and a welcome's content",
    # The pool's groups are groups the directory knows (400 with each unknown one named);
    # created rooms need a base name.
    "POST /v1/growth/group-codes": "groups the directory knows, a base name for created rooms",
    "PUT /v1/growth/group-codes/{state}": "groups the directory knows, a base name for created rooms",
    # A welcome has text or attachments; an attachment takes the fields of its type.
    "PUT /v1/growth/default-welcome": "a welcome's content and its attachments' fields by type",
    # Field ids unique, options only on choice fields, bounds and lengths by a field's kind,
    # the profile field a kind may fill, remark placeholders naming fields.
    "POST /v1/growth/forms": "a form's fields by kind and the names they share",
    "PUT /v1/growth/forms/{form_id}": "a form's fields by kind and the names they share",
    # A form's life: draft → published ↔ closed, never back to draft.
    "POST /v1/growth/forms/{form_id}/status": "the status a form's status may become",
    # Tiers rise, the end after the start (at most 366 days), the cap reaches the last tier,
    # the poster's elements inside its canvas, no duplicate tags or members.
    "POST /v1/growth/fission-campaigns": "tiers that rise, dates in order, a poster inside its canvas",
    # The fields a material's kind takes (a text's content, a link's URL and title, an
    # upload's file name and type by kind, a mini-program's appid and page).
    "POST /v1/content/materials": "the fields a material's kind takes",
    "PUT /v1/content/materials/{material_id}": "the fields a material's kind takes",
    # A URL a browser parses, with a host (an IDNA host that does not map is refused).
    "POST /v1/links": "a URL a browser parses, with a valid host",
    # `to` (default today) on or after `from`, at most 92 days.
    "GET /v1/links": "a range between two dates",
    "GET /v1/links/figures": "a range between two dates",
}


# The fields of PUT /v1/tenant/secrets and what the route accepts (docs/openapi.yaml).
SECRET_PATTERNS = {
    "contact_secret": re.compile(r"[!-~]{1,128}"),
    "app_secret": re.compile(r"[!-~]{1,128}"),
    "callback_token": re.compile(r"[A-Za-z0-9]{3,32}"),
    "encoding_aes_key": re.compile(r"[A-Za-z0-9+/]{43}"),
}
TENANT_SECRETS = json.loads(os.environ.get("FUZZ_TENANT_SECRETS") or "{}")


def _accepted_secret(field, value) -> bool:
    if field == "agent_id":
        return type(value) is int and 1 <= value <= 2147483647
    pattern = SECRET_PATTERNS.get(field)
    return pattern is not None and isinstance(value, str) and pattern.fullmatch(value) is not None


# What PUT /v1/tenant/settings accepts as `wecom_rate_limits` (docs/openapi.yaml).
API_PATH = re.compile(r"[a-z0-9_][a-z0-9_/]{0,99}")


def _accepted_rules(rules) -> bool:
    def rule(r) -> bool:
        return (
            isinstance(r, dict)
            and type(r.get("calls")) is int
            and 1 <= r["calls"] <= 10_000_000
            and type(r.get("window_secs")) is int
            and 1 <= r["window_secs"] <= 86_400
        )

    return isinstance(rules, list) and 1 <= len(rules) <= 4 and all(rule(r) for r in rules)


def _accepted_rate_limits(limits) -> bool:
    if not isinstance(limits, dict):
        return False
    if "per_api" in limits and not _accepted_rules(limits["per_api"]):
        return False
    overrides = limits.get("overrides", {})
    return (
        isinstance(overrides, dict)
        and len(overrides) <= 32
        and all(API_PATH.fullmatch(k) and _accepted_rules(v) for k, v in overrides.items())
    )


@schemathesis.hook
def before_call(context, case, **kwargs):
    if (
        f"{case.method.upper()} {case.operation.path}" == "PUT /v1/tenant/settings"
        and isinstance(case.body, dict)
        and _accepted_rate_limits(case.body.get("wecom_rate_limits"))
    ):
        del case.body["wecom_rate_limits"]
    if (
        f"{case.method.upper()} {case.operation.path}" == "PUT /v1/tenant/secrets"
        and isinstance(case.body, dict)
    ):
        for field, value in list(case.body.items()):
            if field in TENANT_SECRETS and _accepted_secret(field, value):
                case.body[field] = TENANT_SECRETS[field]


def _is_utf8(data) -> bool:
    if data is None:
        return True
    if isinstance(data, str):
        # Header values go on the wire as Latin-1.
        try:
            data = data.encode("latin-1")
        except UnicodeEncodeError:
            return True
    try:
        bytes(data).decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    request = response.request
    emulator_refused_bytes = (
        response.status_code == 500
        and EMULATOR_500 in response.content
        and not (
            (request.body is None or isinstance(request.body, str) or _is_utf8(request.body))
            and all(_is_utf8(v) for v in request.headers.values())
        )
    )
    cross_field_rule = (
        type(failure).__name__ == "RejectedPositiveData"
        and f"{case.method.upper()} {case.operation.path}" in CROSS_FIELD_RULES
    )
    override_keys = (
        type(failure).__name__ == "RejectedPositiveData"
        and f"{case.method.upper()} {case.operation.path}" == "PUT /v1/tenant/settings"
        and response.status_code == 400
        and _has_unnamed_override(case.body)
    )
    return not (emulator_refused_bytes or cross_field_rule or override_keys)


def _has_unnamed_override(body) -> bool:
    """Whether a settings body names an override by something that is no API path."""
    limits = body.get("wecom_rate_limits") if isinstance(body, dict) else None
    overrides = limits.get("overrides") if isinstance(limits, dict) else None
    return isinstance(overrides, dict) and any(not API_PATH.fullmatch(k) for k in overrides)
