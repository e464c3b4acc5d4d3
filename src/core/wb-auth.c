/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-auth.c: Supabase Auth session: password sign-in, refresh-token rotation ahead of expiry. */

#define G_LOG_DOMAIN "wb-auth"

#include "config.h"

#include <string.h>

#include "wb-auth.h"
#include "wb-auth-tokens.h"
#include "wb-backoff.h"
#include "wb-error.h"
#include "wb-secret.h"

#define EARLY_REFRESH_MS   90000  /* refresh at least this long before expiry… */

struct _WbAuth
{
  GObject       parent_instance;
  WbRestClient *rest;            /* (owned) */
  WbAuthState   state;
  char         *access_token;    /* (owned) (nullable) never logged */
  char         *refresh_token;   /* (owned) (nullable) never logged */
  char         *user_id;         /* (owned) (nullable) */
  gint64        expires_at;
  GCancellable *cancellable;     /* (owned) (nullable) the running sign-in or refresh */
  GPtrArray    *waiters;         /* (owned) GTask*: callers of refresh_async for this round */
  gboolean      refreshing;      /* a refresh round runs (request or backoff wait) */
  gboolean      in_flight;       /* a refresh request is on the wire */
  guint         timer_id;        /* scheduled refresh ahead of expiry, or a backoff retry */
  gint64        timer_deadline_us;
  WbBackoff     backoff;
  guint         attempts;        /* failed attempts in this round */
  guint         attempts_before_failing;
  guint         refresh_requests;
};

G_DEFINE_FINAL_TYPE (WbAuth, wb_auth, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (WbAuthState, wb_auth_state,
  G_DEFINE_ENUM_VALUE (WB_AUTH_STATE_SIGNED_OUT, "signed-out"),
  G_DEFINE_ENUM_VALUE (WB_AUTH_STATE_SIGNING_IN, "signing-in"),
  G_DEFINE_ENUM_VALUE (WB_AUTH_STATE_SIGNED_IN, "signed-in"),
  G_DEFINE_ENUM_VALUE (WB_AUTH_STATE_REFRESHING, "refreshing"))

enum {
  PROP_0,
  PROP_ACCESS_TOKEN,
  PROP_REFRESH_TOKEN,
  PROP_EXPIRES_AT,
  PROP_USER_ID,
  PROP_STATE,
  N_PROPS,
};

enum {
  SIGNAL_TOKEN_CHANGED,
  SIGNAL_SIGNED_OUT,
  N_SIGNALS,
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void start_refresh (WbAuth *self);

/* ---- state ------------------------------------------------------------------------------- */

static void
set_state (WbAuth      *self,
           WbAuthState  state)
{
  if (self->state == state)
    return;
  g_debug ("state %d -> %d", self->state, state);
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
complete_waiters (WbAuth       *self,
                  const GError *error)
{
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&self->waiters);

  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
    }
}

static gboolean
refresh_timer_cb (gpointer data)
{
  WbAuth *self = data;

  self->timer_id = 0;
  self->timer_deadline_us = 0;
  start_refresh (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_timer (WbAuth *self,
                guint   delay_ms)
{
  g_clear_handle_id (&self->timer_id, g_source_remove);
  self->timer_id = g_timeout_add (delay_ms, refresh_timer_cb, self);
  self->timer_deadline_us = g_get_monotonic_time () + (gint64) delay_ms * 1000;
}

static void
apply_tokens (WbAuth       *self,
              WbAuthTokens *tokens)
{
  gint64 lifetime_ms = tokens->expires_in * 1000;
  gint64 delay_ms;

  g_object_freeze_notify (G_OBJECT (self));
  wb_secret_free (self->access_token);
  self->access_token = g_steal_pointer (&tokens->access_token);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCESS_TOKEN]);
  wb_secret_free (self->refresh_token);
  self->refresh_token = g_steal_pointer (&tokens->refresh_token);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REFRESH_TOKEN]);
  if (g_strcmp0 (self->user_id, tokens->user_id) != 0)
    {
      g_free (self->user_id);
      self->user_id = g_steal_pointer (&tokens->user_id);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USER_ID]);
    }
  self->expires_at = tokens->expires_at;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXPIRES_AT]);
  wb_rest_client_set_access_token (self->rest, self->access_token);
  set_state (self, WB_AUTH_STATE_SIGNED_IN);
  g_object_thaw_notify (G_OBJECT (self));

  /* At least 90 s ahead of expiry; for short-lived tokens half the lifetime. A token that has
   * already expired (no expires_in, and an exp in the past) leaves nothing to be ahead of: asking
   * again at once would loop every 10 ms while the server keeps answering so. Back off then, and
   * start over only once a token with a lifetime comes. */
  if (tokens->expires_in <= 0)
    delay_ms = wb_backoff_next (&self->backoff);
  else
    {
      wb_backoff_reset (&self->backoff);
      if (lifetime_ms > 2 * EARLY_REFRESH_MS)
        delay_ms = lifetime_ms - EARLY_REFRESH_MS;
      else
        delay_ms = lifetime_ms / 2;
    }
  delay_ms = CLAMP (delay_ms, 10, G_MAXINT32);
  g_debug ("session valid for %" G_GINT64_FORMAT " s; refresh in %" G_GINT64_FORMAT " ms",
           tokens->expires_in, delay_ms);
  schedule_timer (self, (guint) delay_ms);
  g_signal_emit (self, signals[SIGNAL_TOKEN_CHANGED], 0);
}

