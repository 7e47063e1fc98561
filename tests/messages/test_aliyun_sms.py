"""SMS through Alibaba Cloud SMS: the RPC signature against the worked example Alibaba Cloud
publishes, then `send-outbox` with OUTBOX_SENDER=aliyun against a local HTTP server standing in
for SMS_ENDPOINT (never the real network): the request it receives, and a refusal."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

import pytest

from forms_app.messages.aliyun import (
    AliyunSmsSender,
    canonicalized_query,
    percent_encode,
    rpc_signature,
    sms_text,
    string_to_sign,
)
from forms_app.messages.senders import OutgoingMessage
from tests.messages.test_submission_message import BASE, apply, outbox
from tests.support.forms import VALID_PHONE
from tests.support.gunicorn_harness import listening_socket

# Alibaba Cloud's worked example of the RPC signature (signature method V2): DescribeRegions
# with AccessKey ID "testid" and secret "testsecret" ("API 签名机制（示例）",
# https://developer.aliyun.com/ask/210168, the example of the ECS API reference's
# "签名机制"; the same Signature appears in every product's "Signature mechanism" overview)
EXAMPLE_PARAMS = {
    "TimeStamp": "2016-02-23T12:46:24Z", "Format": "XML", "AccessKeyId": "testid",
    "Action": "DescribeRegions", "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "Version": "2014-05-26",
    "SignatureVersion": "1.0",
}
EXAMPLE_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
    "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
    "%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z"
    "%26Version%3D2014-05-26")
EXAMPLE_SIGNATURE = "CT9X0VtwR86fNWSnsc6v8YGOjuE="

SETTINGS = {"OUTBOX_SENDER": "aliyun", "SMS_ACCESS_KEY_ID": "LTAI-test-id",
            "SMS_ACCESS_KEY_SECRET": "test-secret", "SMS_SIGN_NAME": "肿瘤就医服务",
            "SMS_TEMPLATE_CODE": "SMS_123456789"}


def test_signature_matches_the_published_example() -> None:
    assert string_to_sign("GET", EXAMPLE_PARAMS) == EXAMPLE_STRING_TO_SIGN
    assert rpc_signature("testsecret", "GET", EXAMPLE_PARAMS) == EXAMPLE_SIGNATURE
    # the example's final URL carries it percent-encoded
    assert percent_encode(EXAMPLE_SIGNATURE) == "CT9X0VtwR86fNWSnsc6v8YGOjuE%3D"


def test_percent_encoding_is_rfc3986() -> None:
    assert percent_encode("a b*c~d/e+f") == "a%20b%2Ac~d%2Fe%2Bf"
    assert percent_encode("阿里") == "%E9%98%BF%E9%87%8C"
    assert canonicalized_query({"b": "2", "a": "1 2"}) == "a=1%202&b=2"


@contextmanager
def fake_endpoint(answer: dict[str, Any], status: int = 200) -> Iterator[tuple[str, list]]:
    """A local HTTP server answering every POST with `answer`; yields (url, requests seen)."""
    seen: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers["Content-Length"])
            seen.append({"path": self.path, "headers": dict(self.headers),
                         "body": self.rfile.read(length).decode("utf-8")})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler,
                                             bind_and_activate=False)
    server.socket.close()
    server.socket = listening_socket()   # opened by the test: no fixed port, no race
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.socket.getsockname()[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_send_outbox_posts_a_signed_sendsms(make_app, rules) -> None:
    ok = {"Code": "OK", "Message": "OK", "BizId": "9006197469364984^0", "RequestId": "F655A8D5"}
    with fake_endpoint(ok) as (url, seen):
        app = make_app(PUBLIC_BASE_URL=BASE, SMS_ENDPOINT=url, **SETTINGS)
        apply(app.test_client(), rules, "green_channel")
        [queued] = outbox(app)
        result = app.test_cli_runner().invoke(args=["send-outbox"])
        assert result.exit_code == 0, result.output
        assert "delivered 1 by aliyun, failed 0" in result.output
    [request] = seen
    assert request["path"] == "/"
    assert request["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    params = dict(parse_qsl(request["body"], keep_blank_values=True))
    assert params["Action"] == "SendSms" and params["Version"] == "2017-05-25"
    assert params["PhoneNumbers"] == VALID_PHONE
    assert params["SignName"] == "肿瘤就医服务" and params["TemplateCode"] == "SMS_123456789"
    assert params["AccessKeyId"] == "LTAI-test-id" and params["OutId"] == str(queued.id)
    assert params["SignatureMethod"] == "HMAC-SHA1" and params["SignatureVersion"] == "1.0"
    assert params["Format"] == "JSON" and params["Timestamp"].endswith("Z")
    text = json.loads(params["TemplateParam"])["content"]
    assert text == sms_text(queued.body) and not text.startswith("【")  # the sign name stands there
    assert "我们已收到您的" in text and f"{BASE}/status/" in text
    # the signature verifies as the provider checks it
    signed = {k: v for k, v in params.items() if k != "Signature"}
    assert params["Signature"] == rpc_signature("test-secret", "POST", signed)
    [sent] = outbox(app)
    assert sent.sent_at is not None


def test_a_refusal_is_recorded_and_retried(make_app, rules) -> None:
    refused = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1",
               "RequestId": "A1"}
    with fake_endpoint(refused) as (url, seen):
        app = make_app(SMS_ENDPOINT=url, **SETTINGS)
        apply(app.test_client(), rules, "second_opinion")
        result = app.test_cli_runner().invoke(args=["send-outbox"])
    assert result.exit_code == 1 and "failed 1" in result.output and len(seen) == 1
    [row] = outbox(app)
    assert row.sent_at is None and row.attempts == 1 and row.next_attempt_at is not None
    assert "isv.BUSINESS_LIMIT_CONTROL" in row.last_error and VALID_PHONE not in row.last_error


def test_missing_settings_are_named() -> None:
    with pytest.raises(ValueError, match="SMS_SIGN_NAME, SMS_TEMPLATE_CODE"):
        AliyunSmsSender({"SMS_ACCESS_KEY_ID": "x", "SMS_ACCESS_KEY_SECRET": "y"})
    sender = AliyunSmsSender({**SETTINGS, "SMS_ENDPOINT": ""})
    assert sender.endpoint == "https://dysmsapi.aliyuncs.com"
    message = OutgoingMessage(7, "sms", VALID_PHONE, "138****8000", "s", "【产品】正文")
    params = sender.params(message, nonce="n-1")
    assert params["SignatureNonce"] == "n-1" and json.loads(params["TemplateParam"]) == \
        {"content": "正文"}
