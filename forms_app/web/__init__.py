"""What every page shares: security headers, error pages, the base templates and stylesheet,
and the built policyholder site served at `/`."""

from __future__ import annotations

from typing import Any

from flask import Flask

from service_rules.wording import chinese_date

from ..content import get_rules
from . import edge, errors, headers, site


def init_app(app: Flask) -> None:
    headers.init_app(app)
    edge.init_app(app)
    errors.init_app(app)
    site.init_app(app)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        product = get_rules().content.product
        return {"product_name": product.name, "hotline": product.hotline,
                "chinese_date": chinese_date, "site_asset": site.site_asset}
