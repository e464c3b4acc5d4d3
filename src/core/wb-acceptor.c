/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-acceptor.c: takes a queued request for the signed-in mechanic through the accept RPC
 * (`accept_session_assignment`): one call per assignment at a time however many places ask,
 * transient failures retried briefly (a 401 is the REST client's: wb-rest-client.c). The database
 * decides who wins. */

#define G_LOG_DOMAIN "wb-acceptor"

#include "config.h"

#include <string.h>

#include "wb-acceptor.h"
#include "wb-backoff.h"
#include "wb-error.h"
#include "wb-event-normaliser.h"

/* Accept is a write that must happen at most once per click and at least once per click that
 * reached the server. One RPC per assignment at a time: the row button, the notification, the
 * toast and `--accept` asking together share it. Retrying after a timeout is safe because the RPC
 * answers the winner with the row again rather than an error. */

#define MAX_NAME_CHARS     120
#define MAX_STATUS_CHARS   32
#define DEFAULT_RETRY_MS   300

struct _WbAcceptor
{
  GObject         parent_instance;

  WbRestClient   *rest;            /* (owned) it refreshes the token after a 401 itself */
  GCancellable   *cancellable;     /* (owned) every RPC in flight */
  GHashTable     *ops;             /* assignment id → WbAcceptorOp */
  guint           retry_delay_ms;
  guint64         requests;
};

G_DEFINE_FINAL_TYPE (WbAcceptor, wb_acceptor, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (WbAcceptOutcome, wb_accept_outcome, wb_accept_outcome_copy, wb_accept_outcome_free)

enum {
  SIGNAL_STARTED,
  SIGNAL_DONE,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

/* One accept in flight and everyone waiting for it. */
typedef struct
{
  char      *id;
  GPtrArray *waiters;       /* GTask */
  WbBackoff  backoff;
  guint      attempts;
  guint      retry_id;
} WbAcceptorOp;

/* What an RPC callback carries: the op may be gone (cancelled) by the time it runs. */
typedef struct
{
  WbAcceptor *self;   /* (owned) */
  char       *id;
} WbAcceptorCall;

static void
op_free (WbAcceptorOp *op)
{
  g_clear_handle_id (&op->retry_id, g_source_remove);
  g_free (op->id);
  g_clear_pointer (&op->waiters, g_ptr_array_unref);
  wb_backoff_clear (&op->backoff);
  g_free (op);
}

static WbAcceptorCall *
call_new (WbAcceptor *self,
          const char *id)
{
  WbAcceptorCall *call = g_new0 (WbAcceptorCall, 1);

  call->self = g_object_ref (self);
  call->id = g_strdup (id);
  return call;
}

static void
call_free (WbAcceptorCall *call)
{
  g_clear_object (&call->self);
  g_free (call->id);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbAcceptorCall, call_free)

/* ---- outcomes ---------------------------------------------------------------------------- */

WbAcceptOutcome *
wb_accept_outcome_copy (const WbAcceptOutcome *outcome)
{
  WbAcceptOutcome *copy = g_new0 (WbAcceptOutcome, 1);

  copy->result = outcome->result;
  copy->assignment_id = g_strdup (outcome->assignment_id);
  copy->session_id = g_strdup (outcome->session_id);
  copy->mechanic_id = g_strdup (outcome->mechanic_id);
  copy->taken_by = g_strdup (outcome->taken_by);
  copy->status = g_strdup (outcome->status);
  copy->code = g_strdup (outcome->code);
  copy->message = g_strdup (outcome->message);
  copy->row = outcome->row != NULL ? json_object_ref (outcome->row) : NULL;
  return copy;
}

void
wb_accept_outcome_free (WbAcceptOutcome *outcome)
{
  if (outcome == NULL)
    return;
  g_free (outcome->assignment_id);
  g_free (outcome->session_id);
  g_free (outcome->mechanic_id);
  g_free (outcome->taken_by);
  g_free (outcome->status);
  g_free (outcome->code);
  g_free (outcome->message);
  g_clear_pointer (&outcome->row, json_object_unref);
  g_free (outcome);
}

const char *
wb_accept_result_to_string (WbAcceptResult result)
{
  switch (result)
    {
    case WB_ACCEPT_WON:    return "won";
    case WB_ACCEPT_TAKEN:  return "taken";
    case WB_ACCEPT_GONE:   return "gone";
    case WB_ACCEPT_FAILED:
    default:               return "failed";
    }
}

int
wb_accept_result_exit_code (WbAcceptResult result)
{
  switch (result)
    {
    case WB_ACCEPT_WON:    return 0;
    case WB_ACCEPT_TAKEN:  return 3;
    case WB_ACCEPT_GONE:   return 4;
    case WB_ACCEPT_FAILED:
    default:               return 1;
    }
}

JsonNode *
wb_accept_outcome_to_json (const WbAcceptOutcome *outcome)
{
  JsonObject *obj = json_object_new ();
  JsonNode *node = json_node_init_object (json_node_alloc (), obj);

  /* NULL strings become JSON null. */
  json_object_set_string_member (obj, "outcome", wb_accept_result_to_string (outcome->result));
  json_object_set_string_member (obj, "assignment_id", outcome->assignment_id);
  json_object_set_string_member (obj, "session_id", outcome->session_id);
  json_object_set_string_member (obj, "taken_by", outcome->taken_by);
  json_object_set_string_member (obj, "status", outcome->status);
  json_object_set_string_member (obj, "code", outcome->code);
  json_object_set_string_member (obj, "message", outcome->message);
  json_object_unref (obj);
  return node;
}

static gboolean
replace_field (GString    *text,
               const char *field,
               const char *value)
{
  g_autofree char *escaped = NULL;

  if (strstr (text->str, field) == NULL)
    return TRUE;
  if (value == NULL || *value == '\0')
    return FALSE;
  escaped = g_uri_escape_string (value, NULL, FALSE);
  g_string_replace (text, field, escaped, 0);
  return TRUE;
}

char *
wb_accept_dashboard_url (const char *template_,
                         const char *session_id,
                         const char *assignment_id)
{
  g_autoptr(GString) text = NULL;
  g_autoptr(GUri) uri = NULL;
  const char *scheme;

  if (template_ == NULL || *template_ == '\0')
    return NULL;
  text = g_string_new (template_);
  if (!replace_field (text, "{session_id}", session_id) || !replace_field (text, "{assignment_id}", assignment_id))
    return NULL;
  uri = g_uri_parse (text->str, G_URI_FLAGS_NONE, NULL);
  scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  if (scheme == NULL || (g_ascii_strcasecmp (scheme, "https") != 0 && g_ascii_strcasecmp (scheme, "http") != 0)
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    return NULL;
  return g_string_free (g_steal_pointer (&text), FALSE);
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

/* The RPC returns the composite row: an object (PostgREST), or a one-row array from backends that
 * declare it `returns setof`. */
static JsonObject *
answer_row (JsonNode *body)
{
  if (body != NULL && JSON_NODE_HOLDS_OBJECT (body))
    return json_node_get_object (body);
  if (body != NULL && JSON_NODE_HOLDS_ARRAY (body) && json_array_get_length (json_node_get_array (body)) == 1)
    {
      JsonNode *first = json_array_get_element (json_node_get_array (body), 0);

      if (JSON_NODE_HOLDS_OBJECT (first))
        return json_node_get_object (first);
    }
  return NULL;
}

WbAcceptOutcome *
wb_accept_outcome_from_answer (const char *assignment_id,
                               guint       status,
                               JsonNode   *body,
                               const char *code,
                               const char *message,
                               const char *details)
{
  g_autoptr(WbAcceptOutcome) o = g_new0 (WbAcceptOutcome, 1);

  o->assignment_id = g_strdup (assignment_id);
  o->code = code != NULL ? wb_event_one_line (code, 16) : NULL;

  if (status >= 200 && status < 300)
    {
      JsonObject *row = answer_row (body);
      const char *id = member_string (row, "id");
      const char *row_status = member_string (row, "status");

      if (id != NULL && g_ascii_strcasecmp (id, assignment_id) == 0
          && g_strcmp0 (row_status, "accepted") == 0)
        {
          const char *session = member_string (row, "session_id");
          const char *mechanic = member_string (row, "mechanic_id");

          o->result = WB_ACCEPT_WON;
          o->status = g_strdup ("accepted");
          o->session_id = wb_event_id_looks_like_uuid (session) ? g_ascii_strdown (session, -1) : NULL;
          o->mechanic_id = wb_event_id_looks_like_uuid (mechanic) ? g_ascii_strdown (mechanic, -1) : NULL;
          o->row = json_object_ref (row);
          o->message = g_strdup ("taken by you");
        }
      else
        {
          o->result = WB_ACCEPT_FAILED;
          o->message = g_strdup ("the backend answered the accept with something that is not the accepted row");
        }
      return g_steal_pointer (&o);
    }

  if (g_strcmp0 (code, WB_ACCEPT_CODE_TAKEN) == 0)
    {
      const char *name = details;
      static const char prefix[] = "already taken by ";

      if ((name == NULL || *name == '\0') && message != NULL && g_str_has_prefix (message, prefix))
        name = message + strlen (prefix);
      o->result = WB_ACCEPT_TAKEN;
      o->status = g_strdup ("accepted");
      if (name != NULL && *name != '\0')
        o->taken_by = wb_event_one_line (name, MAX_NAME_CHARS);
      o->message = g_strdup_printf ("already taken by %s",
                                    o->taken_by != NULL ? o->taken_by : "another mechanic");
      return g_steal_pointer (&o);
    }

  if (g_strcmp0 (code, WB_ACCEPT_CODE_GONE) == 0)
    {
      o->result = WB_ACCEPT_GONE;
      if (details != NULL && *details != '\0')
        o->status = wb_event_one_line (details, MAX_STATUS_CHARS);
      o->message = o->status != NULL ? g_strdup_printf ("no longer queued (%s)", o->status)
                                      : g_strdup ("no longer queued");
      return g_steal_pointer (&o);
    }

  o->result = WB_ACCEPT_FAILED;
  o->message = wb_event_one_line (message != NULL && *message != '\0' ? message : "the accept failed", 300);
  return g_steal_pointer (&o);
}

/* ---- the RPC ----------------------------------------------------------------------------- */

static void send_rpc (WbAcceptor *self, WbAcceptorOp *op);

static void
finish_op (WbAcceptor      *self,
           const char      *id,
           WbAcceptOutcome *outcome,
           const GError    *error)
{
  g_autoptr(GPtrArray) waiters = NULL;
  gpointer key = NULL;
  WbAcceptorOp *op = NULL;

  if (!g_hash_table_steal_extended (self->ops, id, &key, (gpointer *) &op))
    return;
  g_free (key);
  waiters = g_steal_pointer (&op->waiters);
  op_free (op);

  if (outcome != NULL)
    {
      g_debug ("accept %s: %s (%s)", id, wb_accept_result_to_string (outcome->result), outcome->message);
      g_signal_emit (self, signals[SIGNAL_DONE], 0, outcome);
    }
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (outcome != NULL)
        g_task_return_pointer (task, wb_accept_outcome_copy (outcome), (GDestroyNotify) wb_accept_outcome_free);
      else
        g_task_return_error (task, g_error_copy (error));
    }
}

static gboolean
retry_cb (gpointer user_data)
{
  WbAcceptorCall *call = user_data;
  WbAcceptorOp *op = g_hash_table_lookup (call->self->ops, call->id);

  if (op != NULL)
    {
      op->retry_id = 0;
      send_rpc (call->self, op);
    }
  return G_SOURCE_REMOVE;
}

static void
answer_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(WbAcceptorCall) call = user_data;
  WbAcceptor *self = call->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(WbAcceptOutcome) outcome = NULL;
  g_autofree char *code = NULL;
  g_autofree char *message = NULL;
  g_autofree char *details = NULL;
  guint status = 0;
  WbAcceptorOp *op;

  body = wb_rest_client_request_finish_full (WB_REST_CLIENT (source), result, &status, NULL, &code, &error);
  op = g_hash_table_lookup (self->ops, call->id);
  if (op == NULL)
    return;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      finish_op (self, call->id, NULL, error);
      return;
    }
  if (error != NULL && wb_error_is_retryable (error) && op->attempts < WB_ACCEPT_MAX_ATTEMPTS)
    {
      guint delay = wb_backoff_next (&op->backoff);

      g_debug ("accept %s: %s; trying again in %u ms", call->id, error->message, delay);
      op->retry_id = g_timeout_add_full (G_PRIORITY_DEFAULT, delay, retry_cb,
                                         call_new (self, call->id), (GDestroyNotify) call_free);
      return;
    }

  if (status != 0 && error != NULL)
    wb_rest_client_request_get_error_text (self->rest, result, &message, &details);
  outcome = wb_accept_outcome_from_answer (call->id, error != NULL ? status : (status ? status : 200),
                                           body, code,
                                           message != NULL ? message : (error != NULL ? error->message : NULL),
                                           details);
  finish_op (self, call->id, outcome, NULL);
}

static void
send_rpc (WbAcceptor   *self,
          WbAcceptorOp *op)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "p_assignment_id");
  json_builder_add_string_value (b, op->id);
  json_builder_end_object (b);
  body = json_builder_get_root (b);

  op->attempts++;
  self->requests++;
  wb_rest_client_request_async (self->rest, "POST", WB_ACCEPT_RPC_PATH, body, WB_REST_FLAGS_NONE,
                                self->cancellable, answer_cb, call_new (self, op->id));
}

