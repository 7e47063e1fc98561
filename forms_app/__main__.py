"""Development server: python -m forms_app --host 127.0.0.1 --port 8000"""

from __future__ import annotations

import argparse

from . import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m forms_app",
                                     description="Serve the site and the request forms.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    app = create_app()
    print(f"Serving site and forms at http://{args.host}:{args.port}/ "
          f"(database: {app.config['DATABASE_URL'].split('://')[0]})")
    app.run(host=args.host, port=args.port, debug=args.debug, threaded=True)


if __name__ == "__main__":
    main()
