"""Friendly error pages: never a bare 400/404/413/429/500, never personal data in them."""

from __future__ import annotations

import errno
import logging
import time
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..extensions import limiter
from .headers import mark_site_page

log = logging.getLogger(__name__)

DRAIN_LIMIT = 256 * 1024 * 1024


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _page(status: int, title: str, message: str) -> tuple[Any, int]:
    if _wants_json():
        return {"error": message}, status
    return render_template("error.html", status=status, title=title, message=message), status


def _drain() -> None:
    """Read the rest of a refused request body so the client receives our page instead of a
    reset connection (a client still sending sees the reset before our response).

    Reads the raw WSGI input: `request.stream` refuses to open when Content-Length is over
    MAX_CONTENT_LENGTH, and stops at MAX_FORM_MEMORY_SIZE. Reads at most DRAIN_LIMIT bytes and
    never past Content-Length (the development server's input is the bare socket).
    """
    environ = request.environ
    raw = environ.get("wsgi.input")
    if raw is None:
        return
    cached = request.__dict__.get("stream")  # the wrapped stream, if the form parser used it
    consumed = int(getattr(cached, "_pos", 0) or 0) if cached is not None else 0
    length = request.content_length
    try:
        if length is not None:
            remaining = min(length - consumed, DRAIN_LIMIT)
        elif "wsgi.input_terminated" in environ:
            remaining = DRAIN_LIMIT
        else:
            return
        while remaining > 0:
            chunk = raw.read(min(64 * 1024, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
    except Exception:  # noqa: BLE001 - best effort only
        log.debug("could not drain a refused request body")


def init_app(app: Flask) -> None:
    @app.errorhandler(400)
    def bad_request(exc: HTTPException) -> Any:
        return _page(400, "无法处理这个请求", "请返回上一页重新填写，或致电服务热线。")

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return _page(400, "页面已过期", "页面停留时间较长，为了安全请返回上一页刷新后重新提交。")

    @app.errorhandler(404)
    def not_found(exc: HTTPException) -> Any:
        site_404 = Path(current_app.config["SITE_DIR"]) / "404.html"
        if not _wants_json() and site_404.is_file():
            mark_site_page()  # the site's page, with its inline scripts: the site's CSP
            return site_404.read_text(encoding="utf-8"), 404
        return _page(404, "没有找到这个页面", "地址可能有误，或页面已经移动。")

    @app.errorhandler(405)
    def not_allowed(exc: HTTPException) -> Any:
        return _page(405, "无法处理这个请求", "请从首页重新进入。")

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> Any:
        _drain()
        limit_mb = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        file_mb = current_app.config["UPLOAD_MAX_FILE_BYTES"] // (1024 * 1024)
        return _page(413, "上传的文件太大了",
                     f"一次提交的文件合计不能超过 {limit_mb}MB，每个文件不超过 {file_mb}MB。"
                     "请返回上一页，把照片拍得小一些、压缩后或分几次上传；"
                     "也可以先提交申请，再按服务人员的指引补交资料。")

    @app.errorhandler(429)
    def too_many(exc: HTTPException) -> Any:
        body, status = _page(429, "尝试次数太多",
                             "为了保护您的信息，请稍等几分钟再试，或致电服务热线查询。")
        return body, status, {"Retry-After": str(_seconds_until_limit_resets())}

    app.register_error_handler(OperationalError, _unavailable)
    app.register_error_handler(DBAPIError, _database_refused)
    app.register_error_handler(OSError, _disk_error)

    @app.errorhandler(500)
    def server_error(exc: Exception) -> Any:
        return _page(500, "系统暂时出了问题",
                     "您的申请可能没有提交成功。请稍后再试，或致电服务热线。")


# -- unavailable for a moment: 503 with the app's own Retry-After, never a 500 ------------------
BUSY_TITLE = "系统繁忙，请稍后再试"
BUSY_MESSAGE = ("系统暂时繁忙，这次操作没有完成。如果您在提交申请，请返回上一页，"
                "稍等片刻后再提交一次：同一份申请重复提交也只会登记一次。也可以致电服务热线。")
RETRY_AFTER_S = 10
# PostgreSQL: read-only transaction (a standby promoted late, a read-only maintenance window),
# the server shutting down or starting, too many connections
UNAVAILABLE_SQLSTATES = frozenset({"25006", "57P01", "57P02", "57P03", "53300"})
# the upload folder full, over quota, or mounted read-only
UNAVAILABLE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def _seconds_until_limit_resets() -> int:
    limit = getattr(limiter, "current_limit", None)
    reset_at = getattr(limit, "reset_at", None)
    if not reset_at:
        return 60
    return max(1, int(reset_at - time.time()) + 1)


def _unavailable(exc: Exception) -> Any:
    """SQLite busy past its timeout, a database unreachable, a disk full: 503 with
    Retry-After and a plain page. Only the error's class is logged (its text can hold SQL
    values)."""
    original = getattr(exc, "orig", exc)
    log.warning("unavailable (%s) on %s %s", type(original).__name__, request.method,
                request.endpoint)
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if _wants_json():
        return {"error": BUSY_MESSAGE}, 503, headers
    return render_template("error.html", status=503, title=BUSY_TITLE,
                           message=BUSY_MESSAGE), 503, headers


def _database_refused(exc: DBAPIError) -> Any:
    if getattr(exc.orig, "sqlstate", None) in UNAVAILABLE_SQLSTATES:
        return _unavailable(exc)
    return _server_error(exc)


def _disk_error(exc: OSError) -> Any:
    if exc.errno in UNAVAILABLE_ERRNOS:
        return _unavailable(exc)
    return _server_error(exc)


def _server_error(exc: Exception) -> Any:
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.endpoint)
    return _page(500, "系统暂时出了问题", "您的申请可能没有提交成功。请稍后再试，或致电服务热线。")
