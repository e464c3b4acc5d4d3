/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-catchup.c: the PostgREST query of queued assignments; safety poll and fast fallback poll. */

#define G_LOG_DOMAIN "wb-catchup"

#include "config.h"

#include "wb-backoff.h"
#include "wb-catchup.h"
#include "wb-error.h"
#include "wb-json.h"

#define MAX_PAGES 20

struct _WbCatchup
{
  GObject             parent_instance;
  WbRestClient       *rest;            /* (owned) it refreshes the token after a 401 itself */
  WbCatchupBeginFunc  begin_func;
  gpointer            begin_data;
  GDestroyNotify      begin_destroy;
  GCancellable       *cancellable;     /* (owned) (nullable) the scheduled run in flight */
  gboolean            started;
  gboolean            live;
  gboolean            in_flight;
  gboolean            rerun_pending;
  gint64              token;
  guint               timer_id;
  gint64              timer_deadline_us;
  guint               timer_delay_ms;
  guint               safety_ms;
  guint               page_size;
  WbBackoff           fallback;
  guint64             runs;
  guint64             failures;
};

G_DEFINE_FINAL_TYPE (WbCatchup, wb_catchup, G_TYPE_OBJECT)

enum {
  SIGNAL_ROWS,
  SIGNAL_FAILED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

typedef struct
{
  GPtrArray    *rows;        /* (owned) JsonObject* */
  guint         offset;
  guint         pages;
} Run;

static void
run_free (Run *run)
{
  g_clear_pointer (&run->rows, g_ptr_array_unref);
  g_free (run);
}

GPtrArray *
wb_catchup_parse_rows (JsonNode  *node,
                       GError   **error)
{
  g_autoptr(GPtrArray) rows = NULL;
  JsonArray *array;
  guint n;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "Catch-up response is not an array");
      return NULL;
    }
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  rows = g_ptr_array_new_full (n, (GDestroyNotify) json_object_unref);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      JsonObject *obj;
      const char *id;

      if (!JSON_NODE_HOLDS_OBJECT (e))
        continue;
      obj = json_node_get_object (e);
      id = wb_json_get_string (obj, "id");
      if (id == NULL || id[0] == '\0')
        {
          g_debug ("skipping a catch-up row without id");
          continue;
        }
      g_ptr_array_add (rows, json_object_ref (obj));
    }
  return g_steal_pointer (&rows);
}

/* ---- one run (all pages) ----------------------------------------------------------------- */

static void send_page (GTask *task);

static void
page_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WbCatchup *self = g_task_get_source_object (task);
  Run *run = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GPtrArray) page = NULL;
  guint n_elements;

  node = wb_rest_client_request_finish (WB_REST_CLIENT (source), result, NULL, &error);
  if (error == NULL)
    page = wb_catchup_parse_rows (node, &error);
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  n_elements = json_array_get_length (json_node_get_array (node));
  g_ptr_array_extend_and_steal (run->rows, g_steal_pointer (&page));
  run->pages++;
  if (n_elements >= self->page_size && run->pages < MAX_PAGES)
    {
      run->offset += n_elements;
      send_page (g_steal_pointer (&task));
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&run->rows), (GDestroyNotify) g_ptr_array_unref);
}

static void
send_page (GTask *task)
{
  WbCatchup *self = g_task_get_source_object (task);
  Run *run = g_task_get_task_data (task);
  g_autofree char *path = NULL;

  path = g_strdup_printf ("/rest/v1/session_assignments?select=id,session_id,status,updated_at,"
                          "offered_at,metadata&status=eq.queued&order=created_at.asc,id.asc&limit=%u%s%.0u",
                          self->page_size, run->offset > 0 ? "&offset=" : "", run->offset);
  wb_rest_client_request_async (self->rest, "GET", path, NULL, WB_REST_FLAGS_NONE,
                                g_task_get_cancellable (task), page_cb, task);
}

