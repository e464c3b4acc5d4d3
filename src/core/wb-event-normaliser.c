/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-event-normaliser.c: pure functions turning what the backend sends into WbEvents. */

#define G_LOG_DOMAIN "wb-event-normaliser"

#include "config.h"

#include <string.h>

#include "wb-error.h"
#include "wb-event-normaliser.h"
#include "wb-json.h"
#include "wb-untrusted-text.h"

#define MAX_ID_BYTES 128

G_STATIC_ASSERT (WB_UNTRUSTED_NAME_MAX_BYTES <= WB_EVENT_MAX_TEXT_BYTES);
G_STATIC_ASSERT (WB_UNTRUSTED_VEHICLE_MAX_BYTES <= WB_EVENT_MAX_TEXT_BYTES);
G_STATIC_ASSERT (WB_UNTRUSTED_CONCERN_MAX_BYTES <= WB_EVENT_MAX_TEXT_BYTES);

/* What a broadcast means by "urgent": true, a non-zero number or the text "true". */
static gboolean
get_truthy (JsonObject *obj,
            const char *name)
{
  gboolean b;
  gint64 i;
  const char *s;

  if (wb_json_get_bool (obj, name, &b))
    return b;
  if (wb_json_get_int (obj, name, &i))
    return i != 0;
  s = wb_json_get_string (obj, name);
  return s != NULL && g_ascii_strcasecmp (s, "true") == 0;
}

/* ---- ids and text ---- */

gboolean
wb_event_id_looks_like_uuid (const char *text)
{
  if (text == NULL || strlen (text) != 36)
    return FALSE;
  for (guint i = 0; i < 36; i++)
    {
      if (i == 8 || i == 13 || i == 18 || i == 23)
        {
          if (text[i] != '-')
            return FALSE;
        }
      else if (!g_ascii_isxdigit (text[i]))
        return FALSE;
    }
  return TRUE;
}

/* An id usable as a dedupe key, or NULL. UUIDs are folded to lower case so that every source
 * agrees on the key. Broadcasts must carry a UUID; database rows may carry any sane text. */
static char *
normalise_id (const char *text,
              gboolean    uuid_only)
{
  if (text == NULL)
    return NULL;
  if (wb_event_id_looks_like_uuid (text))
    return g_ascii_strdown (text, -1);
  if (uuid_only)
    return NULL;
  if (*text == '\0' || strlen (text) > MAX_ID_BYTES || !g_utf8_validate (text, -1, NULL) ||
      g_ascii_strcasecmp (text, "undefined") == 0 || g_ascii_strcasecmp (text, "null") == 0)
    return NULL;
  for (const char *p = text; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return NULL;
  return g_strdup (text);
}

/* A hint a customer typed, cleaned at the door (wb-untrusted-text.h). The JavaScript leftovers
 * "undefined" / "null" of old dashboards count as absent, judged after cleaning: an invisible
 * character the cleaner strips ("undefine\u200Bd") must not bring one back. */
static char *
hint_text (const char       *text,
           WbUntrustedField  field)
{
  g_autofree char *clean = wb_untrusted_text_clean_field (text, field);

  if (g_strcmp0 (clean, "undefined") == 0 || g_strcmp0 (clean, "null") == 0)
    return NULL;
  return g_steal_pointer (&clean);
}

char *
wb_event_one_line (const char *text,
                   guint       max_chars)
{
  g_autofree char *valid = NULL;
  GString *out;
  guint n = 0;

  if (text == NULL)
    return NULL;
  valid = g_utf8_make_valid (text, -1);
  out = g_string_new (NULL);
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);

      if (n + 1 >= max_chars && *g_utf8_next_char (p) != '\0')
        {
          g_string_append_unichar (out, 0x2026);   /* … */
          break;
        }
      if (wb_untrusted_text_is_unprintable (c) || c == 0x2028 || c == 0x2029)
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

static char *
get_text (JsonObject       *obj,
          const char       *name,
          WbUntrustedField  field)
{
  return hint_text (wb_json_get_string (obj, name), field);
}

static char *
get_lower (JsonObject *obj,
           const char *name)
{
  const char *s = wb_json_get_string (obj, name);

  if (s == NULL || *s == '\0' || strlen (s) > 64 || !g_utf8_validate (s, -1, NULL))
    return NULL;
  return g_ascii_strdown (s, -1);
}

static gboolean
is_queued (const char *status)
{
  return g_strcmp0 (status, "queued") == 0;
}

static WbEvent *
event_new (WbEventKind   kind,
           WbEventSource source,
           gint64        received_us,
           gint64        received_mono_us)
{
  WbEvent *ev = wb_event_new (kind, source);

  ev->received_us = received_us;
  ev->received_mono_us = received_mono_us;
  return ev;
}

static gboolean
metadata_urgent (JsonObject *row)
{
  return get_truthy (wb_json_get_object (row, "metadata"), "urgent");
}

/* ---- postgres_changes ---- */

static WbEvent *row_change (WbEvent    *ev,
                            JsonObject *data,
                            const char *type,
                            const char *table);

static gboolean
has_errors (JsonObject *data)
{
  JsonNode *node = json_object_get_member (data, "errors");

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return FALSE;
  if (JSON_NODE_HOLDS_ARRAY (node))
    return json_array_get_length (json_node_get_array (node)) > 0;
  return TRUE;
}

WbEvent *
wb_event_from_postgres_change (JsonObject  *data,
                               gint64       received_us,
                               gint64       received_mono_us,
                               GError     **error)
{
  g_autoptr(WbEvent) ev = NULL;
  const char *type, *table;

  if (data == NULL)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA, "postgres_changes without data");
      return NULL;
    }

  type = wb_json_get_string (data, "type");
  if (type == NULL)
    type = wb_json_get_string (data, "eventType");
  table = wb_json_get_string (data, "table");
  if (type == NULL || table == NULL)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "postgres_changes data without type or table");
      return NULL;
    }

  ev = event_new (WB_EVENT_OTHER, WB_EVENT_SOURCE_POSTGRES_CHANGES, received_us, received_mono_us);
  wb_json_get_timestamp (data, "commit_timestamp", &ev->commit_ts_us);
  return row_change (g_steal_pointer (&ev), data, type, table);
}

