/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-detail-fetcher.c: customer / vehicle / concern of a session via PostgREST, with retries. */

#define G_LOG_DOMAIN "wb-detail-fetcher"

#include "config.h"

#include <string.h>

#include "wb-backoff.h"
#include "wb-detail-fetcher.h"
#include "wb-details-private.h"
#include "wb-error.h"
#include "wb-json.h"

#define INTAKE_COLUMNS "name,concern,vehicle_year,vehicle_make,vehicle_model"

/* Fetches waiting for a slot go out together, one `in.(…)` query for up to this many sessions
 * (or intakes): a burst of requests costs a few requests, not one each. 50 UUIDs make a query
 * string of about 2 KB. */
#define BATCH_MAX 50

struct _WbDetailFetcher
{
  GObject         parent_instance;
  WbRestClient   *rest;             /* (owned) it refreshes the token after a 401 itself */
  GQueue          queue;            /* GTask* (owned refs) waiting for a slot */
  guint           in_flight;
  guint           max_in_flight;
  guint           max_in_flight_seen;
  guint           deadline_ms;
  guint           backoff_base_ms;
  guint           backoff_max_ms;
  guint           not_visible_retries;
  gboolean        use_embedding;
  guint64         retries;
  guint64         failures;
  guint64         requests;
  guint           largest_batch;
};

G_DEFINE_FINAL_TYPE (WbDetailFetcher, wb_detail_fetcher, G_TYPE_OBJECT)

typedef enum { STEP_SESSION, STEP_INTAKE } Step;

/* One PostgREST request in flight, for one or more fetches of the same step. */
typedef struct
{
  GPtrArray    *tasks;            /* GTask* (owned refs) */
  GCancellable *cancellable;      /* (owned) cancelled once no fetch of the batch waits for it */
  Step          step;
  guint         open;             /* fetches of the batch not completed yet */
} Batch;

typedef struct
{
  char         *session_id;
  GCancellable *cancellable;      /* (owned) internal, cancelled when the fetch completes */
  GCancellable *caller;           /* (owned) (nullable) */
  gulong        caller_handler;
  guint         deadline_id;
  guint         retry_id;
  gint64        deadline_us;      /* monotonic */
  WbBackoff     backoff;
  guint         not_visible_left;
  gboolean      done;
  Step          step;
  JsonNode     *session_row;      /* (owned) (nullable) two-step mode: awaiting its intake */
  char         *intake_id;
  Batch        *batch;            /* (unowned) (nullable) the request in flight */
  GError       *last_error;       /* (owned) (nullable) */
} Fetch;

static void submit (WbDetailFetcher *self, GTask *task);

/* ---- one fetch --------------------------------------------------------------------------- */

static void
fetch_free (Fetch *f)
{
  if (f->caller != NULL && f->caller_handler != 0)
    g_cancellable_disconnect (f->caller, f->caller_handler);
  g_clear_object (&f->caller);
  g_clear_handle_id (&f->deadline_id, g_source_remove);
  g_clear_handle_id (&f->retry_id, g_source_remove);
  g_clear_object (&f->cancellable);
  g_clear_pointer (&f->session_row, json_node_unref);
  g_clear_error (&f->last_error);
  wb_backoff_clear (&f->backoff);
  g_free (f->session_id);
  g_free (f->intake_id);
  g_free (f);
}

static void
complete (GTask     *task,
          WbDetails *details,
          GError    *error)
{
  WbDetailFetcher *self = g_task_get_source_object (task);
  Fetch *f = g_task_get_task_data (task);

  if (f->done)
    {
      wb_details_free (details);
      g_clear_error (&error);
      return;
    }
  f->done = TRUE;
  g_clear_handle_id (&f->deadline_id, g_source_remove);
  g_clear_handle_id (&f->retry_id, g_source_remove);
  g_cancellable_cancel (f->cancellable);
  /* The shared request goes on for the others of its batch; the last one out cancels it. */
  if (f->batch != NULL && --f->batch->open == 0)
    g_cancellable_cancel (f->batch->cancellable);
  if (error != NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        self->failures++;
      g_debug ("details of session %s: %s", f->session_id, error->message);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, details, (GDestroyNotify) wb_details_free);
}

