/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-rest-client.c: PostgREST / GoTrue requests with apikey + bearer, timeouts and WB_ERROR
 * mapping. */

#define G_LOG_DOMAIN "wb-rest-client"

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "wb-error.h"
#include "wb-json.h"
#include "wb-rest-client.h"
#include "wb-secret.h"
#include "wb-url-policy.h"

#define MAX_BODY_BYTES WB_REST_MAX_BODY_BYTES
#define MAX_BODY_DEPTH 64   /* PostgREST rows with embedded rows and jsonb columns nest < 10 */
#define MAX_RETRY_AFTER_S 3600
#define MAX_MESSAGE_CHARS 300
#define READ_CHUNK_BYTES (64 * 1024)

struct _WbRestClient
{
  GObject      parent_instance;
  SoupSession *session;         /* (owned) */
  char        *base_url;        /* (owned) no trailing slash */
  char        *apikey;          /* (owned) never logged */
  char        *access_token;    /* (owned) (nullable) never logged, wiped */
  guint        token_serial;
  guint        timeout_ms;
  gboolean     allow_insecure_http;
  WbRefreshFunc  refresh_func;  /* (nullable) asked once after a 401 (wb_rest_client_set_refresh_func) */
  gpointer       refresh_data;
  GDestroyNotify refresh_destroy;
  gboolean       refreshing;    /* the hook runs; these wait for it: */
  GPtrArray     *waiting;       /* (owned) GTask* calls to send again once it is done */
};

G_DEFINE_FINAL_TYPE (WbRestClient, wb_rest_client, G_TYPE_OBJECT)

typedef struct
{
  SoupMessage  *msg;            /* (owned) */
  GCancellable *cancellable;    /* (owned) internal: cancelled by the caller's or by the timeout */
  GCancellable *caller;         /* (owned) (nullable) */
  gulong        caller_handler;
  GSource      *timeout_source; /* (owned) (nullable) */
  gboolean      timed_out;
  guint         timeout_ms;
  char         *what;           /* (owned) "GET /rest/v1/sessions", no query */
  gint64        started_us;
  guint         status;
  guint         retry_after_ms;
  char         *error_code;     /* (owned) (nullable) */
  char         *error_message;  /* (owned) (nullable) the server's `message`, redacted */
  char         *error_details;  /* (owned) (nullable) PostgREST's `details`, redacted */
  WbRestFlags   flags;
  gsize         max_body;       /* the body is read in chunks and refused beyond this */
  GInputStream *stream;         /* (owned) (nullable) the response body while it is read */
  GByteArray   *body;           /* (owned) (nullable) what was read of it */
  guint8       *chunk;          /* (owned) (nullable) READ_CHUNK_BYTES */
  guint         tls_errors;     /* GTlsCertificateFlags the handshake saw */
} Request;

/* One wb_rest_client_request_async (): one attempt, or a second one after a 401 once the token
 * was refreshed. The caller reads the last attempt's status and error texts. */
typedef struct
{
  char         *method;         /* (owned) */
  char         *path;           /* (owned) */
  JsonNode     *body;           /* (owned) (nullable) */
  WbRestFlags   flags;
  GCancellable *caller;         /* (owned) (nullable) */
  GTask        *attempt;        /* (owned) (nullable) the last attempt; its data is a Request */
  guint         token_serial;   /* of the token the last attempt carried */
  gboolean      refreshed;
} Call;

static void
call_free (Call *call)
{
  g_free (call->method);
  g_free (call->path);
  g_clear_pointer (&call->body, json_node_unref);
  g_clear_object (&call->caller);
  g_clear_object (&call->attempt);
  g_free (call);
}

static void
request_free (Request *req)
{
  if (req->caller != NULL && req->caller_handler != 0)
    g_cancellable_disconnect (req->caller, req->caller_handler);
  g_clear_object (&req->caller);
  if (req->timeout_source != NULL)
    {
      g_source_destroy (req->timeout_source);
      g_clear_pointer (&req->timeout_source, g_source_unref);
    }
  g_clear_object (&req->cancellable);
  g_clear_object (&req->msg);
  g_clear_object (&req->stream);
  if (req->body != NULL)
    {
      /* Token responses carry the session: wipe them. */
      if (req->flags & WB_REST_FLAGS_AUTH)
        explicit_bzero (req->body->data, req->body->len);
      g_byte_array_unref (req->body);
    }
  g_free (req->chunk);
  g_free (req->what);
  g_free (req->error_code);
  g_free (req->error_message);
  g_free (req->error_details);
  g_free (req);
}