/* The part postgres_changes and Broadcast from Database share: both carry `record` and
 * `old_record` (full rows, or the key only for RLS-hidden deletes) with table and schema. */
static WbEvent *
row_change (WbEvent    *ev_in,
            JsonObject *data,
            const char *type,
            const char *table)
{
  g_autoptr(WbEvent) ev = ev_in;
  const char *schema;
  JsonObject *record, *old_record, *row;
  gboolean is_insert, is_update, is_delete;

  schema = wb_json_get_string (data, "schema");
  if (strcmp (table, WB_EVENT_TABLE) != 0 || (schema != NULL && strcmp (schema, "public") != 0))
    return g_steal_pointer (&ev);

  record = wb_json_get_object (data, "record");
  if (record == NULL)
    record = wb_json_get_object (data, "new");
  old_record = wb_json_get_object (data, "old_record");
  if (old_record == NULL)
    old_record = wb_json_get_object (data, "old");

  is_insert = g_ascii_strcasecmp (type, "INSERT") == 0;
  is_update = g_ascii_strcasecmp (type, "UPDATE") == 0;
  is_delete = g_ascii_strcasecmp (type, "DELETE") == 0;
  row = is_delete ? old_record : record;

  ev->assignment_id = normalise_id (wb_json_get_string (row, "id"), FALSE);
  if (ev->assignment_id == NULL && is_update)
    ev->assignment_id = normalise_id (wb_json_get_string (old_record, "id"), FALSE);
  ev->session_id = normalise_id (wb_json_get_string (row, "session_id"), FALSE);
  wb_json_get_timestamp (row, "updated_at", &ev->updated_at_us);
  wb_json_get_timestamp (row, "offered_at", &ev->queued_at_us);
  ev->urgent = metadata_urgent (row);
  ev->old_status = get_lower (old_record, "status");
  if (!is_delete)
    ev->status = get_lower (record, "status");
  ev->mechanic_id = normalise_id (wb_json_get_string (row, "mechanic_id"), TRUE);

  if (ev->assignment_id == NULL || !(is_insert || is_update || is_delete))
    {
      /* Error rows (401, 400: empty record), unknown types, unusable ids: ask the database. */
      g_debug ("unusable %s change on %s%s: catch-up", type, table,
               has_errors (data) ? " (server reported errors)" : "");
      ev->kind = WB_EVENT_NEEDS_CATCHUP;
      return g_steal_pointer (&ev);
    }

  if (is_delete)
    {
      /* Deletes carry only the key with RLS on; the commit time still orders them after any
       * version of the row, since updated_at is set inside an earlier transaction. */
      ev->kind = WB_EVENT_LEFT_QUEUE;
      if (ev->updated_at_us == 0)
        ev->updated_at_us = ev->commit_ts_us;
      return g_steal_pointer (&ev);
    }

  if (ev->status == NULL)
    {
      /* 413 rows keep short values only, so this is rare: the id is kept for the pipeline. */
      ev->kind = WB_EVENT_NEEDS_CATCHUP;
    }
  else if (!is_queued (ev->status))
    ev->kind = is_update ? WB_EVENT_LEFT_QUEUE : WB_EVENT_OTHER;
  else if (is_update && is_queued (ev->old_status))
    ev->kind = WB_EVENT_OTHER;   /* queued → queued: metadata only; updated_at still orders */
  else
    ev->kind = WB_EVENT_QUEUED;  /* INSERT, or UPDATE from another (or unknown) status */

  return g_steal_pointer (&ev);
}

