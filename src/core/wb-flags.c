/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-flags.c: the admin-controlled feature_flags table, read at start and followed live. */

#define G_LOG_DOMAIN "wb-flags"

#include "config.h"

#include <string.h>

#include "wb-error.h"
#include "wb-flags.h"
#include "wb-json.h"

#define MAX_KEY_LEN 200

struct _WbFlags
{
  GObject       parent_instance;
  WbRestClient *rest;     /* (owned) */
  GHashTable   *table;    /* (owned) key (owned) → GINT_TO_POINTER (TRUE/FALSE) + 1 */
  gboolean      loaded;
};

G_DEFINE_FINAL_TYPE (WbFlags, wb_flags, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

/* TRUE/FALSE, or -1 when the value says nothing (null, absent, unknown text). */
static int
parse_enabled (JsonNode *n)
{
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return -1;
  switch (json_node_get_value_type (n))
    {
    case G_TYPE_BOOLEAN:
      return json_node_get_boolean (n) ? TRUE : FALSE;
    case G_TYPE_INT64:
      return json_node_get_int (n) != 0;
    case G_TYPE_DOUBLE:
      return json_node_get_double (n) != 0.0;
    case G_TYPE_STRING:
      {
        const char *s = json_node_get_string (n);
        const char *on[] = { "true", "t", "1", "on", "yes", "y" };
        const char *off[] = { "false", "f", "0", "off", "no", "n" };

        for (guint i = 0; i < G_N_ELEMENTS (on); i++)
          {
            if (g_ascii_strcasecmp (s, on[i]) == 0)
              return TRUE;
            if (g_ascii_strcasecmp (s, off[i]) == 0)
              return FALSE;
          }
        return -1;
      }
    default:
      return -1;
    }
}

static const char *
row_key (JsonObject *row)
{
  const char *key = wb_json_get_string (row, "key");

  if (key == NULL || key[0] == '\0' || strlen (key) > MAX_KEY_LEN)
    return NULL;
  return key;
}

/* Unknown or missing flags are ON: a missing row must never silence alerts. */
gboolean
wb_flags_is_enabled (WbFlags    *self,
                     const char *key)
{
  gpointer v;

  g_return_val_if_fail (WB_IS_FLAGS (self), TRUE);
  if (key == NULL || !g_hash_table_lookup_extended (self->table, key, NULL, &v))
    return TRUE;
  return GPOINTER_TO_INT (v) - 1;
}

const char *
wb_flags_tier_flag (WbTier tier)
{
  switch (tier)
    {
    case WB_TIER_SOUND:
      return WB_FLAG_AUDIO;
    case WB_TIER_NOTIFICATION:
      return WB_FLAG_NOTIFICATIONS;
    case WB_TIER_TRAY:
      return WB_FLAG_VISUAL;
    case WB_TIER_TOAST:
    case WB_N_TIERS:
    default:
      return NULL;
    }
}

/* The master switch AND the tier's own flag (the toast has only the master). */
gboolean
wb_flags_tier_enabled (WbFlags *self,
                       WbTier   tier)
{
  g_return_val_if_fail (WB_IS_FLAGS (self), TRUE);
  if (!wb_flags_is_enabled (self, WB_FLAG_MASTER))
    return FALSE;
  return wb_flags_is_enabled (self, wb_flags_tier_flag (tier));
}

gboolean
wb_flags_is_loaded (WbFlags *self)
{
  return self->loaded;
}

/* Emits `changed` for every key whose effective value differs between @before and now. */
static gboolean
emit_differences (WbFlags    *self,
                  GHashTable *before)
{
  g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;
  gpointer v;

  g_hash_table_iter_init (&iter, before);
  while (g_hash_table_iter_next (&iter, &key, &v))
    if (wb_flags_is_enabled (self, key) != GPOINTER_TO_INT (v) - 1)
      g_ptr_array_add (changed, g_strdup (key));
  g_hash_table_iter_init (&iter, self->table);
  while (g_hash_table_iter_next (&iter, &key, &v))
    if (!g_hash_table_contains (before, key) && GPOINTER_TO_INT (v) - 1 != TRUE)
      g_ptr_array_add (changed, g_strdup (key));

  for (guint i = 0; i < changed->len; i++)
    {
      g_debug ("flag %s -> %s", (char *) changed->pdata[i],
               wb_flags_is_enabled (self, changed->pdata[i]) ? "on" : "off");
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0, changed->pdata[i]);
    }
  return changed->len > 0;
}

static GHashTable *
snapshot (WbFlags *self)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key;
  gpointer v;

  g_hash_table_iter_init (&iter, self->table);
  while (g_hash_table_iter_next (&iter, &key, &v))
    g_hash_table_insert (copy, g_strdup (key), v);
  return copy;
}