static void
clear_session (WbAuth     *self,
               const char *message,
               gboolean    emit_signed_out)
{
  g_autoptr(GError) error = g_error_new (WB_ERROR, WB_ERROR_SIGNED_OUT, "%s", message);
  gboolean had_token = self->access_token != NULL;
  gboolean was_signed_out = self->state == WB_AUTH_STATE_SIGNED_OUT;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->timer_id, g_source_remove);
  self->timer_deadline_us = 0;
  self->refreshing = FALSE;
  self->in_flight = FALSE;
  self->attempts = 0;
  wb_backoff_reset (&self->backoff);

  g_object_freeze_notify (G_OBJECT (self));
  wb_secret_clear (&self->access_token);
  wb_secret_clear (&self->refresh_token);
  g_clear_pointer (&self->user_id, g_free);
  self->expires_at = 0;
  wb_rest_client_set_access_token (self->rest, NULL);
  for (guint p = PROP_ACCESS_TOKEN; p <= PROP_USER_ID; p++)
    g_object_notify_by_pspec (G_OBJECT (self), properties[p]);
  set_state (self, WB_AUTH_STATE_SIGNED_OUT);
  g_object_thaw_notify (G_OBJECT (self));

  complete_waiters (self, error);
  if (had_token)
    g_signal_emit (self, signals[SIGNAL_TOKEN_CHANGED], 0);
  if (emit_signed_out && !was_signed_out)
    g_signal_emit (self, signals[SIGNAL_SIGNED_OUT], 0, message);
}

/* ---- refresh ----------------------------------------------------------------------------- */