static gboolean
deadline_cb (gpointer data)
{
  GTask *task = data;
  Fetch *f = g_task_get_task_data (task);
  WbDetailFetcher *self = g_task_get_source_object (task);

  f->deadline_id = 0;
  complete (task, NULL,
            g_error_new (WB_ERROR, WB_ERROR_TIMEOUT, "No details within %u ms%s%s", self->deadline_ms,
                         f->last_error ? ": " : "", f->last_error ? f->last_error->message : ""));
  return G_SOURCE_REMOVE;
}

static gboolean
retry_cb (gpointer data)
{
  GTask *task = data;
  Fetch *f = g_task_get_task_data (task);

  f->retry_id = 0;
  if (!f->done)
    submit (g_task_get_source_object (task), task);
  return G_SOURCE_REMOVE;
}

static void
retry_later (GTask  *task,
             guint   delay_ms,
             GError *error)
{
  WbDetailFetcher *self = g_task_get_source_object (task);
  Fetch *f = g_task_get_task_data (task);

  g_clear_error (&f->last_error);
  f->last_error = error;
  if (g_get_monotonic_time () + (gint64) delay_ms * 1000 >= f->deadline_us)
    {
      complete (task, NULL, g_error_new (error->domain, error->code, "Giving up before deadline: %s",
                                         error->message));
      return;
    }
  self->retries++;
  g_debug ("session %s: %s; retry in %u ms", f->session_id, error->message, delay_ms);
  f->retry_id = g_timeout_add_full (G_PRIORITY_DEFAULT, delay_ms, retry_cb, g_object_ref (task),
                                    g_object_unref);
}

static void
handle_rows (GTask    *task,
             JsonNode *node)
{
  WbDetailFetcher *self = g_task_get_source_object (task);
  Fetch *f = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  WbDetails *details;
  JsonObject *row;

  if (f->step == STEP_SESSION && node != NULL && JSON_NODE_HOLDS_ARRAY (node)
      && _wb_details_first_row (node) == NULL)
    {
      /* Right after the event the row may not be visible yet (replication, RLS timing). */
      if (f->not_visible_left > 0)
        {
          f->not_visible_left--;
          retry_later (task, wb_backoff_next (&f->backoff),
                       g_error_new_literal (WB_ERROR, WB_ERROR_NOT_FOUND, "Session not visible yet"));
          return;
        }
      complete (task, NULL, g_error_new_literal (WB_ERROR, WB_ERROR_NOT_FOUND,
                                                 "Session not visible"));
      return;
    }

  if (f->step == STEP_SESSION && !self->use_embedding)
    {
      row = _wb_details_first_row (node);
      if (row == NULL || (f->intake_id = wb_json_dup_text (row, "intake_id")) == NULL)
        {
          complete (task, NULL, g_error_new_literal (WB_ERROR, WB_ERROR_NOT_FOUND,
                                                     "Session has no visible intake"));
          return;
        }
      f->session_row = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (f->session_row, row);
      f->step = STEP_INTAKE;
      submit (self, task);
      return;
    }

  if (f->step == STEP_INTAKE)
    {
      /* Parsed objects are immutable: build the embedded shape afresh. */
      g_autoptr(JsonNode) combined = json_node_new (JSON_NODE_OBJECT);
      JsonObject *intake = _wb_details_first_row (node);
      JsonObject *obj = json_object_new ();
      JsonObject *srow = json_node_get_object (f->session_row);
      const char *keys[] = { "id", "type", "intake_id" };

      for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
        if (json_object_has_member (srow, keys[i]))
          json_object_set_member (obj, keys[i],
                                  json_node_copy (json_object_get_member (srow, keys[i])));
      if (intake != NULL)
        json_object_set_object_member (obj, "intake", json_object_ref (intake));
      json_node_take_object (combined, obj);
      details = wb_details_parse (combined, &error);
    }
  else
    details = wb_details_parse (node, &error);

  complete (task, details, g_steal_pointer (&error));
}

