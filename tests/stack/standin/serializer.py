"""Phoenix serializers as spoken by Supabase Realtime (supabase-protocol.md §2.2).

vsn 1.0.0: JSON object text frames. Client→server keys topic/event/payload/ref (+ optional
           join_ref); server→client objects carry only topic/event/payload/ref.
vsn 2.0.0: JSON array text frames [join_ref, ref, topic, event, payload] plus binary frames:
           kind 3 "user broadcast push" (client→server) and kind 4 "user broadcast"
           (server→client). Every length field is one unsigned byte.

decode() raises DecodeError for anything malformed; callers drop such frames (socket stays open).
"""
import json

V1 = "1.0.0"
V2 = "2.0.0"

KIND_PUSH = 0
KIND_REPLY = 1
KIND_BROADCAST = 2
KIND_USER_BROADCAST_PUSH = 3
KIND_USER_BROADCAST = 4

ENC_BINARY = 0
ENC_JSON = 1


class DecodeError(ValueError):
    pass


class Message:
    """A Phoenix message. For a decoded kind-3 frame, `user_broadcast` holds the UserBroadcast
    (the raw payload bytes and their encoding) and `payload` the equivalent JSON-ish dict."""
    __slots__ = ("join_ref", "ref", "topic", "event", "payload", "user_broadcast")

    def __init__(self, join_ref, ref, topic, event, payload, user_broadcast=None):
        self.join_ref = join_ref
        self.ref = ref
        self.topic = topic
        self.event = event
        self.payload = payload
        self.user_broadcast = user_broadcast

    def __repr__(self):
        return "Message(%r, %r, %r, %r, %.200r)" % (self.join_ref, self.ref, self.topic, self.event,
                                                     self.payload)