static void
wb_rest_client_finalize (GObject *object)
{
  WbRestClient *self = WB_REST_CLIENT (object);

  if (self->refresh_destroy != NULL)
    self->refresh_destroy (self->refresh_data);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);
  g_clear_object (&self->session);
  g_free (self->base_url);
  g_free (self->apikey);
  wb_secret_free (self->access_token);
  G_OBJECT_CLASS (wb_rest_client_parent_class)->finalize (object);
}

static void
wb_rest_client_class_init (WbRestClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = wb_rest_client_finalize;
}

static void
wb_rest_client_init (WbRestClient *self)
{
  self->session = soup_session_new_with_options ("max-conns-per-host", 8,
                                                 "max-conns", 16,
                                                 "timeout", 0,
                                                 "idle-timeout", 60,
                                                 "user-agent", "Wrenchbell/" PACKAGE_VERSION,
                                                 NULL);
  self->timeout_ms = WB_REST_DEFAULT_TIMEOUT_MS;
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
}

WbRestClient *
wb_rest_client_new (const char *base_url,
                    const char *apikey)
{
  WbRestClient *self;
  gsize len;

  g_return_val_if_fail (base_url != NULL, NULL);
  g_return_val_if_fail (apikey != NULL, NULL);

  self = g_object_new (WB_TYPE_REST_CLIENT, NULL);
  self->base_url = g_strdup (base_url);
  len = strlen (self->base_url);
  while (len > 0 && self->base_url[len - 1] == '/')
    self->base_url[--len] = '\0';
  self->apikey = g_strdup (apikey);
  return self;
}

const char *
wb_rest_client_get_base_url (WbRestClient *self)
{
  g_return_val_if_fail (WB_IS_REST_CLIENT (self), NULL);
  return self->base_url;
}

/* Sets the user's access token used as bearer; NULL falls back to the apikey. */
void
wb_rest_client_set_access_token (WbRestClient *self,
                                 const char   *access_token)
{
  g_return_if_fail (WB_IS_REST_CLIENT (self));

  if (access_token != NULL && access_token[0] == '\0')
    access_token = NULL;
  if (g_strcmp0 (self->access_token, access_token) == 0)
    return;
  wb_secret_set (&self->access_token, access_token);
  self->token_serial++;
}

gboolean
wb_rest_client_has_access_token (WbRestClient *self)
{
  g_return_val_if_fail (WB_IS_REST_CLIENT (self), FALSE);
  return self->access_token != NULL;
}

/* Incremented each time the access token changes: lets a caller that got a 401 tell whether
 * the token it used has been replaced meanwhile (then it retries without refreshing again). */
guint
wb_rest_client_get_token_serial (WbRestClient *self)
{
  g_return_val_if_fail (WB_IS_REST_CLIENT (self), 0);
  return self->token_serial;
}

/* Plain http:// to anything but this machine is refused (nothing is sent) unless allowed here;
 * see wb-url-policy.c. */
void
wb_rest_client_set_allow_insecure_http (WbRestClient *self,
                                        gboolean      allow)
{
  g_return_if_fail (WB_IS_REST_CLIENT (self));
  self->allow_insecure_http = allow;
}

void
wb_rest_client_set_timeout_ms (WbRestClient *self,
                               guint         timeout_ms)
{
  g_return_if_fail (WB_IS_REST_CLIENT (self));
  self->timeout_ms = timeout_ms;
}

guint
wb_rest_client_get_timeout_ms (WbRestClient *self)
{
  g_return_val_if_fail (WB_IS_REST_CLIENT (self), 0);
  return self->timeout_ms;
}

/* Percent-encodes a filter value for the query string (every reserved character). */
char *
wb_rest_encode_value (const char *value)
{
  return g_uri_escape_string (value != NULL ? value : "", NULL, FALSE);
}

char *
wb_rest_filter_eq (const char *column,
                   const char *value)
{
  g_autofree char *enc = wb_rest_encode_value (value);

  return g_strdup_printf ("%s=eq.%s", column, enc);
}

