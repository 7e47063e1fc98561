"""Frequent questions drawn from the content: every note of every service lands in exactly one
question, chosen by what the note is about; notes that match no topic go to a per-service
question. Questions are fixed wording; the answers are the content's own sentences."""

from __future__ import annotations

from dataclasses import dataclass, field

from service_rules.models import Content, Service
from service_rules.wording import promise_sentence

# (question, words that put a note under it). First match wins.
NOTE_TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("预约好了但没有按时去，还算用过吗？", ("视为该次服务已完成", "视为服务已完成")),
    ("自己购买的检测或服务能报销吗？", ("报销", "自行购买")),
    ("可以指定医院、医生或专家吗？", ("指定", "合作医院", "专家")),
    ("一直没有申请，服务会保留到什么时候？", ("终止",)),
)


@dataclass
class FaqItem:
    text: str
    service: Service | None = None


@dataclass
class FaqSection:
    question: str
    items: list[FaqItem] = field(default_factory=list)


def faq_sections(content: Content) -> list[FaqSection]:
    product = content.product
    sections: list[FaqSection] = [
        FaqSection("哪些人可以使用这些服务？",
                   [FaqItem(s.eligibility, s) for s in content.services]
                   + [FaqItem(product.waiting_period_note)]),
        FaqSection("多久能有结果？",
                   [FaqItem(promise_sentence(content, p) + "。", s)
                    for s in content.services for p in s.promises]
                   + [FaqItem(s.advance_booking.text, s)
                      for s in content.services if s.advance_booking]),
        FaqSection("“工作日”怎么算？", [FaqItem(t) for t in product.fairness_notes]),
        FaqSection("申请时要提供什么？", [FaqItem(product.identity_note)]),
    ]
    topics = {q: FaqSection(q) for q, _ in NOTE_TOPICS}
    lapse = topics["一直没有申请，服务会保留到什么时候？"]
    for service in content.services:
        lapse.items.append(FaqItem(service.lapse, service))
    others: list[FaqSection] = []
    for service in content.services:
        rest = FaqSection(f"办理{service.short_name}还要注意什么？")
        for note in service.notes:
            placed = False
            for question, words in NOTE_TOPICS:
                if any(w in note.text for w in words):
                    section = topics[question]
                    if not any(i.text == note.text and i.service is service
                               for i in section.items):
                        section.items.append(FaqItem(note.text, service))
                    placed = True
                    break
            if not placed:
                rest.items.append(FaqItem(note.text, service))
        if rest.items:
            others.append(rest)
    sections.extend(s for s in topics.values() if s.items)
    sections.extend(others)
    return sections
