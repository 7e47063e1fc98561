"""Plain-Chinese sentences built from content data, shared by the site and the app."""

from __future__ import annotations

from .models import AdvanceBooking, Content, Promise


def clock_start_phrase(content: Content, promise: Promise) -> str:
    names = [content.event_by_id[e].name for e in promise.starts_after]
    if len(names) == 1:
        return names[0]
    return "且".join(names)


def promise_sentence(content: Content, promise: Promise) -> str:
    """例如：提交申请后5个工作日内安排门诊。"""
    start = clock_start_phrase(content, promise)
    text = f"{start}后{promise.working_days}个工作日内{promise.promise}"
    if len(promise.starts_after) > 1:
        text += "（从较晚的一天起算）"
    return text


def advance_booking_sentence(booking: AdvanceBooking) -> str:
    return f"需至少提前{booking.working_days}个工作日预约入院日期"


COUNTING_RULE = "起算当天不计入，从下一天开始数工作日；周末和法定节假日不算，调休上班日算。"
