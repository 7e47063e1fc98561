"""Filling the service forms as a browser would: valid answers built from the content, the
hidden tokens of a rendered form, a multipart POST with fresh file streams."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from flask.testing import FlaskClient

from forms_app.applicant.forms import SELF
from service_rules import Rules
from service_rules.deadlines import earliest_admission, shanghai_today
from service_rules.identity import id_check_char
from tests.support.sample_files import image_bytes, minimal_pdf

# small real files of each kind (uploads are opened with pypdf and Pillow before acceptance)
PDF = minimal_pdf()
JPEG = image_bytes("JPEG")
PNG = image_bytes("PNG")


def make_id(prefix17: str = "11010519491231002") -> str:
    return prefix17 + id_check_char(prefix17)


VALID_ID = make_id()            # 11010519491231002X
VALID_PHONE = "13800138000"


# -- filling forms -------------------------------------------------------------------------
def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or \
        re.search(rf'value="([^"]*)"[^>]*name="{name}"', html)
    assert m, f"hidden field {name} not in page"
    return m.group(1)


def valid_data(rules: Rules, service_id: str, use_id: str | None = None,
               today: dt.date | None = None) -> dict[str, Any]:
    """A complete, eligible answer for the service, built from the content."""
    content = rules.content
    service = content.service(service_id)
    today = today or shanghai_today()
    data: dict[str, Any] = {
        "insured_name": "张三",
        "id_number": VALID_ID,
        "phone": VALID_PHONE,
        "applicant_relation": SELF,
        "applicant_name": "",
        "applicant_phone": "",
        "policy_number": "P2025-0001",
        "policy_effective": (today - dt.timedelta(days=300)).isoformat(),
        "diagnosis_date": (today - dt.timedelta(days=20)).isoformat(),
        "first_diagnosis": "yes",
        "consent": "y",
    }
    if len(service.uses) > 1:
        data["use_id"] = use_id or service.uses[0].id
    cities = [c for c in content.cities if content.hospitals_in(c.id, service_id)]
    if cities:
        data["city"] = cities[0].id
        data["hospital"] = content.hospitals_in(cities[0].id, service_id)[0].id
    if service.advance_booking:
        data["admission_date"] = earliest_admission(
            rules.calendar, today, service.advance_booking).date.isoformat()
    if service.samples:
        data["sample_type"] = service.samples[0].id
    for ref in service.documents:
        if ref.required:
            data[f"doc_{ref.id}"] = (io.BytesIO(PDF), f"{ref.id}.pdf")
    return data


def post_form(client: FlaskClient, service_id: str, tokens: dict[str, str],
              data: dict[str, Any], **kwargs: Any) -> Any:
    body = {**tokens, **data}
    # file tuples are consumed by a request: give each POST fresh streams
    for key, value in list(body.items()):
        if isinstance(value, tuple) and hasattr(value[0], "getvalue"):
            body[key] = (io.BytesIO(value[0].getvalue()), value[1])
        elif isinstance(value, list):
            body[key] = [(io.BytesIO(v[0].getvalue()), v[1]) for v in value]
    return client.post(f"/apply/{service_id}", data=body,
                       content_type="multipart/form-data", **kwargs)