static void
batch_free (Batch *b)
{
  g_ptr_array_unref (b->tasks);
  g_clear_object (&b->cancellable);
  g_free (b);
}

/* The rows of a batch answer that belong to @f: its session (or intake), as a one-row array, or
 * an empty array when the answer has none. PostgREST returns rows in any order. */
static JsonNode *
rows_for_fetch (Fetch    *f,
                JsonNode *node)
{
  JsonNode *rows = json_node_new (JSON_NODE_ARRAY);
  JsonArray *out = json_array_new ();
  const char *want = f->step == STEP_INTAKE ? f->intake_id : f->session_id;

  json_node_take_array (rows, out);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return rows;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
    {
      JsonNode *n = json_array_get_element (json_node_get_array (node), i);
      g_autofree char *id = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      id = wb_json_dup_text (json_node_get_object (n), "id");
      if (g_strcmp0 (id, want) == 0)
        {
          json_array_add_element (out, json_node_copy (n));
          break;
        }
    }
  return rows;
}

/* Sends what waits in the queue while there is a free slot: each request takes the fetches
 * waiting for the same step, up to BATCH_MAX, in arrival order. */
static void send_batch (WbDetailFetcher *self, GPtrArray *tasks);

static void
drain_queue (WbDetailFetcher *self)
{
  while (self->in_flight < self->max_in_flight && self->queue.length > 0)
    {
      g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);
      gboolean have_step = FALSE;
      Step step = STEP_SESSION;
      GList *l, *next;

      for (l = self->queue.head; l != NULL && tasks->len < BATCH_MAX; l = next)
        {
          GTask *task = l->data;
          Fetch *f = g_task_get_task_data (task);

          next = l->next;
          if (f->done)
            {
              g_queue_delete_link (&self->queue, l);
              g_object_unref (task);
              continue;
            }
          if (have_step && f->step != step)
            continue;
          have_step = TRUE;
          step = f->step;
          g_ptr_array_add (tasks, task);   /* the queue's reference moves to the batch */
          g_queue_delete_link (&self->queue, l);
        }
      if (tasks->len > 0)
        send_batch (self, g_steal_pointer (&tasks));
    }
}

static void
request_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Batch *b = user_data;
  WbDetailFetcher *self = g_object_ref (g_task_get_source_object (g_ptr_array_index (b->tasks, 0)));
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  guint status = 0;
  guint retry_after_ms = 0;
  gboolean embedding_refused = FALSE;

  node = wb_rest_client_request_finish_full (WB_REST_CLIENT (source), result, &status,
                                             &retry_after_ms, NULL, &error);

  for (guint i = 0; i < b->tasks->len; i++)
    ((Fetch *) g_task_get_task_data (g_ptr_array_index (b->tasks, i)))->batch = NULL;

  /* Release the slot; whoever waits for one goes out below, after this answer is handled, so
   * fetches this answer sends back to the queue can join them. */
  self->in_flight--;

  if (status == 400 && error != NULL && self->use_embedding && b->step == STEP_SESSION)
    {
      g_debug ("embedded select refused (%s); using two requests", error->message);
      self->use_embedding = FALSE;
      embedding_refused = TRUE;
    }

  for (guint i = 0; i < b->tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (b->tasks, i);
      Fetch *f = g_task_get_task_data (task);

      if (f->done || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        continue;

      if (error == NULL)
        {
          g_autoptr(JsonNode) rows = NULL;

          if (b->tasks->len == 1)
            rows = node != NULL ? json_node_ref (node) : NULL;
          else
            rows = rows_for_fetch (f, node);
          handle_rows (task, rows);
          continue;
        }

      if (embedding_refused)
        {
          submit (self, task);
          continue;
        }

      if (wb_error_is_retryable (error))
        {
          guint delay = MAX (wb_backoff_next (&f->backoff), retry_after_ms);

          retry_later (task, delay, g_error_copy (error));
          continue;
        }

      complete (task, NULL, g_error_copy (error));
    }

  batch_free (b);
  drain_queue (self);
  g_object_unref (self);
}