static void
refresh_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(WbAuth) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *code = NULL;
  WbAuthTokens tokens;
  guint status = 0;
  guint retry_after_ms = 0;
  guint delay;
  gboolean ok;

  node = wb_rest_client_request_finish_full (WB_REST_CLIENT (source), result, &status,
                                             &retry_after_ms, &code, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* signed out or superseded: whoever cancelled has answered the waiters */
  self->in_flight = FALSE;
  wb_rest_redact_error (error, self->refresh_token);

  ok = error == NULL && wb_auth_parse_token_response (node, g_get_real_time () / G_USEC_PER_SEC,
                                                      &tokens, &error);
  wb_secret_wipe_json (node);
  if (ok)
    {
      g_clear_object (&self->cancellable);
      self->refreshing = FALSE;
      self->attempts = 0;
      apply_tokens (self, &tokens);   /* resets the backoff, unless the token is already expired */
      wb_auth_tokens_clear (&tokens);
      complete_waiters (self, NULL);
      return;
    }

  if (!wb_error_is_retryable (error) && status != 409
      && !g_error_matches (error, WB_ERROR, WB_ERROR_INVALID_DATA))
    {
      /* Revoked, unknown, reused or malformed refresh token: the user has to sign in again.
       * Never retried, so a dead token cannot loop. */
      g_autofree char *message = g_strdup_printf ("Session ended: %s", error->message);

      g_debug ("refresh rejected (%s); signing out", code != NULL ? code : "no code");
      clear_session (self, message, TRUE);
      return;
    }

  self->attempts++;
  delay = MAX (wb_backoff_next (&self->backoff), retry_after_ms);
  g_debug ("refresh failed (attempt %u): %s; retrying in %u ms", self->attempts, error->message,
           delay);
  if (self->attempts >= self->attempts_before_failing)
    complete_waiters (self, error);
  /* The round goes on in the background until it succeeds or the token is rejected. */
  schedule_timer (self, delay);
}

static void
send_refresh (WbAuth *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "refresh_token");
  json_builder_add_string_value (b, self->refresh_token);
  json_builder_end_object (b);
  body = json_builder_get_root (b);

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->refresh_requests++;
  self->in_flight = TRUE;
  wb_rest_client_request_async (self->rest, "POST", "/auth/v1/token?grant_type=refresh_token",
                                body, WB_REST_FLAGS_AUTH | WB_REST_FLAGS_SMALL, self->cancellable, refresh_cb,
                                g_object_ref (self));
  wb_secret_wipe_json (body);   /* the request has its own (wiped) copy */
}

static void
start_refresh (WbAuth *self)
{
  if (self->refresh_token == NULL)
    {
      clear_session (self, "Not signed in", FALSE);
      return;
    }
  if (self->in_flight)
    return;   /* coalesce */
  g_clear_handle_id (&self->timer_id, g_source_remove);
  self->timer_deadline_us = 0;
  if (!self->refreshing)
    {
      self->refreshing = TRUE;
      self->attempts = 0;
    }
  set_state (self, WB_AUTH_STATE_REFRESHING);
  send_refresh (self);
}

