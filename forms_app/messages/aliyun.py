"""SMS through Alibaba Cloud SMS (dysmsapi, `SendSms`, API version 2017-05-25), by its
documented HTTP API with the RPC signature (signature method V2), so no SDK is needed:

- every parameter (common and SendSms's own, except Signature) sorted by name, names and
  values percent-encoded as RFC 3986 says (only A-Z a-z 0-9 - _ . ~ kept; a space is %20),
  joined as `k=v&k=v`: the canonicalized query string;
- StringToSign = METHOD & percentEncode("/") & percentEncode(canonicalized query);
- Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).

`tests/messages/test_aliyun_sms.py` checks `rpc_signature` against the worked example Alibaba
Cloud publishes (DescribeRegions, AccessKey testid / testsecret).

Settings: SMS_ACCESS_KEY_ID, SMS_ACCESS_KEY_SECRET, SMS_SIGN_NAME (the approved 签名, which the
provider puts in 【】 before the text), SMS_TEMPLATE_CODE (an approved template whose text is
the single variable `${content}`), SMS_ENDPOINT (https://dysmsapi.aliyuncs.com).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .senders import OutgoingMessage

API_VERSION = "2017-05-25"
TIMEOUT = 30
TEMPLATE_VARIABLE = "content"
# our texts open with 【product】; the provider adds the approved sign name in 【】 itself
_LEADING_SIGN = re.compile(r"^【[^】]*】")


class SmsError(RuntimeError):
    """The provider refused the message (its Code and Message; never the phone number)."""


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as the signature wants it (Python's quote with only -_.~ safe)."""
    return quote(value, safe="-_.~")


def canonicalized_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                    for k, v in sorted(params.items()))


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonicalized_query(params))}"


def rpc_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    """Base64(HMAC-SHA1(secret + "&", StringToSign)) over every parameter but Signature."""
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def sms_text(body: str) -> str:
    """The text for the template's variable: without our leading 【product】 (the sign name
    stands there)."""
    return _LEADING_SIGN.sub("", body, count=1)


class AliyunSmsSender:
    """Sends each message as one SMS by a signed POST of SendSms to SMS_ENDPOINT."""

    delivers = True
    name = "aliyun"

    def __init__(self, config: Mapping[str, Any]):
        self.key_id = config.get("SMS_ACCESS_KEY_ID") or ""
        self.secret = config.get("SMS_ACCESS_KEY_SECRET") or ""
        self.sign_name = config.get("SMS_SIGN_NAME") or ""
        self.template = config.get("SMS_TEMPLATE_CODE") or ""
        missing = [name for name, value in (
            ("SMS_ACCESS_KEY_ID", self.key_id), ("SMS_ACCESS_KEY_SECRET", self.secret),
            ("SMS_SIGN_NAME", self.sign_name), ("SMS_TEMPLATE_CODE", self.template))
            if not value]
        if missing:
            raise ValueError(f"OUTBOX_SENDER=aliyun needs {', '.join(missing)}")
        self.endpoint = (config.get("SMS_ENDPOINT") or "https://dysmsapi.aliyuncs.com")

    def params(self, message: OutgoingMessage, *, nonce: str | None = None,
               timestamp: dt.datetime | None = None) -> dict[str, str]:
        """The signed parameters of SendSms for `message`."""
        when = (timestamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        params = {
            "AccessKeyId": self.key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": str(message.outbox_id),     # our id, returned in delivery reports
            "PhoneNumbers": message.recipient,
            "RegionId": "cn-hangzhou",
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": self.template,
            "TemplateParam": json.dumps({TEMPLATE_VARIABLE: sms_text(message.body)},
                                        ensure_ascii=False),
            "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        params["Signature"] = rpc_signature(self.secret, "POST", params)
        return params

    def send(self, message: OutgoingMessage) -> None:
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                        for k, v in self.params(message).items()).encode()
        request = urllib.request.Request(
            self.endpoint.rstrip("/") + "/", data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                     "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                answer = json.loads(response.read().decode("utf-8") or "{}")
        except urllib.error.HTTPError as exc:  # the API answers errors with a JSON body too
            try:
                answer = json.loads(exc.read().decode("utf-8") or "{}")
            except ValueError:
                raise SmsError(f"HTTP {exc.code}") from None
        if answer.get("Code") != "OK":
            raise SmsError(f"{answer.get('Code', 'no Code')}: {answer.get('Message', '')}")