/* The filter selecting the rows of @tasks: `id=eq.…` for one, `id=in.(…)` for more. */
static char *
batch_filter (GPtrArray *tasks,
              Step       step)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();

  for (guint i = 0; i < tasks->len; i++)
    {
      Fetch *f = g_task_get_task_data (g_ptr_array_index (tasks, i));

      g_ptr_array_add (ids, step == STEP_INTAKE ? f->intake_id : f->session_id);
    }
  if (ids->len == 1)
    return wb_rest_filter_eq ("id", g_ptr_array_index (ids, 0));
  return wb_rest_filter_in ("id", (const char * const *) ids->pdata, ids->len);
}

static void
send_batch (WbDetailFetcher *self,
            GPtrArray       *tasks)
{
  Batch *b = g_new0 (Batch, 1);
  g_autofree char *path = NULL;
  g_autofree char *filter = NULL;

  b->tasks = tasks;
  b->cancellable = g_cancellable_new ();
  b->step = ((Fetch *) g_task_get_task_data (g_ptr_array_index (tasks, 0)))->step;
  b->open = tasks->len;
  for (guint i = 0; i < tasks->len; i++)
    {
      Fetch *f = g_task_get_task_data (g_ptr_array_index (tasks, i));

      f->batch = b;
    }

  self->in_flight++;
  self->max_in_flight_seen = MAX (self->max_in_flight_seen, self->in_flight);
  self->requests++;
  self->largest_batch = MAX (self->largest_batch, tasks->len);
  filter = batch_filter (tasks, b->step);
  if (b->step == STEP_INTAKE)
    path = g_strdup_printf ("/rest/v1/intakes?select=id," INTAKE_COLUMNS "&%s", filter);
  else if (self->use_embedding)
    path = g_strdup_printf ("/rest/v1/sessions?select=id,type,intake_id,"
                            "intake:intakes(" INTAKE_COLUMNS ")&%s", filter);
  else
    path = g_strdup_printf ("/rest/v1/sessions?select=id,type,intake_id&%s", filter);
  /* A few sessions and their intakes: small (the cap stops an endless or hostile body early;
   * every row's text is capped by the parser, so BATCH_MAX rows stay far below it). */
  wb_rest_client_request_async (self->rest, "GET", path, NULL, WB_REST_FLAGS_SMALL, b->cancellable,
                                request_cb, b);
}

static void
submit (WbDetailFetcher *self,
        GTask           *task)
{
  g_queue_push_tail (&self->queue, g_object_ref (task));
  drain_queue (self);
}

static gboolean
cancelled_idle_cb (gpointer data)
{
  complete (data, NULL, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Cancelled"));
  return G_SOURCE_REMOVE;
}

static void
caller_cancelled_cb (GCancellable *cancellable,
                     gpointer      data)
{
  g_idle_add_full (G_PRIORITY_DEFAULT, cancelled_idle_cb, g_object_ref (data), g_object_unref);
}

/* Fetches the details of @session_id. Fails with WB_ERROR_NOT_FOUND when the session or its
 * intake is not visible (use the fallback text), or with the last error after the deadline. */
void
wb_detail_fetcher_fetch_async (WbDetailFetcher     *self,
                               const char          *session_id,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Fetch *f;

  g_return_if_fail (WB_IS_DETAIL_FETCHER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_detail_fetcher_fetch_async);
  if (session_id == NULL || session_id[0] == '\0')
    {
      self->failures++;
      g_task_return_new_error (task, WB_ERROR, WB_ERROR_NOT_FOUND, "No session id");
      return;
    }

  f = g_new0 (Fetch, 1);
  f->session_id = g_strdup (session_id);
  f->cancellable = g_cancellable_new ();
  f->not_visible_left = self->not_visible_retries;
  f->deadline_us = g_get_monotonic_time () + (gint64) self->deadline_ms * 1000;
  wb_backoff_init (&f->backoff, self->backoff_base_ms, self->backoff_max_ms, 2.0, 0.5);
  g_task_set_task_data (task, f, (GDestroyNotify) fetch_free);

  f->deadline_id = g_timeout_add_full (G_PRIORITY_DEFAULT, self->deadline_ms, deadline_cb,
                                       g_object_ref (task), g_object_unref);
  if (cancellable != NULL)
    {
      f->caller = g_object_ref (cancellable);
      f->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb),
                                                 task, NULL);
    }
  if (!f->done)
    submit (self, task);
}