/* `column=in.("a","b")`: every value double-quoted (a comma, parenthesis or quote inside a value
 * stays part of it; `"` and `\` are escaped with a backslash, as PostgREST reads them), then
 * percent-encoded like any filter value. */
char *
wb_rest_filter_in (const char         *column,
                   const char * const *values,
                   guint               n_values)
{
  g_autoptr(GString) list = g_string_new ("(");
  g_autofree char *enc = NULL;

  for (guint i = 0; i < n_values; i++)
    {
      if (i > 0)
        g_string_append_c (list, ',');
      g_string_append_c (list, '"');
      for (const char *p = values[i] != NULL ? values[i] : ""; *p != '\0'; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (list, '\\');
          g_string_append_c (list, *p);
        }
      g_string_append_c (list, '"');
    }
  g_string_append_c (list, ')');
  enc = wb_rest_encode_value (list->str);
  return g_strdup_printf ("%s=in.%s", column, enc);
}

/* Parses a response body: empty → *node = NULL; otherwise it must be strict JSON (wb-json.c),
 * nested at most MAX_BODY_DEPTH levels. */
gboolean
wb_rest_parse_body (const char  *data,
                    gsize        len,
                    JsonNode   **node,
                    GError     **error)
{
  gsize i;

  *node = NULL;
  for (i = 0; i < len && g_ascii_isspace (data[i]); i++)
    ;
  if (i == len)
    return TRUE;
  if (len > MAX_BODY_BYTES)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA,
                           "Response body is not UTF-8 or too large");
      return FALSE;
    }
  *node = wb_json_parse (data, len, MAX_BODY_DEPTH, error);
  if (*node == NULL)
    {
      g_prefix_error (error, "Response body is not JSON: ");
      return FALSE;
    }
  return TRUE;
}

/* Extracts a human message and an error code from a PostgREST ({code,message,details,hint}),
 * GoTrue ({code,message} / {code:int,error_code,msg}) or OAuth ({error,error_description}) body. */
void
wb_rest_parse_error_body (JsonNode  *node,
                          char     **message,
                          char     **code)
{
  JsonObject *obj;
  const char *msg = NULL;
  const char *c = NULL;

  *message = NULL;
  *code = NULL;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  obj = json_node_get_object (node);
  msg = wb_json_get_string (obj, "message");
  if (msg == NULL)
    msg = wb_json_get_string (obj, "msg");
  if (msg == NULL)
    msg = wb_json_get_string (obj, "error_description");
  if (msg == NULL)
    msg = wb_json_get_string (obj, "error");
  c = wb_json_get_string (obj, "error_code");
  if (c == NULL)
    c = wb_json_get_string (obj, "code");
  if (c == NULL)
    c = wb_json_get_string (obj, "error");
  if (msg != NULL)
    *message = g_utf8_substring (msg, 0, MIN (g_utf8_strlen (msg, -1), MAX_MESSAGE_CHARS));
  if (c != NULL)
    *code = g_utf8_substring (c, 0, MIN (g_utf8_strlen (c, -1), 64));
}

/* Retry-After: delta seconds or an HTTP date. Returns milliseconds (0: absent/invalid). */
guint
wb_rest_parse_retry_after (const char *value,
                           gint64      now_unix)
{
  g_autoptr(GDateTime) when = NULL;
  const char *p;
  gint64 secs = 0;

  if (value == NULL)
    return 0;
  while (g_ascii_isspace (*value))
    value++;
  if (g_ascii_isdigit (*value))
    {
      for (p = value; g_ascii_isdigit (*p); p++)
        {
          secs = secs * 10 + (*p - '0');
          if (secs > MAX_RETRY_AFTER_S)
            secs = MAX_RETRY_AFTER_S;
        }
      while (g_ascii_isspace (*p))
        p++;
      if (*p != '\0')
        return 0;
      return (guint) secs * 1000;
    }
  if (*value == '\0')
    return 0;
  when = soup_date_time_new_from_http_string (value);
  if (when == NULL)
    return 0;
  secs = g_date_time_to_unix (when) - now_unix;
  return (guint) CLAMP (secs, 0, MAX_RETRY_AFTER_S) * 1000;
}