/* ---- Broadcast from Database (the private channel) ---- */

WbEvent *
wb_event_from_db_broadcast (const char  *event,
                            JsonNode    *payload,
                            gint64       received_us,
                            gint64       received_mono_us,
                            GError     **error)
{
  g_autoptr(WbEvent) ev = NULL;
  JsonObject *obj;
  const char *operation, *table;

  if (event == NULL)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA, "broadcast without event name");
      return NULL;
    }
  obj = payload != NULL && JSON_NODE_HOLDS_OBJECT (payload) ? json_node_get_object (payload) : NULL;
  /* realtime.broadcast_changes() names the operation twice (event and payload): they agree. */
  operation = wb_json_get_string (obj, "operation");
  table = wb_json_get_string (obj, "table");
  if (operation == NULL || table == NULL || g_ascii_strcasecmp (operation, event) != 0)
    {
      /* Something else sent on the topic (realtime.send of another shape): not ours to read. */
      ev = event_new (WB_EVENT_OTHER, WB_EVENT_SOURCE_DB_BROADCAST, received_us, received_mono_us);
      return g_steal_pointer (&ev);
    }
  ev = event_new (WB_EVENT_OTHER, WB_EVENT_SOURCE_DB_BROADCAST, received_us, received_mono_us);
  ev = row_change (g_steal_pointer (&ev), obj, operation, table);
  /* No commit timestamp on this path: the row's own updated_at orders (and dates a delete). */
  return g_steal_pointer (&ev);
}

gboolean
wb_event_db_broadcast_stamp (JsonNode *payload,
                             gint64   *out_us)
{
  JsonObject *obj = payload != NULL && JSON_NODE_HOLDS_OBJECT (payload) ? json_node_get_object (payload) : NULL;
  JsonObject *row = wb_json_get_object (obj, "record");

  if (row == NULL)
    row = wb_json_get_object (obj, "old_record");
  return wb_json_get_timestamp (row, "updated_at", out_us) && *out_us > 0;
}

/* ---- broadcasts ---- */

static const char * const top_id_keys[] = {
  "assignmentId", "assignment_id", "requestId", "request_id",
};
static const char * const nested_id_keys[] = {
  "assignmentId", "assignment_id", "requestId", "request_id", "id",
};

static char *
find_id (JsonObject         *obj,
         const char * const *keys,
         guint               n_keys)
{
  for (guint i = 0; i < n_keys; i++)
    {
      char *id = normalise_id (wb_json_get_string (obj, keys[i]), TRUE);

      if (id != NULL)
        return id;
    }
  return NULL;
}

static char *
vehicle_text (JsonObject *obj)
{
  JsonObject *v;
  g_autoptr(GString) s = NULL;
  static const char * const parts[] = { "year", "make", "model" };

  if (wb_json_get_string (obj, "vehicleSummary") != NULL)
    return get_text (obj, "vehicleSummary", WB_UNTRUSTED_FIELD_VEHICLE);
  if (wb_json_get_string (obj, "vehicle_summary") != NULL)
    return get_text (obj, "vehicle_summary", WB_UNTRUSTED_FIELD_VEHICLE);
  if (wb_json_get_string (obj, "vehicle") != NULL)
    return get_text (obj, "vehicle", WB_UNTRUSTED_FIELD_VEHICLE);

  v = wb_json_get_object (obj, "vehicle");
  if (v == NULL)
    return NULL;
  s = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      const char *text = wb_json_get_string (v, parts[i]);
      gint64 n;

      if (text != NULL)
        g_string_append_printf (s, "%s%s", s->len ? " " : "", text);
      else if (wb_json_get_int (v, parts[i], &n))
        g_string_append_printf (s, "%s%" G_GINT64_FORMAT, s->len ? " " : "", n);
    }
  return hint_text (s->str, WB_UNTRUSTED_FIELD_VEHICLE);
}