/* Queries the queued assignments (all pages). Emits no signal; see run_now() for that. */
void
wb_catchup_run_async (WbCatchup           *self,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  GTask *task;
  Run *run;

  g_return_if_fail (WB_IS_CATCHUP (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_catchup_run_async);
  run = g_new0 (Run, 1);
  run->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_task_set_task_data (task, run, (GDestroyNotify) run_free);
  send_page (task);
}

/* Returns (transfer container) JsonObject* rows in created_at order. */
GPtrArray *
wb_catchup_run_finish (WbCatchup     *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == wb_catchup_run_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- scheduling -------------------------------------------------------------------------- */

static void scheduled_run (WbCatchup *self);

static gboolean
timer_cb (gpointer data)
{
  WbCatchup *self = data;

  self->timer_id = 0;
  scheduled_run (self);
  return G_SOURCE_REMOVE;
}

static void
schedule (WbCatchup *self,
          guint      delay_ms)
{
  g_clear_handle_id (&self->timer_id, g_source_remove);
  self->timer_delay_ms = delay_ms;
  self->timer_deadline_us = g_get_monotonic_time () + (gint64) delay_ms * 1000;
  self->timer_id = g_timeout_add (delay_ms, timer_cb, self);
}

static void
schedule_next (WbCatchup *self,
               gboolean   failed)
{
  if (!self->started)
    return;
  if (failed || !self->live)
    schedule (self, wb_backoff_next (&self->fallback));
  else
    {
      wb_backoff_reset (&self->fallback);
      schedule (self, self->safety_ms);
    }
}

static void
scheduled_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(WbCatchup) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;

  rows = wb_catchup_run_finish (self, result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->in_flight = FALSE;
  g_clear_object (&self->cancellable);
  if (rows != NULL)
    {
      self->runs++;
      g_debug ("catch-up: %u queued", rows->len);
      g_signal_emit (self, signals[SIGNAL_ROWS], 0, rows, self->token);
    }
  else
    {
      self->failures++;
      g_debug ("catch-up failed: %s", error->message);
      g_signal_emit (self, signals[SIGNAL_FAILED], 0, error->message);
    }
  if (self->rerun_pending)
    {
      self->rerun_pending = FALSE;
      schedule (self, 0);
    }
  else
    schedule_next (self, rows == NULL);
}

static void
scheduled_run (WbCatchup *self)
{
  if (self->in_flight)
    {
      self->rerun_pending = TRUE;
      return;
    }
  self->in_flight = TRUE;
  self->token = self->begin_func != NULL ? self->begin_func (self->begin_data)
                                         : g_get_monotonic_time ();
  self->cancellable = g_cancellable_new ();
  wb_catchup_run_async (self, self->cancellable, scheduled_done_cb, g_object_ref (self));
}

/* Runs the query soon and emits `rows`; calls made while one runs coalesce into one more run. */
void
wb_catchup_run_now (WbCatchup  *self,
                    const char *reason)
{
  g_return_if_fail (WB_IS_CATCHUP (self));

  g_debug ("catch-up now: %s", reason != NULL ? reason : "(no reason)");
  if (self->in_flight)
    self->rerun_pending = TRUE;
  else if (self->timer_id == 0 || self->timer_delay_ms != 0)
    schedule (self, 0);
}

/* Starts the schedule with a run now; then safety polls, or fallback polls while not live. */
void
wb_catchup_start (WbCatchup *self)
{
  g_return_if_fail (WB_IS_CATCHUP (self));
  if (self->started)
    return;
  self->started = TRUE;
  wb_catchup_run_now (self, "start");
}

void
wb_catchup_stop (WbCatchup *self)
{
  g_return_if_fail (WB_IS_CATCHUP (self));
  self->started = FALSE;
  self->in_flight = FALSE;
  self->rerun_pending = FALSE;
  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
}

/* While realtime is down, poll fast (2 s → 30 s); when live again, back to the safety poll. */
void
wb_catchup_set_realtime_live (WbCatchup *self,
                              gboolean   live)
{
  g_return_if_fail (WB_IS_CATCHUP (self));

  live = !!live;
  if (self->live == live)
    return;
  self->live = live;
  wb_backoff_reset (&self->fallback);
  if (!self->started || self->in_flight || (self->timer_id != 0 && self->timer_delay_ms == 0))
    return;
  if (live)
    schedule (self, self->safety_ms);
  else
    schedule (self, wb_backoff_next (&self->fallback));
}

void
wb_catchup_set_begin_func (WbCatchup          *self,
                           WbCatchupBeginFunc  func,
                           gpointer            user_data,
                           GDestroyNotify      destroy)
{
  if (self->begin_destroy != NULL)
    self->begin_destroy (self->begin_data);
  self->begin_func = func;
  self->begin_data = user_data;
  self->begin_destroy = destroy;
}

void
wb_catchup_set_safety_interval_ms (WbCatchup *self,
                                   guint      interval_ms)
{
  self->safety_ms = MAX (interval_ms, 1);
}

void
wb_catchup_set_fallback_backoff (WbCatchup *self,
                                 guint      base_ms,
                                 guint      max_ms)
{
  wb_backoff_clear (&self->fallback);
  wb_backoff_init (&self->fallback, MAX (base_ms, 1), MAX (max_ms, MAX (base_ms, 1)), 2.0, 0.2);
}

void
wb_catchup_set_page_size (WbCatchup *self,
                          guint      page_size)
{
  self->page_size = CLAMP (page_size, 1, 10000);
}

guint64
wb_catchup_get_runs (WbCatchup *self)
{
  return self->runs;
}

guint64
wb_catchup_get_failures (WbCatchup *self)
{
  return self->failures;
}

/* Milliseconds until the next scheduled run; -1 when none. */
gint64
wb_catchup_get_next_run_in_ms (WbCatchup *self)
{
  if (self->timer_id == 0)
    return -1;
  return MAX (self->timer_deadline_us - g_get_monotonic_time (), 0) / 1000;
}

static void
wb_catchup_dispose (GObject *object)
{
  WbCatchup *self = WB_CATCHUP (object);

  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (wb_catchup_parent_class)->dispose (object);
}

static void
wb_catchup_finalize (GObject *object)
{
  WbCatchup *self = WB_CATCHUP (object);

  wb_catchup_set_begin_func (self, NULL, NULL, NULL);
  wb_backoff_clear (&self->fallback);
  g_clear_object (&self->rest);
  G_OBJECT_CLASS (wb_catchup_parent_class)->finalize (object);
}

static void
wb_catchup_class_init (WbCatchupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_catchup_dispose;
  object_class->finalize = wb_catchup_finalize;

  /* rows (GPtrArray of JsonObject*), token (from the begin func, or the monotonic send time). */
  signals[SIGNAL_ROWS] = g_signal_new ("rows", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                       G_TYPE_PTR_ARRAY, G_TYPE_INT64);
  signals[SIGNAL_FAILED] = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
wb_catchup_init (WbCatchup *self)
{
  self->safety_ms = WB_CATCHUP_DEFAULT_SAFETY_MS;
  self->page_size = WB_CATCHUP_DEFAULT_PAGE_SIZE;
  self->live = FALSE;
  wb_backoff_init (&self->fallback, 2000, 30000, 2.0, 0.2);
}

WbCatchup *
wb_catchup_new (WbRestClient *rest)
{
  WbCatchup *self;

  g_return_val_if_fail (WB_IS_REST_CLIENT (rest), NULL);
  self = g_object_new (WB_TYPE_CATCHUP, NULL);
  self->rest = g_object_ref (rest);
  return self;
}