/* Maps an HTTP error status to WB_ERROR, with the server's message (already redacted). */
GError *
wb_rest_error_for_status (guint       status,
                          const char *what,
                          const char *message,
                          const char *code)
{
  WbError e;

  if (status == 401)
    e = WB_ERROR_UNAUTHORIZED;
  else if (status == 403)
    e = WB_ERROR_FORBIDDEN;
  else if (status == 404 || status == 406)
    e = WB_ERROR_NOT_FOUND;
  else if (status == 408)
    e = WB_ERROR_TIMEOUT;
  else if (status == 429)
    e = WB_ERROR_RATE_LIMITED;
  else if (status >= 500)
    e = WB_ERROR_SERVER;
  else
    e = WB_ERROR_FAILED;

  return g_error_new (WB_ERROR, e, "%s: HTTP %u%s%s%s%s%s", what, status,
                      message != NULL ? ": " : "", message != NULL ? message : "",
                      code != NULL ? " (" : "", code != NULL ? code : "", code != NULL ? ")" : "");
}

static void
redact (GString    *str,
        const char *secret)
{
  if (secret != NULL && strlen (secret) >= 4)
    g_string_replace (str, secret, "[redacted]", 0);
}

/* Replaces every occurrence of @secret in @error's message by "[redacted]". */
void
wb_rest_redact_error (GError     *error,
                      const char *secret)
{
  GString *s;

  if (error == NULL || secret == NULL || strlen (secret) < 4 || !strstr (error->message, secret))
    return;
  s = g_string_new (error->message);
  redact (s, secret);
  g_free (error->message);
  error->message = g_string_free (s, FALSE);
}

static char *
make_safe_message (WbRestClient *self,
                   const char   *message)
{
  GString *s;

  if (message == NULL)
    return NULL;
  s = g_string_new (message);
  redact (s, self->access_token);
  redact (s, self->apikey);
  return g_string_free (s, FALSE);
}

static void
caller_cancelled_cb (GCancellable *caller,
                     gpointer      data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));
}