/* Starts a refresh (or joins the one running) and completes when it has an outcome. */
void
wb_auth_refresh_async (WbAuth              *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (WB_IS_AUTH (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_auth_refresh_async);
  if (self->refresh_token == NULL || self->state == WB_AUTH_STATE_SIGNING_IN)
    {
      g_task_return_new_error (task, WB_ERROR, WB_ERROR_SIGNED_OUT, "Not signed in");
      return;
    }
  g_ptr_array_add (self->waiters, g_steal_pointer (&task));
  start_refresh (self);
}

gboolean
wb_auth_refresh_finish (WbAuth        *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == wb_auth_refresh_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Refreshes now-ish (after resume from suspend, after a 401, after a channel's token expired). */
void
wb_auth_refresh_soon (WbAuth     *self,
                      const char *reason)
{
  g_return_if_fail (WB_IS_AUTH (self));

  if (self->refresh_token == NULL || self->state == WB_AUTH_STATE_SIGNING_IN)
    return;
  if (self->in_flight)
    return;
  g_debug ("refresh soon: %s", reason != NULL ? reason : "(no reason)");
  if (self->refreshing)
    wb_backoff_reset (&self->backoff);
  schedule_timer (self, 0);
}

/* ---- sign-in / sign-out ------------------------------------------------------------------ */

static void
sign_in_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WbAuth *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *code = NULL;
  WbAuthTokens tokens;
  gboolean ok;

  node = wb_rest_client_request_finish_full (WB_REST_CLIENT (source), result, NULL, NULL, &code,
                                             &error);
  wb_rest_redact_error (error, g_task_get_task_data (task));
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_clear_object (&self->cancellable);
  ok = error == NULL && wb_auth_parse_token_response (node, g_get_real_time () / G_USEC_PER_SEC,
                                                      &tokens, &error);
  wb_secret_wipe_json (node);
  if (ok)
    {
      apply_tokens (self, &tokens);
      wb_auth_tokens_clear (&tokens);
      complete_waiters (self, NULL);
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* A failed sign-in leaves a previous session (if any) in place. */
  if (self->refresh_token != NULL && self->access_token != NULL)
    {
      set_state (self, WB_AUTH_STATE_SIGNED_IN);
      wb_auth_refresh_soon (self, "sign-in failed, keeping the previous session");
    }
  else
    set_state (self, WB_AUTH_STATE_SIGNED_OUT);
  if (g_error_matches (error, WB_ERROR, WB_ERROR_FAILED)
      && g_strcmp0 (code, "invalid_credentials") == 0)
    error->code = WB_ERROR_UNAUTHORIZED;
  complete_waiters (self, error);
  g_task_return_error (task, g_steal_pointer (&error));
}

/* Password grant. Fails with WB_ERROR_UNAUTHORIZED for wrong credentials (server message). */
void
wb_auth_sign_in_password_async (WbAuth              *self,
                                const char          *email,
                                const char          *password,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;

  g_return_if_fail (WB_IS_AUTH (self));
  g_return_if_fail (email != NULL && password != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_auth_sign_in_password_async);
  g_task_set_task_data (task, g_strdup (password), (GDestroyNotify) wb_secret_free);
  if (self->state == WB_AUTH_STATE_SIGNING_IN)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, "Already signing in");
      return;
    }

  /* A sign-in supersedes a running refresh round. */
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->timer_id, g_source_remove);
  self->refreshing = FALSE;
  self->in_flight = FALSE;
  set_state (self, WB_AUTH_STATE_SIGNING_IN);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "email");
  json_builder_add_string_value (b, email);
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, password);
  json_builder_end_object (b);
  body = json_builder_get_root (b);

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  wb_rest_client_request_async (self->rest, "POST", "/auth/v1/token?grant_type=password", body,
                                WB_REST_FLAGS_AUTH | WB_REST_FLAGS_SMALL, self->cancellable, sign_in_cb,
                                g_steal_pointer (&task));
  wb_secret_wipe_json (body);   /* the request has its own (wiped) copy */
}

