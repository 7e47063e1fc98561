"""Messages that keep failing, shown to staff (issue 12): the console's navigation counts
them, /staff/messages lists each with the recipient masked, the last error, the attempts and
the next try (or that it is no longer tried), and the request page shows its own. On SQLite
and PostgreSQL (`any_app`)."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import select, update

from forms_app.messages.senders import OutgoingMessage
from forms_app.storage import get_crypto, get_db
from forms_app.storage.models import Outbox
from forms_app.storage.outbox import MAX_ATTEMPTS, send_pending
from service_rules.deadlines import SHANGHAI
from tests.support.staff import (
    APPLICANT_PHONE,
    PHONE,
    Clock,
    new_request,
    page,
    signed_in_staff,
    soup,
)


class RefusingGateway:
    """An SMS gateway that refuses every message, quoting the number as real ones do."""

    delivers = True

    def send(self, message: OutgoingMessage) -> None:
        raise ConnectionError(f"gateway refused {message.recipient}: quota exceeded")


def test_failing_messages_are_counted_and_listed_with_the_recipient_masked(
        any_app: Flask, clock: Clock) -> None:
    any_app.config.update(WTF_CSRF_ENABLED=False, TODAY=clock)
    staff = signed_in_staff(any_app)
    nav = soup(staff.get("/staff/").text).select_one("#nav-failing")
    assert nav["data-count"] == "0"
    assert "没有发送失败的短信" in staff.get("/staff/messages").text

    failing = new_request(any_app, "second_opinion", request_date=dt.date(2026, 3, 2),
                          applicant_phone=APPLICANT_PHONE)
    given_up = new_request(any_app, "second_opinion", request_date=dt.date(2026, 3, 2))
    now = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    with any_app.app_context():
        report = send_pending(get_db(), get_crypto(), RefusingGateway(), now=now)
        assert report.failed == 2
        with get_db().write_session() as s:
            # the second one has used up its tries
            s.execute(update(Outbox).where(Outbox.recipient_masked == "138****8000")
                      .values(attempts=MAX_ATTEMPTS))
            next_try = s.scalar(select(Outbox.next_attempt_at)
                                .where(Outbox.recipient_masked == "139****5678"))

    html = staff.get("/staff/messages").text
    assert APPLICANT_PHONE not in html and PHONE not in html
    rows = {r.select_one("a").get_text(): r for r in soup(html).select("#failing tbody tr")}
    assert set(rows) == {f"{failing[:4]}-{failing[4:]}", f"{given_up[:4]}-{given_up[4:]}"}
    first = rows[f"{failing[:4]}-{failing[4:]}"].get_text()
    assert "139****5678" in first and "1 次" in first
    assert "ConnectionError: gateway refused 139****5678: quota exceeded" in first
    assert next_try.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") in first
    last = rows[f"{given_up[:4]}-{given_up[4:]}"]
    assert last["data-given-up"] == "yes" and "不再自动重试" in last.get_text()
    assert soup(staff.get("/staff/").text).select_one("#nav-failing")["data-count"] == "2"

    # the request page shows its own, and only its own
    doc = page(staff, failing)
    assert [r.select_one("a").get_text() for r in doc.select("#failing tbody tr")] == \
        [f"{failing[:4]}-{failing[4:]}"]
