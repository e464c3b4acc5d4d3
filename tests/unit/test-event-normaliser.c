#include "config.h"

#include <string.h>

#include "wb-error.h"
#include "wb-event-normaliser.h"
#include "wb-json.h"
#include "wb-untrusted-text.h"

#define A1 "0b9e8a5c-1f2d-4c3b-9a8e-7d6c5b4a3f21"
#define A1_UPPER "0B9E8A5C-1F2D-4C3B-9A8E-7D6C5B4A3F21"
#define S1 "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
#define T0 "2026-11-20T10:00:00.120431+00:00"
#define T0_US G_GINT64_CONSTANT (1795168800120431)
#define C0 "2026-11-20T10:00:00.123Z"
#define C0_US G_GINT64_CONSTANT (1795168800123000)

typedef enum { PG, BC, CU } Entry;
#define ERR (-1)

typedef struct
{
  const char *name;
  Entry       entry;
  const char *event;        /* broadcast event name */
  const char *json;
  gint        kind;         /* WbEventKind or ERR */
  const char *id;
  const char *status;
  const char *old_status;
  gint64      updated_at_us;
  const char *session_id;
  const char *customer;
  const char *vehicle;
  const char *concern;
  gboolean    urgent;
} Case;

#define PGD(type, table, extra) \
  "{\"schema\":\"public\",\"table\":\"" table "\",\"type\":\"" type "\",\"commit_timestamp\":\"" C0 "\"," \
  "\"columns\":[]," extra "}"
#define REC(status, more) "{\"id\":\"" A1 "\",\"session_id\":\"" S1 "\",\"status\":\"" status "\",\"updated_at\":\"" T0 "\"" more "}"