WbEvent *
wb_event_from_broadcast (const char  *event,
                         JsonNode    *payload,
                         gint64       received_us,
                         gint64       received_mono_us,
                         GError     **error)
{
  g_autoptr(WbEvent) ev = NULL;
  JsonObject *obj = NULL, *request, *hints;

  if (event == NULL)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA, "broadcast without event name");
      return NULL;
    }

  ev = event_new (WB_EVENT_OTHER, WB_EVENT_SOURCE_BROADCAST, received_us, received_mono_us);
  if (g_ascii_strcasecmp (event, "new_assignment") != 0 &&
      g_ascii_strcasecmp (event, "new_request") != 0)
    return g_steal_pointer (&ev);

  ev->kind = WB_EVENT_NEEDS_CATCHUP;
  if (payload != NULL && JSON_NODE_HOLDS_OBJECT (payload))
    obj = json_node_get_object (payload);
  if (obj == NULL)
    return g_steal_pointer (&ev);

  /* A payload forwarded still wrapped as {type, event, payload}: look inside once. */
  if (wb_json_get_object (obj, "payload") != NULL && wb_json_get_string (obj, "assignmentId") == NULL &&
      wb_json_get_string (obj, "requestId") == NULL && wb_json_get_object (obj, "request") == NULL)
    obj = wb_json_get_object (obj, "payload");

  hints = obj;
  ev->assignment_id = find_id (obj, top_id_keys, G_N_ELEMENTS (top_id_keys));
  request = wb_json_get_object (obj, "request");
  if (ev->assignment_id == NULL && request != NULL)
    {
      ev->assignment_id = find_id (request, nested_id_keys, G_N_ELEMENTS (nested_id_keys));
      hints = request;
    }

  if (ev->assignment_id == NULL)
    {
      g_debug ("%s broadcast without a usable assignment id: catch-up", event);
      return g_steal_pointer (&ev);
    }

  ev->kind = WB_EVENT_QUEUED;
  ev->status = g_strdup ("queued");
  ev->session_id = normalise_id (wb_json_get_string (hints, "sessionId"), FALSE);
  if (ev->session_id == NULL)
    ev->session_id = normalise_id (wb_json_get_string (hints, "session_id"), FALSE);
  ev->customer = get_text (hints, "customerName", WB_UNTRUSTED_FIELD_NAME);
  if (ev->customer == NULL)
    ev->customer = get_text (hints, "customer_name", WB_UNTRUSTED_FIELD_NAME);
  ev->vehicle = vehicle_text (hints);
  ev->concern = get_text (hints, "concern", WB_UNTRUSTED_FIELD_CONCERN);
  ev->urgent = get_truthy (hints, "urgent");
  return g_steal_pointer (&ev);
}

/* ---- catch-up rows ---- */

WbEvent *
wb_event_from_catchup_row (JsonObject  *row,
                           gint64       received_us,
                           gint64       received_mono_us,
                           GError     **error)
{
  g_autoptr(WbEvent) ev = NULL;
  g_autofree char *id = NULL;

  id = normalise_id (wb_json_get_string (row, "id"), FALSE);
  if (id == NULL)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "catch-up row without a usable id");
      return NULL;
    }

  ev = event_new (WB_EVENT_QUEUED, WB_EVENT_SOURCE_CATCHUP, received_us, received_mono_us);
  ev->assignment_id = g_steal_pointer (&id);
  ev->session_id = normalise_id (wb_json_get_string (row, "session_id"), FALSE);
  ev->status = get_lower (row, "status");
  ev->mechanic_id = normalise_id (wb_json_get_string (row, "mechanic_id"), TRUE);
  wb_json_get_timestamp (row, "updated_at", &ev->updated_at_us);
  wb_json_get_timestamp (row, "offered_at", &ev->queued_at_us);
  ev->urgent = metadata_urgent (row);

  /* The query asks for queued rows; a row without the column is taken at its word. */
  if (ev->status == NULL)
    ev->status = g_strdup ("queued");
  else if (!is_queued (ev->status))
    ev->kind = WB_EVENT_LEFT_QUEUE;

  return g_steal_pointer (&ev);
}
