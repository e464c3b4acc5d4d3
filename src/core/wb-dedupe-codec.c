/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dedupe-codec.c: the dedupe set's text formats, pure and safe in any thread. */
#define G_LOG_DOMAIN "wb-dedupe-set"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "wb-dedupe-codec-private.h"
#include "wb-error.h"
#include "wb-json.h"

#define FORMAT_VERSION 1
#define MAX_ID_BYTES   128
#define MAX_FILE_DEPTH 16   /* {"assignments":{id:{…}}} nests 3 levels */
#define MAX_LINE_DEPTH 8    /* {"id":…,"record":{…}} nests 2 levels */

GHashTable *
_wb_dedupe_records_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/* ---- one record ---- */

/* One persisted integer: absent is 0 (and fine unless @required), anything but an integer in
 * 0…@max is wrong. */
static gboolean
read_int (JsonObject *obj,
          const char *name,
          gboolean    required,
          gint64      max,
          gint64     *out)
{
  *out = 0;
  if (!json_object_has_member (obj, name))
    return !required;
  return wb_json_get_int (obj, name, out) && *out >= 0 && *out <= max;
}

gboolean
_wb_dedupe_record_parse (JsonNode       *node,
                         gint64          now_us,
                         WbDedupeRecord *r)
{
  JsonObject *obj;
  gint64 episode;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  obj = json_node_get_object (node);
  if (!wb_json_get_bool (obj, "open", &r->open))
    return FALSE;
  /* Absent in older files: count the episode as rung (never ring twice for a format change). */
  r->rung = TRUE;
  if (json_object_has_member (obj, "rung") && !wb_json_get_bool (obj, "rung", &r->rung))
    return FALSE;
  if (!read_int (obj, "episode", TRUE, G_MAXINT32, &episode) ||
      !read_int (obj, "last_updated_at_us", FALSE, G_MAXINT64, &r->last_updated_at_us) ||
      !read_int (obj, "touched_wall_us", FALSE, G_MAXINT64, &r->touched_wall_us) ||
      !read_int (obj, "opened_wall_us", FALSE, G_MAXINT64, &r->opened_wall_us) ||
      !read_int (obj, "queued_at_us", FALSE, G_MAXINT64, &r->queued_at_us))
    return FALSE;
  r->episode = (guint) episode;
  if (r->open && r->episode == 0)
    return FALSE;
  /* A clock that ran ahead must not pin a record forever. */
  r->touched_wall_us = MIN (r->touched_wall_us, now_us);
  r->opened_wall_us = MIN (r->opened_wall_us, now_us);
  return TRUE;
}

void
_wb_dedupe_record_append (GString              *s,
                          const WbDedupeRecord *r)
{
  g_string_append_printf (s, "{\"episode\":%u,\"open\":%s,"
                          "\"last_updated_at_us\":%" G_GINT64_FORMAT
                          ",\"touched_wall_us\":%" G_GINT64_FORMAT
                          ",\"opened_wall_us\":%" G_GINT64_FORMAT
                          ",\"queued_at_us\":%" G_GINT64_FORMAT ",\"rung\":%s}",
                          r->episode, r->open ? "true" : "false", r->last_updated_at_us,
                          r->touched_wall_us, r->opened_wall_us, r->queued_at_us,
                          r->rung ? "true" : "false");
}

/* ---- the snapshot ---- */

static gint
compare_ids (gconstpointer a,
             gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

char *
_wb_dedupe_snapshot_serialize (GHashTable *records,
                               gint64      covered_gen,
                               gsize      *len)
{
  g_autoptr(GString) s = g_string_sized_new (64 + 160 * g_hash_table_size (records));
  g_autofree gpointer *keys = NULL;
  guint n = 0;

  /* Sorted, so that the same content always gives the same file. */
  keys = g_hash_table_get_keys_as_array (records, &n);
  qsort (keys, n, sizeof (gpointer), compare_ids);

  g_string_append_printf (s, "{\"version\":%d,\"journal_gen\":%" G_GINT64_FORMAT ",\"assignments\":{",
                          FORMAT_VERSION, covered_gen);
  for (guint i = 0; i < n; i++)
    {
      const WbDedupeRecord *r = g_hash_table_lookup (records, keys[i]);

      if (i > 0)
        g_string_append_c (s, ',');
      g_string_append (s, "\n");
      wb_json_append_string (s, keys[i]);
      g_string_append_c (s, ':');
      _wb_dedupe_record_append (s, r);
    }
  g_string_append (s, "\n}}\n");

  if (len != NULL)
    *len = s->len;
  return g_string_free (g_steal_pointer (&s), FALSE);
}

gboolean
_wb_dedupe_snapshot_parse (const char  *data,
                           gsize        len,
                           gint64       now_us,
                           GHashTable **records_out,
                           gint64      *covered_out,
                           GError     **error)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GHashTable) records = NULL;
  g_autoptr(GList) members = NULL;
  JsonObject *root, *assignments;
  gint64 version, covered = -1;

  if (len > WB_DEDUPE_MAX_FILE_BYTES)
    goto invalid;
  node = wb_json_parse (data, len, MAX_FILE_DEPTH, error);
  if (node == NULL)
    {
      g_prefix_error (error, "not a dedupe set: ");
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    goto invalid;
  root = json_node_get_object (node);
  if (!wb_json_get_int (root, "version", &version) || version != FORMAT_VERSION)
    goto invalid;
  if (json_object_has_member (root, "journal_gen")
      && (!wb_json_get_int (root, "journal_gen", &covered) || covered < -1))
    goto invalid;
  assignments = wb_json_get_object (root, "assignments");
  if (assignments == NULL)
    goto invalid;

  records = _wb_dedupe_records_new ();
  members = json_object_get_members (assignments);
  for (const GList *l = members; l != NULL; l = l->next)
    {
      const char *id = l->data;
      WbDedupeRecord r = { 0 };

      if (*id == '\0' || strlen (id) > MAX_ID_BYTES || !g_utf8_validate (id, -1, NULL) ||
          !_wb_dedupe_record_parse (json_object_get_member (assignments, id), now_us, &r))
        goto invalid;
      g_hash_table_replace (records, g_strdup (id), g_memdup2 (&r, sizeof r));
    }

  *records_out = g_steal_pointer (&records);
  *covered_out = covered;
  return TRUE;

invalid:
  g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA, "not a dedupe set");
  return FALSE;
}

/* ---- a journal line ---- */

void
_wb_dedupe_journal_line_append (GString              *s,
                                const char           *assignment_id,
                                const WbDedupeRecord *r)
{
  g_string_append (s, "{\"id\":");
  wb_json_append_string (s, assignment_id);
  g_string_append (s, ",\"record\":");
  _wb_dedupe_record_append (s, r);
  g_string_append (s, "}");
}

char *
_wb_dedupe_journal_line_parse (const char     *line,
                               gint64          now_us,
                               WbDedupeRecord *r)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *obj;
  const char *id;

  if (*line == '\0'
      || (root = wb_json_parse (line, strlen (line), MAX_LINE_DEPTH, NULL)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;   /* a torn line from a crash mid-write */
  obj = json_node_get_object (root);
  id = wb_json_get_string (obj, "id");
  if (id == NULL || *id == '\0' || !json_object_has_member (obj, "record")
      || !_wb_dedupe_record_parse (json_object_get_member (obj, "record"), now_us, r))
    return NULL;
  return g_strdup (id);
}
