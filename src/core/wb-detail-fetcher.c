#define G_LOG_DOMAIN "wb-detail-fetcher"

#include "config.h"

#include <string.h>

#include "wb-backoff.h"
#include "wb-detail-fetcher.h"
#include "wb-details-private.h"
#include "wb-error.h"
#include "wb-json.h"

#define INTAKE_COLUMNS "name,concern,vehicle_year,vehicle_make,vehicle_model"

struct _WbDetailFetcher
{
  GObject         parent_instance;
  WbRestClient   *rest;             /* (owned) */
  WbRefreshFunc   refresh_func;
  gpointer        refresh_data;
  GDestroyNotify  refresh_destroy;
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
};

G_DEFINE_FINAL_TYPE (WbDetailFetcher, wb_detail_fetcher, G_TYPE_OBJECT)

typedef enum { STEP_SESSION, STEP_INTAKE } Step;

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
  gboolean      refreshed;
  gboolean      done;
  Step          step;
  JsonNode     *session_row;      /* (owned) (nullable) two-step mode: awaiting its intake */
  char         *intake_id;
  guint         token_serial;     /* of the request in flight */
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
refresh_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fetch *f = g_task_get_task_data (task);

  if (!f->done)
    submit (g_task_get_source_object (task), task);
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
request_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WbDetailFetcher *self = g_task_get_source_object (task);
  Fetch *f = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  guint status = 0;
  guint retry_after_ms = 0;
  GList *l;

  node = wb_rest_client_request_finish_full (WB_REST_CLIENT (source), result, &status,
                                             &retry_after_ms, NULL, &error);

  /* Release the slot and start whoever waits for one. */
  self->in_flight--;
  while (self->in_flight < self->max_in_flight && (l = g_queue_pop_head_link (&self->queue)))
    {
      g_autoptr(GTask) next = l->data;

      g_list_free_1 (l);
      if (!((Fetch *) g_task_get_task_data (next))->done)
        submit (self, next);
    }

  if (f->done || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (error == NULL)
    {
      handle_rows (task, node);
      return;
    }

  if (g_error_matches (error, WB_ERROR, WB_ERROR_UNAUTHORIZED) && !f->refreshed)
    {
      f->refreshed = TRUE;
      g_clear_error (&f->last_error);
      f->last_error = g_error_copy (error);
      if (wb_rest_client_get_token_serial (self->rest) != f->token_serial)
        submit (self, task);   /* someone refreshed meanwhile */
      else if (self->refresh_func != NULL)
        self->refresh_func (self->refresh_data, f->cancellable, refresh_done_cb,
                            g_object_ref (task));
      else
        complete (task, NULL, g_steal_pointer (&error));
      return;
    }

  if (status == 400 && self->use_embedding && f->step == STEP_SESSION)
    {
      g_debug ("embedded select refused (%s); using two requests", error->message);
      self->use_embedding = FALSE;
      submit (self, task);
      return;
    }

  if (wb_error_is_retryable (error))
    {
      guint delay = MAX (wb_backoff_next (&f->backoff), retry_after_ms);

      retry_later (task, delay, g_steal_pointer (&error));
      return;
    }

  complete (task, NULL, g_steal_pointer (&error));
}

static void
send_now (WbDetailFetcher *self,
          GTask           *task)
{
  Fetch *f = g_task_get_task_data (task);
  g_autofree char *path = NULL;
  g_autofree char *filter = NULL;

  self->in_flight++;
  self->max_in_flight_seen = MAX (self->max_in_flight_seen, self->in_flight);
  self->requests++;
  f->token_serial = wb_rest_client_get_token_serial (self->rest);
  if (f->step == STEP_INTAKE)
    {
      filter = wb_rest_filter_eq ("id", f->intake_id);
      path = g_strdup_printf ("/rest/v1/intakes?select=id," INTAKE_COLUMNS "&%s", filter);
    }
  else
    {
      filter = wb_rest_filter_eq ("id", f->session_id);
      if (self->use_embedding)
        path = g_strdup_printf ("/rest/v1/sessions?select=id,type,intake_id,"
                                "intake:intakes(" INTAKE_COLUMNS ")&%s", filter);
      else
        path = g_strdup_printf ("/rest/v1/sessions?select=id,type,intake_id&%s", filter);
    }
  /* One session and its intake: small (the cap stops an endless or hostile body early). */
  wb_rest_client_request_async (self->rest, "GET", path, NULL, WB_REST_FLAGS_SMALL, f->cancellable,
                                request_cb, g_object_ref (task));
}

static void
submit (WbDetailFetcher *self,
        GTask           *task)
{
  if (self->in_flight < self->max_in_flight)
    send_now (self, task);
  else
    g_queue_push_tail (&self->queue, g_object_ref (task));
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

/* Called after a 401 (once per fetch); wb_auth_refresh_async() fits, with the WbAuth as data. */
void
wb_detail_fetcher_set_refresh_func (WbDetailFetcher *self,
                                    WbRefreshFunc    func,
                                    gpointer         user_data,
                                    GDestroyNotify   destroy)
{
  if (self->refresh_destroy != NULL)
    self->refresh_destroy (self->refresh_data);
  self->refresh_func = func;
  self->refresh_data = user_data;
  self->refresh_destroy = destroy;
}

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

static void
wb_detail_fetcher_finalize (GObject *object)
{
  WbDetailFetcher *self = WB_DETAIL_FETCHER (object);

  g_queue_clear_full (&self->queue, g_object_unref);
  if (self->refresh_destroy != NULL)
    self->refresh_destroy (self->refresh_data);
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
