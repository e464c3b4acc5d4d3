/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-pipeline-endings.c: how request episodes end inside the pipeline: stand down, withdraw,
 * accept. */

#define G_LOG_DOMAIN "wb-pipeline"

#include "config.h"

#include "wb-event-normaliser.h"
#include "wb-pipeline-private.h"

/* How request episodes end, inside the pipeline. Every workstation stands down the moment the end
 * reaches it (the "episode-ended" signal: notification closed, sound and reminders stopped); the
 * withdraw record — the alert log's line, with `reason` and `taken_by` — follows as soon as both
 * are known. The event usually says both: postgres_changes carries the status and mechanic_id,
 * and the name comes from a cache. Otherwise (a name not seen yet, or the catch-up only noticing
 * that a request left the queue) one PostgREST read of the assignment with its mechanic's name
 * fills them in, within a budget. Taking a request ourselves (accept) ends it the same way, from
 * the row the RPC returned. */

#define ENDING_BUDGET_MS  3000
#define MAX_NAMES         1000
#define MAX_NAME_CHARS    120

typedef struct
{
  WbPipeline    *pipeline;     /* (unowned) the ending lives in pipeline->endings */
  WbAlertRecord *record;       /* (owned) the withdraw as known so far */
  GCancellable  *cancellable;  /* (owned) the read of the row */
  guint          budget_id;
} WbPipelineEnding;

static void
ending_free (WbPipelineEnding *ending)
{
  g_clear_handle_id (&ending->budget_id, g_source_remove);
  if (ending->cancellable != NULL)
    g_cancellable_cancel (ending->cancellable);
  g_clear_object (&ending->cancellable);
  g_clear_pointer (&ending->record, wb_alert_record_free);
  g_free (ending);
}

/* ---- who is who -------------------------------------------------------------------------- */

static void
remember_name (WbPipeline *self,
               const char *mechanic_id,
               const char *name)
{
  if (mechanic_id == NULL || name == NULL || *name == '\0' || !wb_event_id_looks_like_uuid (mechanic_id))
    return;
  if (g_hash_table_size (self->names) >= MAX_NAMES)
    g_hash_table_remove_all (self->names);
  g_hash_table_replace (self->names, g_ascii_strdown (mechanic_id, -1),
                        wb_event_one_line (name, MAX_NAME_CHARS));
}

static void
fill_taker (WbPipeline    *self,
            WbAlertRecord *record)
{
  if (record->taken_by_id == NULL)
    return;
  record->taken_by_me = g_strcmp0 (record->taken_by_id, self->me_id) == 0;
  if (record->taken_by == NULL)
    record->taken_by = g_strdup (g_hash_table_lookup (self->names, record->taken_by_id));
}

static gboolean
complete (const WbAlertRecord *record)
{
  return record->reason != NULL && (!g_str_equal (record->reason, "taken") || record->taken_by != NULL);
}

static void
emit_withdraw (WbPipeline    *self,
               WbAlertRecord *record)
{
  _wb_pipeline_emit_alert (self, record);
}

static void
finish_ending (WbPipeline *self,
               const char *assignment_id)
{
  gpointer key = NULL;
  WbPipelineEnding *ending = NULL;
  g_autoptr(WbAlertRecord) record = NULL;

  if (!g_hash_table_steal_extended (self->endings, assignment_id, &key, (gpointer *) &ending))
    return;
  record = g_steal_pointer (&ending->record);
  g_free (key);
  ending_free (ending);
  emit_withdraw (self, record);
}

static gboolean
budget_cb (gpointer user_data)
{
  WbPipelineEnding *ending = user_data;
  g_autofree char *id = g_strdup (ending->record->assignment_id);

  ending->budget_id = 0;
  g_debug ("%s: how it ended is still unknown after %d ms: withdrawing as is", id, ENDING_BUDGET_MS);
  finish_ending (ending->pipeline, id);
  return G_SOURCE_REMOVE;
}

static const char *
member_string (JsonObject *obj,
               const char *name)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* [{"status", "mechanic_id", "mechanic": {"name"}}], or [] when the row is gone (or hidden). */
