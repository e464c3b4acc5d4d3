"""Realtime's tenant-level refusals, switched on by faults (`stack fault join-rate-limit`,
`connection-rate-limit`, `tenant-disabled`), in the shapes supabase/realtime uses:

handshake (UserSocket.connect; answered after the connect-error backoff)
  tenant disabled        403 {"error":"Realtime was disabled for this tenant"}   (before the token)
  too many connections   429 {"error":"Too many connected users"}               (after the token)
  too many joins         429 {"error":"Too many joins per second"}
join (RealtimeChannel.join; phx_reply error after the channel-error backoff)
  ConnectionRateLimitReached: Too many connected users     only on a socket with no joined channel
  ClientJoinRateLimitReached: Too many joins per second    then the socket is disconnected (close 1000)
  RealtimeDisabledForTenant: Realtime disabled for this tenant
when the tenant is disabled, every joined channel gets the `system` message
  {"extension":"system","status":"ok","message":"Server requested disconnect"}
and the socket is drained (close code 1012, "service restart"); REST broadcasts get
403 {"message":"Tenant is suspended"}.
"""

HANDSHAKE_TENANT_DISABLED = (403, "Realtime was disabled for this tenant")
HANDSHAKE_TOO_MANY_CONNECTIONS = (429, "Too many connected users")
HANDSHAKE_TOO_MANY_JOINS = (429, "Too many joins per second")

JOIN_TOO_MANY_CONNECTIONS = "ConnectionRateLimitReached: Too many connected users"
JOIN_TOO_MANY_JOINS = "ClientJoinRateLimitReached: Too many joins per second"
JOIN_TENANT_DISABLED = "RealtimeDisabledForTenant: Realtime disabled for this tenant"

DISCONNECT_MESSAGE = {"extension": "system", "status": "ok", "message": "Server requested disconnect"}
CLOSE_DISCONNECTED = 1000        # Phoenix {:shutdown, :disconnected} through Cowboy
CLOSE_DRAINED = 1012             # Phoenix socket drain: "service restart"
REST_SUSPENDED = "Tenant is suspended"


def handshake_before_token(faults):
    """(status, text) when the tenant refuses every connection, else None."""
    return HANDSHAKE_TENANT_DISABLED if faults.tenant_disabled else None


def handshake_after_token(faults):
    if faults.connection_rate_limit:
        return HANDSHAKE_TOO_MANY_CONNECTIONS
    if faults.join_rate_limit:
        return HANDSHAKE_TOO_MANY_JOINS
    return None


def join_before_token(faults, socket_counted):
    """(reason, disconnect_after) for a join refused by a rate limit, else None.
    socket_counted: the socket already has a joined channel (Realtime counts it as a user)."""
    if faults.connection_rate_limit and not socket_counted:
        return JOIN_TOO_MANY_CONNECTIONS, False
    if faults.join_rate_limit:
        return JOIN_TOO_MANY_JOINS, True
    return None


def join_after_token(faults):
    return JOIN_TENANT_DISABLED if faults.tenant_disabled else None
