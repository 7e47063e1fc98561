"""The privacy notice (issue 14) on the site, from content/privacy.yaml: who processes the data,
for what, which data, with whom it is shared, how long it is kept, the rights and how to use
them, the contact; with its version, the one each request records. No text copied in here."""

from __future__ import annotations

from builtsite import Site


def squash(text: str) -> str:
    return "".join(text.split())


def test_the_notice_states_everything_the_content_says(site: Site) -> None:
    privacy = site.rules.content.privacy_file
    product = site.rules.content.product
    url = "privacy/"
    page = squash(site.text(url))
    assert privacy.version in page
    assert squash(privacy.controller) in squash(site.section(url, "controller"))
    for p in privacy.purposes:
        assert squash(p) in squash(site.section(url, "purposes"))
    for d in privacy.data:
        assert squash(d.name) in squash(site.section(url, "data"))
        assert squash(d.why) in squash(site.section(url, "data"))
    assert squash(product.sensitive_consent) in squash(site.section(url, "data"))
    for r in privacy.sharing:
        assert squash(r.with_) in squash(site.section(url, "sharing"))
    assert squash(privacy.retention.text) in squash(site.section(url, "retention"))
    rights = squash(site.section(url, "rights"))
    assert {r.id for r in privacy.rights} == {"know", "copy", "correct", "delete", "withdraw"}
    for r in privacy.rights:
        assert squash(r.name) in rights and squash(r.how) in rights
    contact = site.article(url).find(id="contact").find_next("a", href=f"tel:{product.hotline.tel}")
    assert contact is not None


def test_the_notice_is_in_the_navigation(site: Site) -> None:
    links = {a.get("href", "") for a in site.soup("").select("nav a")}
    assert any(h.rstrip("/").endswith("privacy") for h in links)
