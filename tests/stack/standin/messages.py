"""realtime.messages, the stand-in's side (what Supabase Realtime does with it): installing the
realtime schema objects (sql/realtime.sql).

    await install(conn)                       # sql/realtime.sql, idempotent
"""
import os

SQL_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sql", "realtime.sql")


async def install(conn):
    """Create what is missing of the realtime schema objects (sql/realtime.sql) on an autocommit
    connection; raises psycopg.Error (e.g. when the Supabase roles do not exist)."""
    with open(SQL_PATH, encoding="utf-8") as f:
        text = f.read()
    await conn.execute(text)