static void
apply_row (WbPipeline    *self,
           WbAlertRecord *record,
           JsonNode      *node)
{
  JsonArray *rows = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  JsonNode *first = rows != NULL && json_array_get_length (rows) > 0 ? json_array_get_element (rows, 0) : NULL;
  JsonObject *row = first != NULL && JSON_NODE_HOLDS_OBJECT (first) ? json_node_get_object (first) : NULL;
  JsonNode *mechanic = row != NULL ? json_object_get_member (row, "mechanic") : NULL;
  const char *mechanic_id;
  const char *name = NULL;

  if (rows == NULL)
    return;
  if (record->reason == NULL)
    {
      const char *status = member_string (row, "status");

      /* Still queued means it ended and came back since: it ended, how is not known. */
      record->reason = row == NULL ? "deleted"
                       : g_strcmp0 (status, "queued") == 0 ? "ended"
                       : wb_alert_reason_for_status (status);
    }
  if (row == NULL || !g_str_equal (record->reason, "taken"))
    return;

  mechanic_id = member_string (row, "mechanic_id");
  if (mechanic != NULL && JSON_NODE_HOLDS_OBJECT (mechanic))
    name = member_string (json_node_get_object (mechanic), "name");
  if (wb_event_id_looks_like_uuid (mechanic_id))
    {
      g_autofree char *id = g_ascii_strdown (mechanic_id, -1);

      remember_name (self, id, name);
      if (record->taken_by_id == NULL)
        record->taken_by_id = g_steal_pointer (&id);
    }
  fill_taker (self, record);
}

/* The ending owns the read: freeing it cancels the read, so @user_data is alive unless cancelled. */
static void
row_read_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = wb_rest_client_request_finish (WB_REST_CLIENT (source), result, NULL, &error);
  WbPipelineEnding *ending = user_data;
  WbPipeline *self;
  g_autofree char *id = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = ending->pipeline;
  id = g_strdup (ending->record->assignment_id);
  if (error != NULL)
    g_debug ("%s: could not read how it ended (%s)", id, error->message);
  else
    apply_row (self, ending->record, node);
  finish_ending (self, id);
}

static void
read_row (WbPipeline       *self,
          WbPipelineEnding *ending)
{
  g_autofree char *filter = wb_rest_filter_eq ("id", ending->record->assignment_id);
  g_autofree char *path = g_strdup_printf ("/rest/v1/session_assignments"
                                           "?select=status,mechanic_id,mechanic:mechanics(name)&%s",
                                           filter);

  ending->cancellable = g_cancellable_new ();
  wb_rest_client_request_async (self->rest, "GET", path, NULL, WB_REST_FLAGS_NONE, ending->cancellable,
                                row_read_cb, ending);
}

void
_wb_pipeline_ending_begin (WbPipeline    *self,
                           WbAlertRecord *record,
                           const WbEvent *ev)
{
  g_autoptr(WbAlertRecord) owned = record;
  WbPipelineEnding *ending;

  _wb_pipeline_endings_flush (self, record->assignment_id);
  if (ev != NULL)
    {
      record->reason = wb_alert_reason_for_status (ev->status);
      if (g_str_equal (record->reason, "taken") && ev->mechanic_id != NULL)
        record->taken_by_id = g_strdup (ev->mechanic_id);
    }
  fill_taker (self, record);

  /* Stand down now: nothing below may delay the notification closing or the sound stopping. */
  _wb_pipeline_emit_episode_ended (self, record);

  if (complete (record))
    {
      emit_withdraw (self, record);
      return;
    }

  ending = g_new0 (WbPipelineEnding, 1);
  ending->pipeline = self;
  ending->record = g_steal_pointer (&owned);
  g_hash_table_insert (self->endings, g_strdup (record->assignment_id), ending);
  ending->budget_id = g_timeout_add (ENDING_BUDGET_MS, budget_cb, ending);
  read_row (self, ending);
}

void
_wb_pipeline_endings_flush (WbPipeline *self,
                            const char *assignment_id)
{
  g_autoptr(GPtrArray) ids = NULL;
  GList *keys;

  if (assignment_id != NULL)
    {
      finish_ending (self, assignment_id);
      return;
    }
  ids = g_ptr_array_new_with_free_func (g_free);
  keys = g_hash_table_get_keys (self->endings);
  for (GList *l = keys; l != NULL; l = l->next)
    g_ptr_array_add (ids, g_strdup (l->data));
  g_list_free (keys);
  for (guint i = 0; i < ids->len; i++)
    finish_ending (self, g_ptr_array_index (ids, i));
}

/* ---- the signed-in mechanic ------------------------------------------------------------- */

/* The pipeline owns the query: forgetting (and disposing) cancels it, so @user_data is alive unless
 * cancelled. */
static void
me_loaded_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = wb_rest_client_request_finish (WB_REST_CLIENT (source), result, NULL, &error);
  WbPipeline *self = user_data;
  JsonArray *rows = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  JsonNode *first = rows != NULL && json_array_get_length (rows) == 1 ? json_array_get_element (rows, 0) : NULL;
  JsonObject *row = first != NULL && JSON_NODE_HOLDS_OBJECT (first) ? json_node_get_object (first) : NULL;
  const char *id = member_string (row, "id");

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->me_cancellable);
  if (!wb_event_id_looks_like_uuid (id))
    {
      g_debug ("who am I: %s", error != NULL ? error->message : "not a mechanic of this backend");
      return;
    }
  g_free (self->me_id);
  self->me_id = g_ascii_strdown (id, -1);
  remember_name (self, self->me_id, member_string (row, "name"));
  g_free (self->me_name);
  self->me_name = g_strdup (g_hash_table_lookup (self->names, self->me_id));
  g_debug ("signed in as mechanic %s", self->me_id);
}