gboolean
wb_auth_sign_in_password_finish (WbAuth        *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == wb_auth_sign_in_password_async,
                        FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Forgets the session locally (the keyring is the token store's business). */
void
wb_auth_sign_out (WbAuth *self)
{
  g_return_if_fail (WB_IS_AUTH (self));
  clear_session (self, "Signed out", TRUE);
}

/* Starts from a refresh token kept in the keyring; call wb_auth_refresh_async() next. */
void
wb_auth_set_refresh_token (WbAuth     *self,
                           const char *refresh_token)
{
  g_return_if_fail (WB_IS_AUTH (self));

  if (g_strcmp0 (self->refresh_token, refresh_token) == 0)
    return;
  wb_secret_set (&self->refresh_token, (refresh_token != NULL && refresh_token[0] != '\0')
                                       ? refresh_token : NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REFRESH_TOKEN]);
}

void
wb_auth_set_retry_backoff (WbAuth *self,
                           guint   base_ms,
                           guint   max_ms,
                           guint   attempts_before_failing)
{
  g_return_if_fail (WB_IS_AUTH (self));
  wb_backoff_init (&self->backoff, base_ms, max_ms, 2.0, 0.5);
  self->attempts_before_failing = MAX (attempts_before_failing, 1);
}

WbAuthState
wb_auth_get_state (WbAuth *self)
{
  g_return_val_if_fail (WB_IS_AUTH (self), WB_AUTH_STATE_SIGNED_OUT);
  return self->state;
}

const char *
wb_auth_get_access_token (WbAuth *self)
{
  g_return_val_if_fail (WB_IS_AUTH (self), NULL);
  return self->access_token;
}

const char *
wb_auth_get_refresh_token (WbAuth *self)
{
  g_return_val_if_fail (WB_IS_AUTH (self), NULL);
  return self->refresh_token;
}

gint64
wb_auth_get_expires_at (WbAuth *self)
{
  g_return_val_if_fail (WB_IS_AUTH (self), 0);
  return self->expires_at;
}

const char *
wb_auth_get_user_id (WbAuth *self)
{
  g_return_val_if_fail (WB_IS_AUTH (self), NULL);
  return self->user_id;
}

guint
wb_auth_get_refresh_requests (WbAuth *self)
{
  g_return_val_if_fail (WB_IS_AUTH (self), 0);
  return self->refresh_requests;
}

/* Milliseconds until the scheduled refresh (or retry); -1 when none is scheduled. */
gint64
wb_auth_get_next_refresh_in_ms (WbAuth *self)
{
  if (self->timer_id == 0)
    return -1;
  return MAX (self->timer_deadline_us - g_get_monotonic_time (), 0) / 1000;
}

/* ---- GObject ----------------------------------------------------------------------------- */

static void
wb_auth_dispose (GObject *object)
{
  WbAuth *self = WB_AUTH (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->timer_id, g_source_remove);
  G_OBJECT_CLASS (wb_auth_parent_class)->dispose (object);
}

static void
wb_auth_finalize (GObject *object)
{
  WbAuth *self = WB_AUTH (object);

  g_clear_object (&self->rest);
  g_clear_pointer (&self->waiters, g_ptr_array_unref);
  wb_secret_free (self->access_token);
  wb_secret_free (self->refresh_token);
  g_free (self->user_id);
  wb_backoff_clear (&self->backoff);
  G_OBJECT_CLASS (wb_auth_parent_class)->finalize (object);
}

static void
wb_auth_get_property (GObject    *object,
                      guint       prop_id,
                      GValue     *value,
                      GParamSpec *pspec)
{
  WbAuth *self = WB_AUTH (object);

  switch (prop_id)
    {
    case PROP_ACCESS_TOKEN: g_value_set_string (value, self->access_token); break;
    case PROP_REFRESH_TOKEN: g_value_set_string (value, self->refresh_token); break;
    case PROP_EXPIRES_AT: g_value_set_int64 (value, self->expires_at); break;
    case PROP_USER_ID: g_value_set_string (value, self->user_id); break;
    case PROP_STATE: g_value_set_enum (value, self->state); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_auth_class_init (WbAuthClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags f = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->dispose = wb_auth_dispose;
  object_class->finalize = wb_auth_finalize;
  object_class->get_property = wb_auth_get_property;

  properties[PROP_ACCESS_TOKEN] = g_param_spec_string ("access-token", NULL, NULL, NULL, f);
  properties[PROP_REFRESH_TOKEN] = g_param_spec_string ("refresh-token", NULL, NULL, NULL, f);
  properties[PROP_EXPIRES_AT] = g_param_spec_int64 ("expires-at", NULL, NULL,
                                                    0, G_MAXINT64, 0, f);
  properties[PROP_USER_ID] = g_param_spec_string ("user-id", NULL, NULL, NULL, f);
  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, WB_TYPE_AUTH_STATE,
                                              WB_AUTH_STATE_SIGNED_OUT, f);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The access token changed (new session, rotation, or gone): push it to the channel. */
  signals[SIGNAL_TOKEN_CHANGED] = g_signal_new ("token-changed", G_TYPE_FROM_CLASS (klass),
                                                G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                G_TYPE_NONE, 0);
  /* The session ended (token revoked/unknown/reused, or sign_out()): needs the user. */
  signals[SIGNAL_SIGNED_OUT] = g_signal_new ("signed-out", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                             G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
wb_auth_init (WbAuth *self)
{
  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  wb_backoff_init (&self->backoff, 200, 30000, 2.0, 0.5);
  self->attempts_before_failing = 4;
}

WbAuth *
wb_auth_new (WbRestClient *rest)
{
  WbAuth *self;

  g_return_val_if_fail (WB_IS_REST_CLIENT (rest), NULL);
  self = g_object_new (WB_TYPE_AUTH, NULL);
  self->rest = g_object_ref (rest);
  return self;
}
