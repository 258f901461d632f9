#!/usr/bin/env python3
"""Writes the sample WeCom callback requests in events/ (function-URL events for
`cargo lambda invoke wecom-callback --data-file ...`), signed and encrypted for the demo
tenant of scripts/dev.sh with WeCom's algorithm, independently of our Rust code:

  events/wecom-callback-verify.json       GET  /callback/<corp>  URL verification (echostr)
  events/wecom-callback-add-contact.json  POST /callback/<corp>  add_external_contact

Re-run it (scripts/dev.sh's venv has wechatpy) to refresh the timestamps right before
invoking the POST sample: wecom-callback refuses a callback signed more than
CALLBACK_TIMESTAMP_WINDOW_SECONDS (15 minutes by default) from now as a replay
(400 stale_timestamp).
  .local/venv/bin/python3 scripts/make-callback-events.py
"""
import argparse
import base64
import hashlib
import json
import os
import struct
import time
from urllib.parse import parse_qsl, quote

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The demo tenant registered by scripts/dev.sh.
DEMO_CORP_ID = "wwdemocorp000001"
DEMO_TOKEN = "scrmDemoToken2026"
DEMO_AES_KEY = "YBhInA9zdrOFylrdjYm0X4TSWVn9QjX0youLoEzY5TU"


def encrypt(plain: bytes, aes_key: str, corp_id: str, random16: bytes) -> str:
    """WeCom message encryption: AES-256-CBC, IV = key[:16], PKCS#7 to 32-byte blocks."""
    key = base64.b64decode(aes_key + "=")
    body = random16 + struct.pack(">I", len(plain)) + plain + corp_id.encode()
    pad = 32 - len(body) % 32
    body += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(body) + enc.finalize()).decode()


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def url_event(method: str, path: str, query: str, body: str | None, ts: int) -> dict:
    headers = {
        "host": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-southeast-1.on.aws",
        "user-agent": "Mozilla/4.0",
        "x-forwarded-for": "101.226.103.61",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        "accept": "*/*",
    }
    if body is not None:
        headers["content-type"] = "text/xml"
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "queryStringParameters": dict(parse_qsl(query)),
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnopqrstuvwxyz012345",
            "domainName": headers["host"],
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz012345",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "101.226.103.61",
                "userAgent": "Mozilla/4.0",
            },
            "requestId": f"sample-{method.lower()}-{ts}",
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(ts)),
            "timeEpoch": ts * 1000,
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corp-id", default=DEMO_CORP_ID)
    p.add_argument("--token", default=DEMO_TOKEN)
    p.add_argument("--aes-key", default=DEMO_AES_KEY)
    p.add_argument("--out", default=os.path.join(ROOT, "events"))
    a = p.parse_args()

    ts = int(time.time())
    timestamp = str(ts)
    path = f"/callback/{a.corp_id}"

    # GET: URL verification. The handler must answer the decrypted echostr as plain text.
    nonce = "1372623149"
    echo_plain = b"6904521787931245386"
    echostr = encrypt(echo_plain, a.aes_key, a.corp_id, b"0123456789abcdef")
    sig = signature(a.token, timestamp, nonce, echostr)
    query = f"msg_signature={sig}&timestamp={timestamp}&nonce={nonce}&echostr={quote(echostr, safe='')}"
    verify = url_event("GET", path, query, None, ts)

    # POST: a customer added as a contact (demo data of the fake WeCom server).
    xml = (
        "<xml><ToUserName><![CDATA[{corp}]]></ToUserName>"
        "<FromUserName><![CDATA[sys]]></FromUserName>"
        "<CreateTime>{ts}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_external_contact]]></Event>"
        "<ChangeType><![CDATA[add_external_contact]]></ChangeType>"
        "<UserID><![CDATA[zhangsan]]></UserID>"
        "<ExternalUserID><![CDATA[wmdemo001]]></ExternalUserID>"
        "<State><![CDATA[ch01]]></State>"
        "<WelcomeCode><![CDATA[demo-welcome-code]]></WelcomeCode>"
        "</xml>"
    ).format(corp=a.corp_id, ts=ts)
    nonce2 = "1593872411"
    encrypted = encrypt(xml.encode(), a.aes_key, a.corp_id, b"fedcba9876543210")
    sig2 = signature(a.token, timestamp, nonce2, encrypted)
    body = (
        f"<xml><ToUserName><![CDATA[{a.corp_id}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        f"<AgentID><![CDATA[]]></AgentID></xml>"
    )
    query2 = f"msg_signature={sig2}&timestamp={timestamp}&nonce={nonce2}"
    add_contact = url_event("POST", path, query2, body, ts)

    for name, event in [("wecom-callback-verify.json", verify), ("wecom-callback-add-contact.json", add_contact)]:
        with open(os.path.join(a.out, name), "w") as f:
            json.dump(event, f, indent=2)
            f.write("\n")
        print(os.path.join(os.path.relpath(a.out, ROOT), name))

    # Self-check against wechatpy, when it is installed (the tests' reference implementation).
    try:
        from wechatpy.enterprise.crypto import WeChatCrypto
    except ImportError:
        return
    crypto = WeChatCrypto(a.token, a.aes_key, a.corp_id)
    assert crypto.check_signature(sig, timestamp, nonce, echostr) == echo_plain.decode()
    assert crypto.decrypt_message(body, sig2, timestamp, nonce2) == xml


if __name__ == "__main__":
    main()