static gboolean
timeout_cb (gpointer data)
{
  Request *req = data;

  req->timed_out = TRUE;
  g_cancellable_cancel (req->cancellable);
  g_clear_pointer (&req->timeout_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* The whole body is in req->body: parse it, or map the error status. */
static void
finish_response (GTask *task)
{
  WbRestClient *self = g_task_get_source_object (task);
  Request *req = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  SoupMessageHeaders *headers = soup_message_get_response_headers (req->msg);
  const char *data = (const char *) req->body->data;
  gsize len = req->body->len;

  g_debug ("%s -> %u (%.1f ms)", req->what, req->status,
           (g_get_monotonic_time () - req->started_us) / 1000.0);

  if (req->status >= 200 && req->status < 300)
    {
      if (!wb_rest_parse_body (data, len, &node, &error))
        {
          g_prefix_error (&error, "%s: ", req->what);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_task_return_pointer (task, g_steal_pointer (&node), (GDestroyNotify) json_node_unref);
      return;
    }
  else
    {
      g_autofree char *message = NULL;
      g_autofree char *safe = NULL;
      const char *header_code = soup_message_headers_get_one (headers, "x-sb-error-code");

      if (wb_rest_parse_body (data, len, &node, NULL))
        wb_rest_parse_error_body (node, &message, &req->error_code);
      if (req->error_code == NULL && header_code != NULL)
        req->error_code = g_strndup (header_code, 64);
      if (message == NULL && soup_message_get_reason_phrase (req->msg) != NULL)
        message = g_strdup (soup_message_get_reason_phrase (req->msg));
      safe = make_safe_message (self, message);
      req->error_message = g_strdup (safe);
      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        {
          const char *details = wb_json_get_string (json_node_get_object (node), "details");
          g_autofree char *cut = details != NULL
            ? g_utf8_substring (details, 0, MIN (g_utf8_strlen (details, -1), MAX_MESSAGE_CHARS))
            : NULL;

          req->error_details = make_safe_message (self, cut);
        }
      if (req->status == 429 || req->status == 503)
        req->retry_after_ms =
          wb_rest_parse_retry_after (soup_message_headers_get_one (headers, "Retry-After"),
                                     g_get_real_time () / G_USEC_PER_SEC);
      g_task_return_error (task, wb_rest_error_for_status (req->status, req->what, safe,
                                                           req->error_code));
    }
}

/* The request (or reading its answer) failed before a whole response was there. */
static void
return_failure (GTask  *task,
                GError *error)
{
  WbRestClient *self = g_task_get_source_object (task);
  Request *req = g_task_get_task_data (task);

  if (req->timed_out)
    g_task_return_new_error (task, WB_ERROR, WB_ERROR_TIMEOUT, "%s: no answer within %u ms",
                             req->what, req->timeout_ms);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, g_error_copy (error));
  else
    {
      GError *mapped = wb_error_from_transport (error, req->tls_errors, req->what);

      wb_rest_redact_error (mapped, self->access_token);
      wb_rest_redact_error (mapped, self->apikey);
      g_task_return_error (task, mapped);
    }
}

/* Stops reading (without reading the rest, which may never end) and lets the connection go. */
static void
abandon_stream (Request *req)
{
  g_autoptr(GInputStream) stream = g_steal_pointer (&req->stream);

  if (stream != NULL && !g_input_stream_is_closed (stream))
    g_input_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
}

static void read_next (GTask *task);

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *req = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (n < 0)
    {
      abandon_stream (req);
      return_failure (task, error);
      return;
    }
  if (n == 0)
    {
      g_clear_object (&req->stream);
      finish_response (task);
      return;
    }
  if (req->body->len + (gsize) n > req->max_body)
    {
      /* An endless or oversized body: refused as soon as it crosses the cap, never buffered. */
      abandon_stream (req);
      if (req->status >= 200 && req->status < 300)
        g_task_return_new_error (task, WB_ERROR, WB_ERROR_INVALID_DATA,
                                 "%s: the response is larger than %" G_GSIZE_FORMAT " bytes",
                                 req->what, req->max_body);
      else
        {
          g_byte_array_set_size (req->body, 0);   /* an error status: its text is not needed */
          finish_response (task);
        }
      return;
    }
  g_byte_array_append (req->body, req->chunk, (guint) n);
  read_next (g_steal_pointer (&task));
}

static void
read_next (GTask *task)
{
  Request *req = g_task_get_task_data (task);

  g_input_stream_read_async (req->stream, req->chunk, READ_CHUNK_BYTES, G_PRIORITY_DEFAULT,
                             req->cancellable, read_cb, task);
}

static void
send_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *req = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  goffset announced;

  req->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (req->stream == NULL)
    {
      return_failure (task, error);
      return;
    }

  req->status = soup_message_get_status (req->msg);
  req->body = g_byte_array_new ();
  req->chunk = g_malloc (READ_CHUNK_BYTES);
  announced = soup_message_headers_get_content_length (soup_message_get_response_headers (req->msg));
  if (announced > 0 && (guint64) announced > req->max_body && req->status >= 200 && req->status < 300)
    {
      abandon_stream (req);
      g_task_return_new_error (task, WB_ERROR, WB_ERROR_INVALID_DATA,
                               "%s: the response is larger than %" G_GSIZE_FORMAT " bytes",
                               req->what, req->max_body);
      return;
    }
  read_next (g_steal_pointer (&task));
}

static gboolean
accept_certificate_cb (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  Request *req = user_data;

  req->tls_errors = errors;
  return FALSE;   /* never: only noted, to name the reason */
}

