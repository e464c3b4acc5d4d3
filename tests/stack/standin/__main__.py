"""python3 -m standin --dir DIR --port PORT --database-url URL"""
import argparse
import logging
import os
import sys

from aiohttp import web

from .app import build_app


def main(argv=None):
    p = argparse.ArgumentParser(prog="standin")
    p.add_argument("--dir", default=os.environ.get("STACK_DIR", "."))
    p.add_argument("--port", type=int, default=54321)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--log-level", default=os.environ.get("STANDIN_LOG_LEVEL", "INFO"))
    a = p.parse_args(argv)
    if not a.database_url:
        p.error("--database-url is required")
    logging.basicConfig(level=getattr(logging, a.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    app = build_app(dir=os.path.abspath(a.dir), port=a.port, dsn=a.database_url)
    web.run_app(app, host=a.host, port=a.port, print=None, access_log=None,
                handle_signals=True, shutdown_timeout=2.0)


if __name__ == "__main__":
    main()