static const Case cases[] = {
  /* postgres_changes */
  { "insert-queued", PG, NULL, PGD ("INSERT", "session_assignments", "\"record\":" REC ("queued", ",\"metadata\":{\"urgent\":true}") ",\"errors\":null"),
    WB_EVENT_QUEUED, A1, "queued", NULL, T0_US, S1, NULL, NULL, NULL, TRUE },
  { "insert-lowercase-type", PG, NULL, PGD ("insert", "session_assignments", "\"record\":" REC ("queued", "") ",\"errors\":null"),
    WB_EVENT_QUEUED, A1, "queued", NULL, T0_US, S1 },
  { "insert-mixed-case-status", PG, NULL, PGD ("Insert", "session_assignments", "\"record\":" REC ("QUEUED", "")),
    WB_EVENT_QUEUED, A1, "queued", NULL, T0_US, S1 },
  { "insert-pending-waiver", PG, NULL, PGD ("INSERT", "session_assignments", "\"record\":" REC ("pending_waiver", "")),
    WB_EVENT_OTHER, A1, "pending_waiver", NULL, T0_US, S1 },
  { "insert-upper-uuid", PG, NULL, PGD ("INSERT", "session_assignments", "\"record\":{\"id\":\"" A1_UPPER "\",\"status\":\"queued\"}"),
    WB_EVENT_QUEUED, A1, "queued", NULL, 0, NULL },
  { "update-offered-to-queued", PG, NULL, PGD ("UPDATE", "session_assignments", "\"record\":" REC ("queued", "") ",\"old_record\":" REC ("declined", "")),
    WB_EVENT_QUEUED, A1, "queued", "declined", T0_US, S1 },
  { "update-queued-to-queued", PG, NULL, PGD ("UPDATE", "session_assignments", "\"record\":" REC ("queued", "") ",\"old_record\":" REC ("queued", "")),
    WB_EVENT_OTHER, A1, "queued", "queued", T0_US, S1 },
  { "update-old-key-only", PG, NULL, PGD ("update", "session_assignments", "\"record\":" REC ("queued", "") ",\"old_record\":{\"id\":\"" A1 "\"}"),
    WB_EVENT_QUEUED, A1, "queued", NULL, T0_US, S1 },
  { "update-accepted", PG, NULL, PGD ("UPDATE", "session_assignments", "\"record\":" REC ("accepted", "") ",\"old_record\":" REC ("queued", "")),
    WB_EVENT_LEFT_QUEUE, A1, "accepted", "queued", T0_US, S1 },
  { "update-expired-old-unknown", PG, NULL, PGD ("UPDATE", "session_assignments", "\"record\":" REC ("expired", "")),
    WB_EVENT_LEFT_QUEUE, A1, "expired", NULL, T0_US, S1 },
  { "delete-id-only", PG, NULL, PGD ("DELETE", "session_assignments", "\"old_record\":{\"id\":\"" A1 "\"},\"errors\":null"),
    WB_EVENT_LEFT_QUEUE, A1, NULL, NULL, C0_US, NULL },
  { "delete-lowercase-full", PG, NULL, PGD ("delete", "session_assignments", "\"old_record\":" REC ("queued", "")),
    WB_EVENT_LEFT_QUEUE, A1, NULL, "queued", T0_US, S1 },
  { "delete-no-id", PG, NULL, PGD ("DELETE", "session_assignments", "\"old_record\":{}"),
    WB_EVENT_NEEDS_CATCHUP },
  { "other-table", PG, NULL, PGD ("INSERT", "sessions", "\"record\":" REC ("queued", "")),
    WB_EVENT_OTHER },
  { "feature-flags", PG, NULL, PGD ("UPDATE", "feature_flags", "\"record\":{\"key\":\"mech_audio_alerts\",\"enabled\":false}"),
    WB_EVENT_OTHER },
  { "error-401", PG, NULL, "{\"schema\":\"public\",\"table\":\"session_assignments\",\"type\":\"INSERT\",\"commit_timestamp\":null,"
    "\"columns\":[],\"record\":{},\"errors\":[\"Error 401: Unauthorized\"]}", WB_EVENT_NEEDS_CATCHUP },
  { "error-413-short-values-kept", PG, NULL, PGD ("INSERT", "session_assignments", "\"record\":" REC ("queued", "") ",\"errors\":[\"Error 413: Payload Too Large\"]"),
    WB_EVENT_QUEUED, A1, "queued", NULL, T0_US, S1 },
  { "error-413-no-status", PG, NULL, PGD ("UPDATE", "session_assignments", "\"record\":{\"id\":\"" A1 "\"},\"errors\":[\"Error 413: Payload Too Large\"]"),
    WB_EVENT_NEEDS_CATCHUP, A1 },
  { "unknown-type", PG, NULL, PGD ("TRUNCATE", "session_assignments", "\"record\":" REC ("queued", "")), WB_EVENT_NEEDS_CATCHUP, A1, "queued", NULL, T0_US, S1 },
  { "record-not-object", PG, NULL, PGD ("INSERT", "session_assignments", "\"record\":[1,2]"), WB_EVENT_NEEDS_CATCHUP },
  { "id-number", PG, NULL, PGD ("INSERT", "session_assignments", "\"record\":{\"id\":42,\"status\":\"queued\"}"), WB_EVENT_NEEDS_CATCHUP, NULL, "queued" },
  { "id-undefined", PG, NULL, PGD ("INSERT", "session_assignments", "\"record\":{\"id\":\"undefined\",\"status\":\"queued\"}"), WB_EVENT_NEEDS_CATCHUP, NULL, "queued" },
  { "bad-updated-at", PG, NULL, PGD ("INSERT", "session_assignments", "\"record\":{\"id\":\"" A1 "\",\"status\":\"queued\",\"updated_at\":\"yesterday\",\"metadata\":\"x\"}"),
    WB_EVENT_QUEUED, A1, "queued", NULL, 0 },
  { "status-not-string", PG, NULL, PGD ("INSERT", "session_assignments", "\"record\":{\"id\":\"" A1 "\",\"status\":7}"), WB_EVENT_NEEDS_CATCHUP, A1 },
  { "no-type", PG, NULL, "{\"table\":\"session_assignments\",\"record\":{}}", ERR },
  { "no-table", PG, NULL, "{\"type\":\"INSERT\"}", ERR },
  { "type-not-string", PG, NULL, "{\"type\":1,\"table\":\"session_assignments\"}", ERR },
  { "js-shape", PG, NULL, "{\"schema\":\"public\",\"table\":\"session_assignments\",\"eventType\":\"INSERT\",\"new\":" REC ("queued", "") ",\"old\":{}}",
    WB_EVENT_QUEUED, A1, "queued", NULL, T0_US, S1 },

  /* broadcasts */
  { "new-assignment", BC, "new_assignment", "{\"assignmentId\":\"" A1 "\",\"sessionId\":\"" S1 "\",\"customerName\":\"<b>Ann</b> & Co\","
    "\"vehicleSummary\":\"2014 Honda Civic\",\"concern\":\"Brakes squeal\",\"urgent\":true}",
    WB_EVENT_QUEUED, A1, "queued", NULL, 0, S1, "<b>Ann</b> & Co", "2014 Honda Civic", "Brakes squeal", TRUE },
  { "new-assignment-upper-event", BC, "NEW_ASSIGNMENT", "{\"assignmentId\":\"" A1_UPPER "\"}", WB_EVENT_QUEUED, A1, "queued" },
  { "legacy-new-request", BC, "new_request", "{\"requestId\":\"" A1 "\",\"customerName\":\"Bob\",\"vehicle\":\"VW Golf\",\"concern\":\"Noise\"}",
    WB_EVENT_QUEUED, A1, "queued", NULL, 0, NULL, "Bob", "VW Golf", "Noise" },
  { "legacy-nested-id", BC, "New_Request", "{\"request\":{\"id\":\"" A1 "\",\"customerName\":\"Cy\",\"vehicle\":{\"year\":2019,\"make\":\"Ford\",\"model\":\"Focus\"}}}",
    WB_EVENT_QUEUED, A1, "queued", NULL, 0, NULL, "Cy", "2019 Ford Focus" },
  { "legacy-nested-requestid", BC, "new_request", "{\"request\":{\"requestId\":\"" A1 "\",\"concern\":\"Oil\"}}",
    WB_EVENT_QUEUED, A1, "queued", NULL, 0, NULL, NULL, NULL, "Oil" },
  { "legacy-nested-assignmentid", BC, "new_request", "{\"request\":{\"assignmentId\":\"" A1 "\"}}", WB_EVENT_QUEUED, A1, "queued" },
  { "wrapped-payload", BC, "new_assignment", "{\"type\":\"broadcast\",\"event\":\"new_assignment\",\"payload\":{\"assignmentId\":\"" A1 "\"}}",
    WB_EVENT_QUEUED, A1, "queued" },
  { "id-undefined-string", BC, "new_request", "{\"requestId\":\"undefined\",\"customerName\":\"undefined\"}", WB_EVENT_NEEDS_CATCHUP },
  { "id-null-string", BC, "new_assignment", "{\"assignmentId\":\"null\"}", WB_EVENT_NEEDS_CATCHUP },
  { "id-empty", BC, "new_assignment", "{\"assignmentId\":\"\"}", WB_EVENT_NEEDS_CATCHUP },
  { "id-json-null", BC, "new_assignment", "{\"assignmentId\":null}", WB_EVENT_NEEDS_CATCHUP },
  { "id-number", BC, "new_assignment", "{\"assignmentId\":12345}", WB_EVENT_NEEDS_CATCHUP },
  { "id-object", BC, "new_assignment", "{\"assignmentId\":{\"id\":\"" A1 "\"}}", WB_EVENT_NEEDS_CATCHUP },
  { "id-not-uuid", BC, "new_assignment", "{\"assignmentId\":\"43d79db0\"}", WB_EVENT_NEEDS_CATCHUP },
  { "id-missing", BC, "new_assignment", "{\"customerName\":\"Dee\"}", WB_EVENT_NEEDS_CATCHUP },
  { "fallback-to-second-key", BC, "new_request", "{\"assignmentId\":\"undefined\",\"requestId\":\"" A1 "\"}", WB_EVENT_QUEUED, A1, "queued" },
  { "payload-array", BC, "new_assignment", "[1,2,3]", WB_EVENT_NEEDS_CATCHUP },
  { "payload-string", BC, "new_assignment", "\"" A1 "\"", WB_EVENT_NEEDS_CATCHUP },
  { "payload-null", BC, "new_assignment", "null", WB_EVENT_NEEDS_CATCHUP },
  { "hint-types-wrong", BC, "new_assignment", "{\"assignmentId\":\"" A1 "\",\"customerName\":5,\"concern\":[\"x\"],\"urgent\":\"true\"}",
    WB_EVENT_QUEUED, A1, "queued", NULL, 0, NULL, NULL, NULL, NULL, TRUE },
  { "hint-empty-and-undefined", BC, "new_assignment", "{\"assignmentId\":\"" A1 "\",\"customerName\":\"\",\"concern\":\"undefined\",\"urgent\":0}",
    WB_EVENT_QUEUED, A1, "queued" },
  /* a fuzz find: the cleaner strips U+FEFF / U+200B, which must not turn a hint into "undefined" */
  { "hint-undefined-behind-invisible", BC, "new_assignment", "{\"assignmentId\":\"" A1 "\",\"customerName\":\"nul\u200Bl\",\"concern\":\"undefine\xef\xbb\xbf" "d\"}",
    WB_EVENT_QUEUED, A1, "queued" },
  { "other-event", BC, "request_accepted", "{\"requestId\":\"" A1 "\"}", WB_EVENT_OTHER },
  { "cursor-event", BC, "cursor", "{\"x\":1}", WB_EVENT_OTHER },
  { "no-event-name", BC, NULL, "{}", ERR },

  /* catch-up rows */
  { "row-queued", CU, NULL, REC ("queued", ",\"metadata\":{\"urgent\":true}"), WB_EVENT_QUEUED, A1, "queued", NULL, T0_US, S1, NULL, NULL, NULL, TRUE },
  { "row-no-status", CU, NULL, "{\"id\":\"" A1_UPPER "\",\"updated_at\":\"2026-11-20 10:00:00.120431+00\"}", WB_EVENT_QUEUED, A1, "queued", NULL, T0_US },
  { "row-accepted", CU, NULL, REC ("accepted", ""), WB_EVENT_LEFT_QUEUE, A1, "accepted", NULL, T0_US, S1 },
  { "row-no-id", CU, NULL, "{\"status\":\"queued\"}", ERR },
  { "row-id-null", CU, NULL, "{\"id\":null,\"status\":\"queued\"}", ERR },
  { "row-id-object", CU, NULL, "{\"id\":{},\"status\":\"queued\"}", ERR },
};