/* Which mechanic we are: "Taken by you" rather than by our own name. Once per sign-in. */
void
_wb_pipeline_me_load (WbPipeline *self)
{
  const char *user_id = wb_auth_get_user_id (self->auth);
  g_autofree char *filter = NULL;
  g_autofree char *path = NULL;

  if (self->me_id != NULL || self->me_cancellable != NULL || user_id == NULL)
    return;
  filter = wb_rest_filter_eq ("user_id", user_id);
  path = g_strdup_printf ("/rest/v1/mechanics?select=id,name&%s", filter);
  self->me_cancellable = g_cancellable_new ();
  wb_rest_client_request_async (self->rest, "GET", path, NULL, WB_REST_FLAGS_NONE, self->me_cancellable,
                                me_loaded_cb, self);
}

void
_wb_pipeline_me_forget (WbPipeline *self)
{
  if (self->me_cancellable != NULL)
    g_cancellable_cancel (self->me_cancellable);
  g_clear_object (&self->me_cancellable);
  g_clear_pointer (&self->me_id, g_free);
  g_clear_pointer (&self->me_name, g_free);
}

const char *
wb_pipeline_get_mechanic_name (WbPipeline *self)
{
  g_return_val_if_fail (WB_IS_PIPELINE (self), NULL);

  return self->me_name;
}

/* ---- taking a request -------------------------------------------------------------------- */

static void
on_accept_started_cb (WbPipeline *self,
                      const char *assignment_id,
                      gpointer    acceptor)
{
  _wb_pipeline_emit_accept_started (self, assignment_id);
}

static void
on_accept_done_cb (WbPipeline      *self,
                   WbAcceptOutcome *outcome,
                   gpointer         acceptor)
{
  switch (outcome->result)
    {
    case WB_ACCEPT_WON:
      wb_health_inc (self->health, WB_HEALTH_ACCEPTS_WON);
      if (outcome->mechanic_id != NULL && self->me_id == NULL)
        self->me_id = g_strdup (outcome->mechanic_id);
      if (outcome->row != NULL)
        {
          g_autoptr(WbEvent) ev = wb_event_from_catchup_row (outcome->row, g_get_real_time (),
                                                             g_get_monotonic_time (), NULL);

          /* Ours now: stand down here at once rather than when realtime brings the change. */
          if (ev != NULL && ev->kind == WB_EVENT_LEFT_QUEUE)
            _wb_pipeline_offer_event (self, ev);
        }
      break;
    case WB_ACCEPT_TAKEN:
    case WB_ACCEPT_GONE:
      wb_health_inc (self->health, WB_HEALTH_ACCEPTS_LOST);
      break;
    case WB_ACCEPT_FAILED:
    default:
      wb_health_inc (self->health, WB_HEALTH_ACCEPT_FAILURES);
      break;
    }
  _wb_pipeline_emit_accept_done (self, outcome);
}

static void
accepted_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  WbAcceptOutcome *outcome = wb_acceptor_accept_finish (WB_ACCEPTOR (source), result, &error);

  if (outcome == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, outcome, (GDestroyNotify) wb_accept_outcome_free);
}

void
wb_pipeline_accept_async (WbPipeline          *self,
                          const char          *assignment_id,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (WB_IS_PIPELINE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_pipeline_accept_async);
  wb_acceptor_accept_async (self->acceptor, assignment_id, cancellable, accepted_cb, task);
}

WbAcceptOutcome *
wb_pipeline_accept_finish (WbPipeline    *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (WB_IS_PIPELINE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
wb_pipeline_is_accepting (WbPipeline *self,
                          const char *assignment_id)
{
  g_return_val_if_fail (WB_IS_PIPELINE (self), FALSE);

  return wb_acceptor_is_accepting (self->acceptor, assignment_id);
}

void
_wb_pipeline_endings_init (WbPipeline *self)
{
  self->endings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) ending_free);
  self->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->acceptor = wb_acceptor_new (self->rest);
  g_signal_connect_object (self->acceptor, "started", G_CALLBACK (on_accept_started_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->acceptor, "done", G_CALLBACK (on_accept_done_cb), self,
                           G_CONNECT_SWAPPED);
}

void
_wb_pipeline_endings_clear (WbPipeline *self)
{
  if (self->acceptor != NULL)
    wb_acceptor_cancel (self->acceptor);
  g_clear_object (&self->acceptor);
  _wb_pipeline_me_forget (self);
  g_clear_pointer (&self->endings, g_hash_table_unref);
  g_clear_pointer (&self->names, g_hash_table_unref);
}