/* One HTTP exchange for @call; its task's data is the Request. */
static void
send_attempt (WbRestClient        *self,
              const Call          *call,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  const char *method = call->method;
  const char *path_and_query = call->path;
  WbRestFlags flags = call->flags;
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) refused = NULL;
  g_autofree char *url = NULL;
  g_autoptr(WbSecret) auth = NULL;
  SoupMessageHeaders *headers;
  Request *req;
  const char *q;
  const char *bearer;

  task = g_task_new (self, call->caller, callback, user_data);
  g_task_set_source_tag (task, send_attempt);

  req = g_new0 (Request, 1);
  q = strchr (path_and_query, '?');
  req->what = g_strdup_printf ("%s %.*s", method,
                               (int) (q != NULL ? q - path_and_query : (long) strlen (path_and_query)),
                               path_and_query);
  req->timeout_ms = self->timeout_ms;
  req->started_us = g_get_monotonic_time ();
  req->flags = flags;
  req->max_body = (flags & WB_REST_FLAGS_SMALL) ? WB_REST_SMALL_BODY_BYTES : MAX_BODY_BYTES;
  g_task_set_task_data (task, req, (GDestroyNotify) request_free);

  /* Nothing leaves the machine for an address the policy refuses. */
  if (!wb_url_policy_check (self->base_url, self->allow_insecure_http, &refused))
    {
      g_task_return_error (task, g_steal_pointer (&refused));
      return;
    }

  url = g_strconcat (self->base_url, path_and_query, NULL);
  req->msg = soup_message_new (method, url);
  if (req->msg == NULL)
    {
      g_task_return_new_error (task, WB_ERROR, WB_ERROR_FAILED, "%s: invalid URL", req->what);
      return;
    }
  g_signal_connect (req->msg, "accept-certificate", G_CALLBACK (accept_certificate_cb), req);

  headers = soup_message_get_request_headers (req->msg);
  bearer = (self->access_token != NULL && !(flags & WB_REST_FLAGS_AUTH))
           ? self->access_token : self->apikey;
  auth = g_strconcat ("Bearer ", bearer, NULL);
  soup_message_headers_replace (headers, "apikey", self->apikey);
  soup_message_headers_replace (headers, "Authorization", auth);
  soup_message_headers_replace (headers, "Accept", (flags & WB_REST_FLAGS_OBJECT)
                                ? "application/vnd.pgrst.object+json" : "application/json");
  soup_message_headers_replace (headers, "X-Client-Info", "wrenchbell/" PACKAGE_VERSION);
  if (flags & WB_REST_FLAGS_AUTH)
    soup_message_headers_replace (headers, "X-Supabase-Api-Version", "2024-01-01");
  if (call->body != NULL)
    {
      char *text = wb_json_to_string (call->body);
      /* Sign-in and refresh bodies carry the password or the refresh token: wiped when freed. */
      g_autoptr(GBytes) bytes = wb_secret_bytes_new (text, strlen (text));

      soup_message_set_request_body_from_bytes (req->msg, "application/json", bytes);
    }

  req->cancellable = g_cancellable_new ();
  if (call->caller != NULL)
    {
      req->caller = g_object_ref (call->caller);
      req->caller_handler = g_cancellable_connect (call->caller, G_CALLBACK (caller_cancelled_cb),
                                                   g_object_ref (req->cancellable),
                                                   g_object_unref);
    }
  if (req->timeout_ms > 0)
    {
      req->timeout_source = g_timeout_source_new (req->timeout_ms);
      g_source_set_static_name (req->timeout_source, "[wb] rest request timeout");
      g_source_set_callback (req->timeout_source, timeout_cb, req, NULL);
      g_source_attach (req->timeout_source, g_main_context_get_thread_default ());
    }

  /* Read in chunks (send + read loop), never buffered whole: see read_cb. */
  soup_session_send_async (self->session, req->msg, G_PRIORITY_DEFAULT, req->cancellable,
                           send_cb, g_steal_pointer (&task));
}

static void start_attempt (GTask *call_task);

static void
refresh_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(WbRestClient) self = user_data;
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&self->waiting);

  /* The hook's own result does not matter: the second attempt tells. */
  self->refreshing = FALSE;
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiting->len; i++)
    {
      GTask *call_task = g_ptr_array_index (waiting, i);

      if (!g_task_return_error_if_cancelled (call_task))
        start_attempt (g_object_ref (call_task));   /* the array drops its own reference */
    }
}

static void
attempt_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) call_task = user_data;
  WbRestClient *self = WB_REST_CLIENT (source);
  Call *call = g_task_get_task_data (call_task);
  GError *error = NULL;
  JsonNode *node = g_task_propagate_pointer (G_TASK (result), &error);

  g_set_object (&call->attempt, G_TASK (result));
  /* 401: the user's token expired or was revoked. Once per request: send it again with the token
   * someone refreshed meanwhile, or after asking the hook for a fresh one (one refresh for every
   * request refused meanwhile). GoTrue's own requests carry the apikey: never. */
  if (g_error_matches (error, WB_ERROR, WB_ERROR_UNAUTHORIZED) && !call->refreshed
      && !(call->flags & WB_REST_FLAGS_AUTH)
      && (self->token_serial != call->token_serial || self->refresh_func != NULL))
    {
      call->refreshed = TRUE;
      g_clear_error (&error);
      if (self->token_serial != call->token_serial)
        {
          start_attempt (g_steal_pointer (&call_task));
          return;
        }
      g_ptr_array_add (self->waiting, g_steal_pointer (&call_task));
      if (!self->refreshing)
        {
          self->refreshing = TRUE;
          self->refresh_func (self->refresh_data, NULL, refresh_done_cb, g_object_ref (self));
        }
      return;
    }
  if (error != NULL)
    g_task_return_error (call_task, error);
  else
    g_task_return_pointer (call_task, node, (GDestroyNotify) json_node_unref);
}

