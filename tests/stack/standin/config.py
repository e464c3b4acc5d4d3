"""Constants of the local Supabase stand-in: the local-development JWT secret and the legacy
anon / service_role keys (supabase-protocol.md §6.5), and timing values. The per-stack keys of
the 2026 key model (publishable, secret, ES256 signing key) are in keys.py."""
import os

JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"

# The `supabase start` keys: {"iss":"supabase-demo","role":"anon"|"service_role","exp":1983812996}, HS256.
ANON_KEY = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            "eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9."
            "CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0")
SERVICE_ROLE_KEY = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                    "eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0."
                    "EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU")

DEMO_PASSWORD = "wrenchbell-demo"
DEMO_EMAIL = "mechanic@example.com"

# Auth (GoTrue) behaviour
ACCESS_TOKEN_TTL = int(os.environ.get("STANDIN_ACCESS_TOKEN_TTL", "3600"))   # seconds
REFRESH_REUSE_INTERVAL = float(os.environ.get("STANDIN_REFRESH_REUSE_INTERVAL", "10"))  # seconds

# Realtime connections authorised only by a publishable / secret key (no user token on any
# channel) end after this many seconds (the platform: 24 h).
PUBLIC_CONNECTION_MAX_S = float(os.environ.get("STANDIN_PUBLIC_CONNECTION_MAX_S", str(24 * 3600)))

# PostgREST accepts ±30 s clock skew; the stand-in is strict (0) so that expiry shows at once.
REST_JWT_LEEWAY = 0

# Database pool
DB_POOL_MAX = 16
DB_CONNECT_TIMEOUT = 5

# Realtime-related defaults shared with realtime.py
BROADCAST_TOPIC = "session_requests_feed"
EXPOSED_SCHEMAS = ("public",)