static void
set_flag (WbFlags    *self,
          const char *key,
          int         enabled)
{
  if (enabled < 0)
    g_hash_table_remove (self->table, key);
  else
    g_hash_table_insert (self->table, g_strdup (key), GINT_TO_POINTER (enabled + 1));
}

/* Replaces the table with the rows of `feature_flags?select=key,enabled`. */
gboolean
wb_flags_load_from_json (WbFlags   *self,
                         JsonNode  *rows,
                         GError   **error)
{
  g_autoptr(GHashTable) before = NULL;
  JsonArray *array;

  g_return_val_if_fail (WB_IS_FLAGS (self), FALSE);
  if (rows == NULL || !JSON_NODE_HOLDS_ARRAY (rows))
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA, "Flags are not an array");
      return FALSE;
    }
  before = snapshot (self);
  g_hash_table_remove_all (self->table);
  array = json_node_get_array (rows);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      JsonObject *row = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      const char *key = row_key (row);

      if (key != NULL)
        set_flag (self, key, parse_enabled (json_object_get_member (row, "enabled")));
    }
  self->loaded = TRUE;
  emit_differences (self, before);
  return TRUE;
}

/* The row under @a, or else under @b (realtime-js names them new/old). */
static JsonObject *
object_member (JsonObject *obj,
               const char *a,
               const char *b)
{
  JsonObject *row = wb_json_get_object (obj, a);

  return row != NULL ? row : wb_json_get_object (obj, b);
}

/* Applies a postgres_changes `data` object (or realtime-js shape) of public.feature_flags.
 * Returns TRUE if an effective value changed. */
gboolean
wb_flags_apply_change (WbFlags    *self,
                       JsonObject *data)
{
  g_autoptr(GHashTable) before = NULL;
  const char *type;
  const char *table;
  JsonObject *record;
  JsonObject *old;
  const char *key;
  const char *old_key;

  g_return_val_if_fail (WB_IS_FLAGS (self), FALSE);
  if (data == NULL)
    return FALSE;

  table = wb_json_get_string (data, "table");
  if (table != NULL && g_strcmp0 (table, "feature_flags") != 0)
    return FALSE;
  type = wb_json_get_string (data, json_object_has_member (data, "type") ? "type" : "eventType");
  if (type == NULL)
    return FALSE;

  record = object_member (data, "record", "new");
  old = object_member (data, "old_record", "old");
  key = row_key (record);
  old_key = row_key (old);
  before = snapshot (self);

  if (g_ascii_strcasecmp (type, "DELETE") == 0)
    {
      if (old_key != NULL)
        g_hash_table_remove (self->table, old_key);
    }
  else if (g_ascii_strcasecmp (type, "INSERT") == 0 || g_ascii_strcasecmp (type, "UPDATE") == 0)
    {
      if (key == NULL)
        return FALSE;
      if (old_key != NULL && strcmp (old_key, key) != 0)
        g_hash_table_remove (self->table, old_key);
      set_flag (self, key, parse_enabled (json_object_get_member (record, "enabled")));
    }
  else
    return FALSE;

  return emit_differences (self, before);
}

static void
load_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WbFlags *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  node = wb_rest_client_request_finish (WB_REST_CLIENT (source), result, NULL, &error);
  if (error == NULL)
    wb_flags_load_from_json (self, node, &error);
  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

/* Reads the whole table. On failure the previous values (or the all-ON defaults) stay. */
void
wb_flags_load_async (WbFlags             *self,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (WB_IS_FLAGS (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_flags_load_async);
  wb_rest_client_request_async (self->rest, "GET", "/rest/v1/feature_flags?select=key,enabled",
                                NULL, WB_REST_FLAGS_SMALL, cancellable, load_cb, task);
}

gboolean
wb_flags_load_finish (WbFlags       *self,
                      GAsyncResult  *result,
                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == wb_flags_load_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
wb_flags_finalize (GObject *object)
{
  WbFlags *self = WB_FLAGS (object);

  g_clear_pointer (&self->table, g_hash_table_unref);
  g_clear_object (&self->rest);
  G_OBJECT_CLASS (wb_flags_parent_class)->finalize (object);
}

static void
wb_flags_class_init (WbFlagsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_flags_finalize;

  /* changed (const char *key): the effective value of @key changed. */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
wb_flags_init (WbFlags *self)
{
  self->table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* @rest may be NULL for a table fed only by load_from_json() / apply_change(). */
WbFlags *
wb_flags_new (WbRestClient *rest)
{
  WbFlags *self = g_object_new (WB_TYPE_FLAGS, NULL);

  self->rest = rest != NULL ? g_object_ref (rest) : NULL;
  return self;
}