static void
start_attempt (GTask *call_task)
{
  WbRestClient *self = g_task_get_source_object (call_task);
  Call *call = g_task_get_task_data (call_task);

  call->token_serial = self->token_serial;
  send_attempt (self, call, attempt_done_cb, call_task);
}

/* Sends a request to the project (PostgREST, GoTrue, Realtime's REST). A 401 on a request that
 * carries the user's token is answered once: the request goes again with a fresh token (see
 * wb_rest_client_set_refresh_func ()). */
void
wb_rest_client_request_async (WbRestClient        *self,
                              const char          *method,
                              const char          *path_and_query,
                              JsonNode            *body,
                              WbRestFlags          flags,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task;
  Call *call;

  g_return_if_fail (WB_IS_REST_CLIENT (self));
  g_return_if_fail (method != NULL);
  g_return_if_fail (path_and_query != NULL && path_and_query[0] == '/');

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_rest_client_request_async);
  call = g_new0 (Call, 1);
  call->method = g_strdup (method);
  call->path = g_strdup (path_and_query);
  call->body = body != NULL ? json_node_ref (body) : NULL;
  call->flags = flags;
  call->caller = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  start_attempt (task);   /* takes the reference */
}

/* The one place a 401 leads to a token refresh: @func is asked (once at a time, for every
 * request refused meanwhile) and each refused request is sent again once when it is done.
 * wb_auth_refresh_async() has the shape, with the WbAuth as @user_data. */
void
wb_rest_client_set_refresh_func (WbRestClient   *self,
                                 WbRefreshFunc   func,
                                 gpointer        user_data,
                                 GDestroyNotify  destroy)
{
  g_return_if_fail (WB_IS_REST_CLIENT (self));

  if (self->refresh_destroy != NULL)
    self->refresh_destroy (self->refresh_data);
  self->refresh_func = func;
  self->refresh_data = user_data;
  self->refresh_destroy = destroy;
}

static Request *
last_request (GAsyncResult *result)
{
  Call *call = g_task_get_task_data (G_TASK (result));

  return call->attempt != NULL ? g_task_get_task_data (call->attempt) : NULL;
}

JsonNode *
wb_rest_client_request_finish_full (WbRestClient  *self,
                                    GAsyncResult  *result,
                                    guint         *status,
                                    guint         *retry_after_ms,
                                    char         **error_code,
                                    GError       **error)
{
  Request *req;

  g_return_val_if_fail (WB_IS_REST_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == wb_rest_client_request_async,
                        NULL);

  req = last_request (result);
  if (status != NULL)
    *status = req != NULL ? req->status : 0;
  if (retry_after_ms != NULL)
    *retry_after_ms = req != NULL ? req->retry_after_ms : 0;
  if (error_code != NULL)
    *error_code = req != NULL ? g_strdup (req->error_code) : NULL;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* After a request that failed with an HTTP status: the server's own `message` and PostgREST's
 * `details` (valid UTF-8, cut, tokens redacted; NULL when absent). Call before dropping @result. */
void
wb_rest_client_request_get_error_text (WbRestClient  *self,
                                       GAsyncResult  *result,
                                       char         **message,
                                       char         **details)
{
  Request *req;

  g_return_if_fail (WB_IS_REST_CLIENT (self));
  g_return_if_fail (g_task_is_valid (result, self));

  req = last_request (result);
  if (message != NULL)
    *message = req != NULL ? g_strdup (req->error_message) : NULL;
  if (details != NULL)
    *details = req != NULL ? g_strdup (req->error_details) : NULL;
}

/* Returns the parsed JSON body (NULL for an empty body, or on error). */
JsonNode *
wb_rest_client_request_finish (WbRestClient  *self,
                               GAsyncResult  *result,
                               guint         *status,
                               GError       **error)
{
  return wb_rest_client_request_finish_full (self, result, status, NULL, NULL, error);
}