static void
return_now (GTask           *task,
            WbAcceptOutcome *outcome)
{
  g_task_return_pointer (task, outcome, (GDestroyNotify) wb_accept_outcome_free);
}

void
wb_acceptor_accept_async (WbAcceptor          *self,
                          const char          *assignment_id,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *id = NULL;
  WbAcceptorOp *op;

  g_return_if_fail (WB_IS_ACCEPTOR (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_acceptor_accept_async);

  if (!wb_event_id_looks_like_uuid (assignment_id))
    {
      WbAcceptOutcome *o = g_new0 (WbAcceptOutcome, 1);

      o->result = WB_ACCEPT_FAILED;
      o->assignment_id = assignment_id != NULL ? wb_event_one_line (assignment_id, 40) : NULL;
      o->message = g_strdup ("not an assignment id");
      return_now (task, o);
      return;
    }

  id = g_ascii_strdown (assignment_id, -1);
  op = g_hash_table_lookup (self->ops, id);
  if (op != NULL)
    {
      /* Never a second accept while one is on its way: share its answer. */
      g_ptr_array_add (op->waiters, g_steal_pointer (&task));
      return;
    }

  op = g_new0 (WbAcceptorOp, 1);
  op->id = g_strdup (id);
  op->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  wb_backoff_init (&op->backoff, self->retry_delay_ms, self->retry_delay_ms * 3, 3.0, 0.2);
  g_ptr_array_add (op->waiters, g_steal_pointer (&task));
  g_hash_table_insert (self->ops, g_strdup (id), op);
  g_signal_emit (self, signals[SIGNAL_STARTED], 0, id);
  send_rpc (self, op);
}

WbAcceptOutcome *
wb_acceptor_accept_finish (WbAcceptor    *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (WB_IS_ACCEPTOR (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Stops every accept in flight (their callers get G_IO_ERROR_CANCELLED); later accepts work. */
void
wb_acceptor_cancel (WbAcceptor *self)
{
  g_return_if_fail (WB_IS_ACCEPTOR (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
}

gboolean
wb_acceptor_is_accepting (WbAcceptor *self,
                          const char *assignment_id)
{
  g_return_val_if_fail (WB_IS_ACCEPTOR (self), FALSE);

  return assignment_id != NULL && g_hash_table_contains (self->ops, assignment_id);
}

guint64
wb_acceptor_get_requests (WbAcceptor *self)
{
  g_return_val_if_fail (WB_IS_ACCEPTOR (self), 0);

  return self->requests;
}


void
wb_acceptor_set_retry_delay_ms (WbAcceptor *self,
                                guint       delay_ms)
{
  g_return_if_fail (WB_IS_ACCEPTOR (self));

  self->retry_delay_ms = MAX (delay_ms, 1);
}

static void
wb_acceptor_dispose (GObject *object)
{
  WbAcceptor *self = WB_ACCEPTOR (object);

  g_cancellable_cancel (self->cancellable);
  if (self->ops != NULL && g_hash_table_size (self->ops) > 0)
    {
      g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "shutting down");
      g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
      GList *keys = g_hash_table_get_keys (self->ops);

      for (GList *l = keys; l != NULL; l = l->next)
        g_ptr_array_add (ids, g_strdup (l->data));
      g_list_free (keys);
      for (guint i = 0; i < ids->len; i++)
        finish_op (self, g_ptr_array_index (ids, i), NULL, error);
    }
  G_OBJECT_CLASS (wb_acceptor_parent_class)->dispose (object);
}

static void
wb_acceptor_finalize (GObject *object)
{
  WbAcceptor *self = WB_ACCEPTOR (object);

  g_clear_pointer (&self->ops, g_hash_table_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->rest);
  G_OBJECT_CLASS (wb_acceptor_parent_class)->finalize (object);
}

static void
wb_acceptor_class_init (WbAcceptorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_acceptor_dispose;
  object_class->finalize = wb_acceptor_finalize;

  signals[SIGNAL_STARTED] =
    g_signal_new ("started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_DONE] =
    g_signal_new ("done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, WB_TYPE_ACCEPT_OUTCOME | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
wb_acceptor_init (WbAcceptor *self)
{
  self->cancellable = g_cancellable_new ();
  self->ops = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) op_free);
  self->retry_delay_ms = DEFAULT_RETRY_MS;
}

WbAcceptor *
wb_acceptor_new (WbRestClient *rest)
{
  WbAcceptor *self;

  g_return_val_if_fail (WB_IS_REST_CLIENT (rest), NULL);

  self = g_object_new (WB_TYPE_ACCEPTOR, NULL);
  self->rest = g_object_ref (rest);
  return self;
}