static WbEvent *
run_case (const Case  *c,
          GError     **error)
{
  g_autoptr(JsonNode) node = json_from_string (c->json, NULL);

  g_assert_nonnull (node);
  switch (c->entry)
    {
    case PG:
      return wb_event_from_postgres_change (JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL,
                                            111, 222, error);
    case BC:
      return wb_event_from_broadcast (c->event, node, 111, 222, error);
    case CU:
      return wb_event_from_catchup_row (JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL,
                                        111, 222, error);
    default:
      g_assert_not_reached ();
    }
}

static void
test_table (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(WbEvent) ev = NULL;
      g_autoptr(WbEvent) copy = NULL;

      g_test_message ("case %s", c->name);
      ev = run_case (c, &error);
      if (c->kind == ERR)
        {
          g_assert_null (ev);
          g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
          continue;
        }
      g_assert_no_error (error);
      g_assert_nonnull (ev);
      g_assert_cmpstr (wb_event_kind_to_string (ev->kind), ==, wb_event_kind_to_string (c->kind));
      g_assert_cmpint (ev->source, ==, c->entry == PG ? WB_EVENT_SOURCE_POSTGRES_CHANGES :
                       c->entry == BC ? WB_EVENT_SOURCE_BROADCAST : WB_EVENT_SOURCE_CATCHUP);
      if (c->kind != WB_EVENT_OTHER)
        {
          g_assert_cmpstr (ev->assignment_id, ==, c->id);
          g_assert_cmpstr (ev->status, ==, c->status);
          g_assert_cmpstr (ev->old_status, ==, c->old_status);
          g_assert_cmpint (ev->updated_at_us, ==, c->updated_at_us);
          g_assert_cmpstr (ev->session_id, ==, c->session_id);
        }
      g_assert_cmpstr (ev->customer, ==, c->customer);
      g_assert_cmpstr (ev->vehicle, ==, c->vehicle);
      g_assert_cmpstr (ev->concern, ==, c->concern);
      g_assert_cmpint (ev->urgent, ==, c->urgent);
      g_assert_cmpint (ev->received_us, ==, 111);
      g_assert_cmpint (ev->received_mono_us, ==, 222);
      if (c->entry == PG && c->kind != WB_EVENT_OTHER && strstr (c->json, "commit_timestamp\":\"") != NULL)
        g_assert_cmpint (ev->commit_ts_us, ==, C0_US);
      /* Never an alert that says "undefined". */
      g_assert_cmpstr (ev->customer, !=, "undefined");
      if (ev->kind == WB_EVENT_QUEUED || ev->kind == WB_EVENT_LEFT_QUEUE)
        g_assert_nonnull (ev->assignment_id);

      copy = wb_event_copy (ev);
      g_assert_cmpstr (copy->assignment_id, ==, ev->assignment_id);
      g_assert_cmpstr (copy->customer, ==, ev->customer);
    }
}

