"""A jieba user dictionary generated from the content, so the site search finds our words.

jieba keeps unknown compounds apart (基因/检测, 住院/条) and long hospital names whole, so a
search for 基因检测 or 住院条 would find nothing. Every term listed here becomes one word when
the search plugin cuts the pages. A whole word hides its parts, so after the build
`search_index.py` cuts each whole word again into its parts (北京协和医院 -> 北京 协和 医院) and
keeps the whole in a hidden field: a part (协和) and the whole (北京协和医院) both find it.
"""

from __future__ import annotations

import re

from service_rules.models import Content

# The search plugin segments runs of Han characters only (an index token never mixes 301 and
# 医院, nor crosses a bracket), so dictionary words are such runs.
HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")

# Words of the trade that appear in running text but are not a content field of their own.
DOMAIN_TERMS = ("直付", "住院条", "绿通", "第二诊疗意见", "靶向用药", "基因检测", "病历本",
                "工作日", "调休", "等待期", "保单年度", "三甲医院", "授权书")

# A frequency high enough that jieba prefers the term over its parts.
FREQUENCY = 200000


def search_terms(content: Content) -> list[str]:
    """All terms, in a stable order, without duplicates."""
    terms: list[str] = list(DOMAIN_TERMS)
    for service in content.services:
        terms.append(service.short_name)
        terms.extend(u.name for u in service.uses)
        terms.extend(s.name for s in service.samples)
    terms.extend(d.name for d in content.services_file.documents)
    for hospital in content.hospitals:
        terms.append(hospital.name)
        if hospital.short_name:
            terms.append(hospital.short_name)
    terms.extend(c.name for c in content.cities)
    # A longer word that contains a key term would hide it (住院直付 hides 直付): leave it out.
    key_terms = set(DOMAIN_TERMS) | {s.short_name for s in content.services}
    seen: set[str] = set()
    out = []
    for term in (run for t in terms for run in HAN_RUN.findall(t)):
        hides = any(k in term and k != term for k in key_terms)
        if not hides and term not in seen:
            seen.add(term)
            out.append(term)
    return out


def user_dictionary(content: Content) -> str:
    """The dictionary file's text: one 'word frequency' per line."""
    return "".join(f"{term} {FREQUENCY}\n" for term in search_terms(content))
