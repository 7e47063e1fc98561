"""Plain-Chinese sentences built from content data, shared by the site and the app."""

from __future__ import annotations

import datetime as dt

from .models import Content, Promise


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


COUNTING_RULE = "起算当天不计入，从下一天开始数工作日；周末和法定节假日不算，调休上班日算。"

WEEKDAYS = "一二三四五六日"


def chinese_date(day: dt.date, *, weekday: bool = True) -> str:
    """2026年12月1日（星期二）, or without the weekday 2026年12月1日."""
    text = f"{day.year}年{day.month}月{day.day}日"
    return f"{text}（星期{WEEKDAYS[day.weekday()]}）" if weekday else text
