"""The production server: `python -m forms_app --host 127.0.0.1 --port 8000` (what `make serve`
runs), the built site and the app on one port.

Waitress reads each request in full (headers and body, a large body spooled to a temporary file)
in its event loop before a worker thread sees it, so clients on slow or stalled links cost a
socket, not a worker: a few of them cannot starve the site, and a genuine upload over a slow
mobile link takes as long as it needs. A connection idle for `--idle-timeout` seconds (up to
half as long again) is closed.
Responses keep the connection alive (HTTP/1.1).
"""

from __future__ import annotations

import argparse
import socket

from waitress import serve

from . import create_app

# bodies larger than this are refused by the server itself; up to it, the app answers with its
# own friendly page when a request is over MAX_CONTENT_LENGTH
HARD_BODY_LIMIT = 256 * 1024 * 1024


def cleanup_interval(idle_timeout: int) -> int:
    """Seconds between waitress's sweeps for idle connections. A sweep closes those idle past
    the timeout, so a connection goes between `idle_timeout` and `idle_timeout` plus this; at
    waitress's fixed 30 s a 10 s timeout would mean up to 40 s. Half the timeout, 30 s at most
    (the default 60 s timeout sweeps as waitress always has)."""
    return max(1, min(30, idle_timeout // 2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m forms_app",
                                     description="Serve the site and the request forms.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--fd", type=int, default=None,
                        help="serve on this already listening socket instead of host:port")
    parser.add_argument("--threads", type=int, default=8, help="worker threads")
    parser.add_argument("--idle-timeout", type=int, default=60,
                        help="seconds before an idle connection is closed")
    parser.add_argument("--connection-limit", type=int, default=1000)
    args = parser.parse_args(argv)
    app = create_app()
    listen: dict[str, object]
    if args.fd is not None:
        listen = {"sockets": [socket.socket(fileno=args.fd)]}
        where = f"socket fd {args.fd}"
    else:
        listen = {"host": args.host, "port": args.port}
        where = f"http://{args.host}:{args.port}/"
    print(f"Serving site and forms at {where} "
          f"(database: {app.config['DATABASE_URL'].split('://')[0]})", flush=True)
    serve(app, threads=args.threads, channel_timeout=args.idle_timeout,
          cleanup_interval=cleanup_interval(args.idle_timeout),
          connection_limit=args.connection_limit, max_request_body_size=HARD_BODY_LIMIT,
          ident="forms_app", **listen)


if __name__ == "__main__":
    main()