WbDetails *
wb_detail_fetcher_fetch_finish (WbDetailFetcher  *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == wb_detail_fetcher_fetch_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- settings and counters --------------------------------------------------------------- */

void
wb_detail_fetcher_set_deadline_ms (WbDetailFetcher *self,
                                   guint            deadline_ms)
{
  self->deadline_ms = MAX (deadline_ms, 1);
}

void
wb_detail_fetcher_set_backoff (WbDetailFetcher *self,
                               guint            base_ms,
                               guint            max_ms)
{
  self->backoff_base_ms = MAX (base_ms, 1);
  self->backoff_max_ms = MAX (max_ms, self->backoff_base_ms);
}

void
wb_detail_fetcher_set_not_visible_retries (WbDetailFetcher *self,
                                           guint            retries)
{
  self->not_visible_retries = retries;
}

void
wb_detail_fetcher_set_max_in_flight (WbDetailFetcher *self,
                                     guint            max_in_flight)
{
  self->max_in_flight = MAX (max_in_flight, 1);
}

void
wb_detail_fetcher_set_use_embedding (WbDetailFetcher *self,
                                     gboolean         use_embedding)
{
  self->use_embedding = !!use_embedding;
}

guint
wb_detail_fetcher_get_in_flight (WbDetailFetcher *self)
{
  return self->in_flight;
}

guint
wb_detail_fetcher_get_max_in_flight_seen (WbDetailFetcher *self)
{
  return self->max_in_flight_seen;
}

guint64
wb_detail_fetcher_get_retries (WbDetailFetcher *self)
{
  return self->retries;
}

guint64
wb_detail_fetcher_get_failures (WbDetailFetcher *self)
{
  return self->failures;
}

guint64
wb_detail_fetcher_get_requests (WbDetailFetcher *self)
{
  return self->requests;
}

/* The most fetches one request has served (1 until a burst queues some). */
guint
wb_detail_fetcher_get_largest_batch (WbDetailFetcher *self)
{
  return self->largest_batch;
}

static void
wb_detail_fetcher_finalize (GObject *object)
{
  WbDetailFetcher *self = WB_DETAIL_FETCHER (object);

  g_queue_clear_full (&self->queue, g_object_unref);
  g_clear_object (&self->rest);
  G_OBJECT_CLASS (wb_detail_fetcher_parent_class)->finalize (object);
}

static void
wb_detail_fetcher_class_init (WbDetailFetcherClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_detail_fetcher_finalize;
}

static void
wb_detail_fetcher_init (WbDetailFetcher *self)
{
  g_queue_init (&self->queue);
  self->max_in_flight = WB_DETAIL_FETCHER_DEFAULT_MAX_IN_FLIGHT;
  self->deadline_ms = WB_DETAIL_FETCHER_DEFAULT_DEADLINE_MS;
  self->backoff_base_ms = 100;
  self->backoff_max_ms = 2000;
  self->not_visible_retries = 3;
  self->use_embedding = TRUE;
}

WbDetailFetcher *
wb_detail_fetcher_new (WbRestClient *rest)
{
  WbDetailFetcher *self;

  g_return_val_if_fail (WB_IS_REST_CLIENT (rest), NULL);
  self = g_object_new (WB_TYPE_DETAIL_FETCHER, NULL);
  self->rest = g_object_ref (rest);
  return self;
}