class UserBroadcast:
    """A "user broadcast": user event name + payload bytes + encoding (+ optional metadata).
    Produced by kind-3 pushes, the single-message REST endpoint and the database."""
    __slots__ = ("event", "data", "encoding", "meta")

    def __init__(self, event, data, encoding=ENC_JSON, meta=None):
        self.event = event
        self.data = bytes(data)
        self.encoding = encoding
        self.meta = meta

    def json_payload(self):
        """The broadcast payload as a 1.0.0 / JSON-text subscriber sees it, or None when the
        payload is binary (never delivered as text) or not valid JSON."""
        if self.encoding != ENC_JSON:
            return None
        try:
            user = json.loads(self.data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        p = {"type": "broadcast", "event": self.event, "payload": user}
        if self.meta:
            p["meta"] = self.meta
        return p


def _ref(v):
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    raise DecodeError("bad ref")


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def valid_vsn(vsn):
    """Phoenix negotiates `~> 1.0.0` / `~> 2.0.0`: same major.minor, patch >= 0."""
    if vsn is None:
        return V1
    parts = vsn.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    major, minor = int(parts[0]), int(parts[1])
    if (major, minor) == (1, 0):
        return V1
    if (major, minor) == (2, 0):
        return V2
    return None


# ------------------------------------------------------------------ decoding (client → server)

def decode(vsn, data):
    """Decode one websocket frame (str for text, bytes for binary) into a Message."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        if vsn != V2:
            raise DecodeError("binary frame on vsn 1.0.0")
        return _decode_binary(bytes(data))
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise DecodeError("invalid JSON: %s" % e)
    if vsn == V2:
        if not isinstance(obj, list) or len(obj) < 5:
            raise DecodeError("not a JSON array of 5 elements")
        join_ref, ref, topic, event, payload = obj[:5]
    else:
        if not isinstance(obj, dict):
            raise DecodeError("not a JSON object")
        for k in ("topic", "event", "payload", "ref"):
            if k not in obj:
                raise DecodeError("missing key %s" % k)
        topic, event, payload, ref = obj["topic"], obj["event"], obj["payload"], obj["ref"]
        join_ref = obj.get("join_ref")
    if not isinstance(topic, str) or not isinstance(event, str):
        raise DecodeError("topic and event must be strings")
    return Message(_ref(join_ref), _ref(ref), topic, event, payload)


def _decode_binary(b):
    if not b:
        raise DecodeError("empty binary frame")
    kind = b[0]
    if kind == KIND_USER_BROADCAST_PUSH:
        if len(b) < 7:
            raise DecodeError("short kind-3 header")
        jl, rl, tl, el, ml, enc = b[1], b[2], b[3], b[4], b[5], b[6]
        pos = 7
        end = pos + jl + rl + tl + el + ml
        if end > len(b):
            raise DecodeError("kind-3 lengths exceed frame")
        try:
            join_ref = b[pos:pos + jl].decode("utf-8"); pos += jl
            ref = b[pos:pos + rl].decode("utf-8"); pos += rl
            topic = b[pos:pos + tl].decode("utf-8"); pos += tl
            event = b[pos:pos + el].decode("utf-8"); pos += el
            meta_s = b[pos:pos + ml].decode("utf-8"); pos += ml
        except UnicodeDecodeError:
            raise DecodeError("kind-3 strings are not UTF-8")
        if enc not in (ENC_BINARY, ENC_JSON):
            raise DecodeError("unknown payload encoding %d" % enc)
        meta = None
        if meta_s:
            try:
                meta = json.loads(meta_s)
            except ValueError:
                raise DecodeError("kind-3 metadata is not JSON")
        data = b[pos:]
        ub = UserBroadcast(event, data, enc, None)   # client metadata is ignored for routing
        if enc == ENC_JSON:
            try:
                user = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise DecodeError("kind-3 JSON payload is not JSON")
        else:
            user = None
        payload = {"type": "broadcast", "event": event, "payload": user}
        if isinstance(meta, dict) and meta:
            payload["meta"] = meta
        return Message(join_ref or None, ref or None, topic, "broadcast", payload, ub)
    if kind == KIND_PUSH:
        if len(b) < 5:
            raise DecodeError("short push header")
        jl, rl, tl, el = b[1], b[2], b[3], b[4]
        pos = 5
        if pos + jl + rl + tl + el > len(b):
            raise DecodeError("push lengths exceed frame")
        try:
            join_ref = b[pos:pos + jl].decode("utf-8"); pos += jl
            ref = b[pos:pos + rl].decode("utf-8"); pos += rl
            topic = b[pos:pos + tl].decode("utf-8"); pos += tl
            event = b[pos:pos + el].decode("utf-8"); pos += el
        except UnicodeDecodeError:
            raise DecodeError("push strings are not UTF-8")
        return Message(join_ref or None, ref or None, topic, event, {"binary": b[pos:]})
    raise DecodeError("unsupported binary kind %d" % kind)


# ------------------------------------------------------------------ encoding (server → client)

def encode(vsn, msg):
    """Encode a server Message as a text frame (str)."""
    if vsn == V2:
        return dumps([msg.join_ref, msg.ref, msg.topic, msg.event, msg.payload])
    return dumps({"topic": msg.topic, "event": msg.event, "payload": msg.payload, "ref": msg.ref})


def _b(s):
    v = s.encode("utf-8")
    if len(v) > 255:
        raise ValueError("field longer than 255 bytes")
    return v


def encode_user_broadcast_binary(topic, ub):
    """Kind 4: 04 topic_len event_len meta_len encoding topic event meta payload."""
    t = _b(topic)
    e = _b(ub.event)
    m = _b(dumps(ub.meta)) if ub.meta else b""
    return bytes([KIND_USER_BROADCAST, len(t), len(e), len(m), ub.encoding]) + t + e + m + ub.data


def encode_user_broadcast(vsn, topic, ub):
    """Frame for a subscriber: kind 4 (2.0.0) or a JSON broadcast (1.0.0; None if binary)."""
    if vsn == V2:
        try:
            return encode_user_broadcast_binary(topic, ub)
        except ValueError:
            pass
    payload = ub.json_payload()
    if payload is None:
        return None
    return encode(vsn, Message(None, None, topic, "broadcast", payload))


def encode_user_broadcast_push(join_ref, ref, topic, event, data, encoding=ENC_JSON, meta=None):
    """Kind 3 (client → server); used by tests."""
    j, r, t, e = _b(join_ref or ""), _b(ref or ""), _b(topic), _b(event)
    m = _b(dumps(meta)) if meta else b""
    return (bytes([KIND_USER_BROADCAST_PUSH, len(j), len(r), len(t), len(e), len(m), encoding])
            + j + r + t + e + m + bytes(data))


def decode_server_binary(b):
    """Decode a kind-4 frame (tests / clients): returns (topic, event, meta, encoding, data)."""
    if len(b) < 5 or b[0] != KIND_USER_BROADCAST:
        raise DecodeError("not a kind-4 frame")
    tl, el, ml, enc = b[1], b[2], b[3], b[4]
    pos = 5
    topic = b[pos:pos + tl].decode(); pos += tl
    event = b[pos:pos + el].decode(); pos += el
    meta = json.loads(b[pos:pos + ml]) if ml else None; pos += ml
    return topic, event, meta, enc, b[pos:]