static void
test_null_inputs (void)
{
  g_autoptr(GError) e1 = NULL;
  g_autoptr(GError) e2 = NULL;
  g_autoptr(WbEvent) ev = NULL;

  g_assert_null (wb_event_from_postgres_change (NULL, 0, 0, &e1));
  g_assert_error (e1, WB_ERROR, WB_ERROR_INVALID_DATA);
  g_assert_null (wb_event_from_catchup_row (NULL, 0, 0, &e2));
  g_assert_error (e2, WB_ERROR, WB_ERROR_INVALID_DATA);
  ev = wb_event_from_broadcast ("new_assignment", NULL, 0, 0, NULL);
  g_assert_cmpint (ev->kind, ==, WB_EVENT_NEEDS_CATCHUP);
}

static void
test_timestamps (void)
{
  static const struct { const char *text; gboolean ok; gint64 us; } ts[] = {
    { T0, TRUE, T0_US },
    { C0, TRUE, C0_US },
    { "2026-11-20 10:00:00.12+00", TRUE, G_GINT64_CONSTANT (1795168800120000) },
    { "2026-11-20T10:00:00", TRUE, G_GINT64_CONSTANT (1795168800000000) },
    { "2026-11-20T12:30:00+02:30", TRUE, G_GINT64_CONSTANT (1795168800000000) },
    { "2026-11-20T05:00:00-0500", TRUE, G_GINT64_CONSTANT (1795168800000000) },
    { "2026-11-20t10:00:00.1234567891z", TRUE, G_GINT64_CONSTANT (1795168800123456) },
    { "1970-01-01T00:00:00Z", TRUE, 0 },
    { "1969-12-31T23:59:59Z", TRUE, -G_USEC_PER_SEC },
    { "2024-02-29T00:00:00Z", TRUE, G_GINT64_CONSTANT (1709164800000000) },
    { "2023-02-29T00:00:00Z", FALSE },
    { "2026-13-01T00:00:00Z", FALSE },
    { "2026-11-20T24:00:00Z", FALSE },
    { "2026-11-20T10:00:00.Z", FALSE },
    { "2026-11-20T10:00:00+", FALSE },
    { "2026-11-20T10:00:00 junk", FALSE },
    { "2026-11-20", FALSE },
    { "", FALSE },
    { "yesterday", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (ts); i++)
    {
      gint64 us = 42;

      g_test_message ("timestamp %s", ts[i].text);
      g_assert_cmpint (wb_event_parse_timestamp (ts[i].text, &us), ==, ts[i].ok);
      g_assert_cmpint (us, ==, ts[i].ok ? ts[i].us : 42);
    }
  g_assert_false (wb_event_parse_timestamp (NULL, NULL));
}

static void
test_text_limits (void)
{
  g_autoptr(GString) big = g_string_new (NULL);
  g_autofree char *json = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(WbEvent) ev = NULL;
  g_autofree char *cut = NULL;
  g_autofree char *fixed = NULL;

  /* 3-byte characters so that the cut falls inside one. */
  for (guint i = 0; i < 2000; i++)
    g_string_append (big, "\xe2\x82\xac");
  json = g_strdup_printf ("{\"assignmentId\":\"%s\",\"concern\":\"%s\"}", A1, big->str);
  node = json_from_string (json, NULL);
  ev = wb_event_from_broadcast ("new_assignment", node, 0, 0, NULL);
  g_assert_nonnull (ev->concern);
  g_assert_cmpuint (strlen (ev->concern), <=, WB_EVENT_MAX_TEXT_BYTES);
  g_assert_cmpuint (strlen (ev->concern), ==, 999);
  g_assert_true (g_utf8_validate (ev->concern, -1, NULL));

  /* The cleaning itself is wb-untrusted-text's (tests/unit/test-untrusted-text.c). */
  cut = wb_untrusted_text_clean ("abcdefgh", -1, 6);
  g_assert_cmpstr (cut, ==, "abc\xe2\x80\xa6");
  fixed = wb_untrusted_text_clean ("ok\xff\xfe""done", -1, 100);
  g_assert_true (g_utf8_validate (fixed, -1, NULL));
  g_assert_true (g_str_has_prefix (fixed, "ok"));
  g_assert_true (g_str_has_suffix (fixed, "done"));
  g_assert_null (wb_untrusted_text_clean ("", -1, 100));
  g_clear_pointer (&node, json_node_unref);
  g_clear_pointer (&ev, wb_event_free);
  node = json_from_string ("{\"assignmentId\":\"" A1 "\",\"customerName\":\"undefined\","
                           "\"vehicle\":{\"make\":\"null\"},\"concern\":\"\"}", NULL);
  ev = wb_event_from_broadcast ("new_assignment", node, 0, 0, NULL);
  g_assert_null (ev->customer);
  g_assert_null (ev->vehicle);
  g_assert_null (ev->concern);

  g_assert_true (wb_event_id_looks_like_uuid (A1));
  g_assert_true (wb_event_id_looks_like_uuid (A1_UPPER));
  g_assert_false (wb_event_id_looks_like_uuid ("0b9e8a5c-1f2d-4c3b-9a8e-7d6c5b4a3f2g"));
  g_assert_false (wb_event_id_looks_like_uuid ("0b9e8a5c1f2d-4c3b-9a8e-7d6c5b4a3f21-"));
  g_assert_false (wb_event_id_looks_like_uuid ("undefined"));
}

/* Broadcast from Database: realtime.broadcast_changes() payloads, read as rows of the table. */
static JsonNode *
parse (const char *json)
{
  JsonNode *node = wb_json_parse (json, strlen (json), 16, NULL);

  g_assert_nonnull (node);
  return node;
}

#define ROW(status) "{\"id\":\"" A1_UPPER "\",\"session_id\":\"" S1 "\",\"status\":\"" status "\"," \
  "\"mechanic_id\":null,\"updated_at\":\"" T0 "\",\"offered_at\":\"" T0 "\",\"metadata\":{\"urgent\":true}}"
#define DBB(op, rec, old) "{\"id\":\"7f9c1d2e-0000-4000-8000-000000000001\",\"record\":" rec \
  ",\"old_record\":" old ",\"operation\":\"" op "\",\"table\":\"session_assignments\",\"schema\":\"public\"}"

static void
test_db_broadcast (void)
{
  static const struct { const char *event; const char *json; WbEventKind kind; const char *status; } db_cases[] = {
    { "INSERT", DBB ("INSERT", ROW ("queued"), "null"), WB_EVENT_QUEUED, "queued" },
    { "UPDATE", DBB ("UPDATE", ROW ("accepted"), ROW ("queued")), WB_EVENT_LEFT_QUEUE, "accepted" },
    { "UPDATE", DBB ("UPDATE", ROW ("queued"), ROW ("declined")), WB_EVENT_QUEUED, "queued" },
    { "UPDATE", DBB ("UPDATE", ROW ("queued"), ROW ("queued")), WB_EVENT_OTHER, "queued" },
    { "DELETE", DBB ("DELETE", "null", ROW ("queued")), WB_EVENT_LEFT_QUEUE, NULL },
    { "INSERT", DBB ("INSERT", ROW ("accepted"), "null"), WB_EVENT_OTHER, "accepted" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (db_cases); i++)
    {
      g_autoptr(JsonNode) node = parse (db_cases[i].json);
      g_autoptr(WbEvent) ev = wb_event_from_db_broadcast (db_cases[i].event, node, 5, 6, NULL);
      gint64 stamp = 0;

      g_test_message ("case %u", i);
      g_assert_nonnull (ev);
      g_assert_cmpint (ev->source, ==, WB_EVENT_SOURCE_DB_BROADCAST);
      g_assert_cmpint (ev->kind, ==, db_cases[i].kind);
      /* The row's id (folded), never the message id. */
      g_assert_cmpstr (ev->assignment_id, ==, A1);
      g_assert_cmpstr (ev->session_id, ==, S1);
      g_assert_cmpstr (ev->status, ==, db_cases[i].status);
      g_assert_cmpint (ev->updated_at_us, ==, T0_US);
      g_assert_cmpint (ev->commit_ts_us, ==, 0);
      g_assert_true (ev->urgent);
      g_assert_null (ev->customer);
      g_assert_true (wb_event_db_broadcast_stamp (node, &stamp));
      g_assert_cmpint (stamp, ==, T0_US);
      g_assert_cmpstr (wb_event_source_to_string (ev->source), ==, "db_broadcast");
    }

  /* Another table, an operation the event does not name, another shape, nothing: not ours. */
  {
    static const struct { const char *event; const char *json; } other[] = {
      { "INSERT", "{\"record\":" ROW ("queued") ",\"old_record\":null,\"operation\":\"INSERT\",\"table\":\"sessions\",\"schema\":\"public\"}" },
      { "INSERT", "{\"record\":" ROW ("queued") ",\"old_record\":null,\"operation\":\"INSERT\",\"table\":\"session_assignments\",\"schema\":\"private\"}" },
      { "UPDATE", DBB ("INSERT", ROW ("queued"), "null") },
      { "INSERT", "{\"record\":" ROW ("queued") "}" },
      { "INSERT", "[1,2]" },
      { "INSERT", "null" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (other); i++)
      {
        g_autoptr(JsonNode) node = parse (other[i].json);
        g_autoptr(WbEvent) ev = wb_event_from_db_broadcast (other[i].event, node, 0, 0, NULL);

        g_test_message ("other %u", i);
        g_assert_nonnull (ev);
        g_assert_cmpint (ev->kind, ==, WB_EVENT_OTHER);
      }
  }

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = parse (DBB ("DELETE", "null", "{\"id\":\"" A1 "\"}"));
    g_autoptr(WbEvent) ev = wb_event_from_db_broadcast ("DELETE", node, 0, 0, NULL);
    gint64 stamp = 0;

    /* A delete carrying the key alone still ends the episode; it has no time to replay from. */
    g_assert_cmpint (ev->kind, ==, WB_EVENT_LEFT_QUEUE);
    g_assert_false (wb_event_db_broadcast_stamp (node, &stamp));
    g_assert_null (wb_event_from_db_broadcast (NULL, node, 0, 0, &error));
    g_assert_error (error, WB_ERROR, WB_ERROR_INVALID_DATA);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wb/event-normaliser/table", test_table);
  g_test_add_func ("/wb/event-normaliser/db-broadcast", test_db_broadcast);
  g_test_add_func ("/wb/event-normaliser/null-inputs", test_null_inputs);
  g_test_add_func ("/wb/event-normaliser/timestamps", test_timestamps);
  g_test_add_func ("/wb/event-normaliser/text-limits", test_text_limits);
  return g_test_run ();
}
