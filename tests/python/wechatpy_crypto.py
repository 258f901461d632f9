#!/usr/bin/env python3
"""WeCom callback crypto through wechatpy, an independent implementation, for the Rust
interoperability tests (tests/it/wecom_crypto.rs).

Reads one JSON object from stdin:
    {"cases": [CASE, ...]}
where every CASE has "token", "aes_key", "corp_id" and an "op":
    encrypt:          "msg", "nonce", "timestamp", optional "prefix" (16 ASCII characters)
                      -> {"ok": true, "xml": <reply XML>, "encrypt": ..., "msg_signature": ...}
    decrypt:          "xml", "msg_signature", "timestamp", "nonce"  -> {"ok": true, "msg": ...}
    check_signature:  "msg_signature", "timestamp", "nonce", "echostr" -> {"ok": true, "msg": ...}
A case that wechatpy refuses gives {"ok": false, "error": <exception class name>}.
Writes {"results": [...]} to stdout, in case order.

Exit codes: 0 done, 3 wechatpy (or cryptography) is not importable, 4 bad input.
"""
import json
import sys
import xml.etree.ElementTree as ET

try:
    try:
        # wechatpy 2.x
        from wechatpy.work import crypto as wecom_crypto
    except ImportError:
        # wechatpy 1.x
        from wechatpy.enterprise import crypto as wecom_crypto
    import cryptography  # noqa: F401  (wechatpy's cipher backend)
except Exception as exc:  # pragma: no cover - the message is the point
    sys.stderr.write(
        "wechatpy is not importable ({}: {}); install the test tools with "
        "`pip install -r requirements-dev.txt` (wechatpy, cryptography)\n".format(
            type(exc).__name__, exc
        )
    )
    sys.exit(3)


def fixed_prefix_class(prefix):
    class FixedPrefix(wecom_crypto.PrpCrypto):
        def get_random_string(self):
            return prefix

    return FixedPrefix


REQUIRED = {
    "encrypt": ("msg", "nonce", "timestamp"),
    "decrypt": ("xml", "msg_signature", "timestamp", "nonce"),
    "check_signature": ("msg_signature", "timestamp", "nonce", "echostr"),
}


def input_problem(case):
    """A malformed case is a bug in the test, reported as such rather than as a refusal."""
    if not isinstance(case, dict):
        return "case is not an object"
    op = case.get("op")
    if op not in REQUIRED:
        return "unknown op {!r}".format(op)
    missing = [k for k in ("token", "aes_key", "corp_id") + REQUIRED[op] if k not in case]
    if missing:
        return "missing {}".format(", ".join(missing))
    prefix = case.get("prefix")
    if prefix is not None and len(prefix) != 16:
        return "prefix must be 16 characters"
    return None


def run_case(case):
    crypto = wecom_crypto.WeChatCrypto(case["token"], case["aes_key"], case["corp_id"])
    op = case["op"]
    if op == "encrypt":
        prefix = case.get("prefix")
        original = wecom_crypto.PrpCrypto
        if prefix is not None:
            wecom_crypto.PrpCrypto = fixed_prefix_class(prefix)
        try:
            xml = crypto.encrypt_message(case["msg"], case["nonce"], case["timestamp"])
        finally:
            wecom_crypto.PrpCrypto = original
        root = ET.fromstring(xml)
        return {
            "ok": True,
            "xml": xml,
            "encrypt": root.findtext("Encrypt"),
            "msg_signature": root.findtext("MsgSignature"),
        }
    if op == "decrypt":
        msg = crypto.decrypt_message(
            case["xml"], case["msg_signature"], case["timestamp"], case["nonce"]
        )
        return {"ok": True, "msg": msg}
    msg = crypto.check_signature(
        case["msg_signature"], case["timestamp"], case["nonce"], case["echostr"]
    )
    return {"ok": True, "msg": msg}


def main():
    try:
        cases = json.load(sys.stdin)["cases"]
    except Exception as exc:
        sys.stderr.write("bad input: {}\n".format(exc))
        return 4
    results = []
    for i, case in enumerate(cases):
        problem = input_problem(case)
        if problem:
            sys.stderr.write("bad case #{}: {}\n".format(i, problem))
            return 4
        try:
            results.append(run_case(case))
        except Exception as exc:  # wechatpy's refusal (signature, corp id, padding, ...)
            results.append({"ok": False, "error": type(exc).__name__})
    json.dump({"results": results}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
