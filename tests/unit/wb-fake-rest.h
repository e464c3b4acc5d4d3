/* wb-fake-rest.h: a scripted, in-process PostgREST/GoTrue stand-in on 127.0.0.1, port 0.
 * Header-only (static inline) so that each test-*.c stays a single meson source. */
#pragma once

#include <libsoup/soup.h>
#include <string.h>

typedef struct
{
  char *method;
  char *path;
  char *query;          /* (nullable) decoded-as-sent query string */
  char *authorization;  /* (nullable) */
  char *apikey;         /* (nullable) */
  char *accept;         /* (nullable) */
  char *api_version;    /* (nullable) X-Supabase-Api-Version */
  char *body;           /* (nullable) */
} FakeRequest;

typedef struct
{
  guint       status;
  const char *body;         /* (nullable) JSON text */
  const char *retry_after;  /* (nullable) Retry-After header */
  const char *error_code;   /* (nullable) x-sb-error-code header */
  guint       delay_ms;     /* answer after this long */
  gboolean    never;        /* never answer */
} FakeReply;

typedef struct _FakeServer FakeServer;
typedef FakeReply (*FakeHandler) (FakeServer *fs, FakeRequest *req, gpointer data);

struct _FakeServer
{
  SoupServer  *server;
  char        *base_url;
  FakeHandler  handler;
  gpointer     handler_data;
  GPtrArray   *requests;     /* FakeRequest* */
  GPtrArray   *paused;       /* SoupServerMessage* never answered (owned refs) */
  guint        in_flight;    /* requests received but not answered */
  guint        max_in_flight;
};

static inline void
fake_request_free (FakeRequest *r)
{
  g_free (r->method);
  g_free (r->path);
  g_free (r->query);
  g_free (r->authorization);
  g_free (r->apikey);
  g_free (r->accept);
  g_free (r->api_version);
  g_free (r->body);
  g_free (r);
}

typedef struct
{
  FakeServer        *fs;
  SoupServerMessage *msg;
  FakeReply          reply;
  char              *body;
  char              *retry_after;
  char              *error_code;
} FakeDelayed;

static inline void
fake_apply_reply (SoupServerMessage *msg,
                  guint              status,
                  const char        *body,
                  const char        *retry_after,
                  const char        *error_code)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

  soup_server_message_set_status (msg, status, NULL);
  if (retry_after != NULL)
    soup_message_headers_replace (h, "Retry-After", retry_after);
  if (error_code != NULL)
    soup_message_headers_replace (h, "x-sb-error-code", error_code);
  if (body != NULL)
    soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body,
                                      strlen (body));
}

static inline gboolean
fake_delayed_cb (gpointer data)
{
  FakeDelayed *d = data;

  fake_apply_reply (d->msg, d->reply.status, d->body, d->retry_after, d->error_code);
  soup_server_message_unpause (d->msg);
  d->fs->in_flight--;
  g_object_unref (d->msg);
  g_free (d->body);
  g_free (d->retry_after);
  g_free (d->error_code);
  g_free (d);
  return G_SOURCE_REMOVE;
}

static inline void
fake_server_cb (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  FakeServer *fs = user_data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  GUri *uri = soup_server_message_get_uri (msg);
  FakeRequest *r = g_new0 (FakeRequest, 1);
  FakeReply reply;

  r->method = g_strdup (soup_server_message_get_method (msg));
  r->path = g_strdup (path);
  r->query = g_strdup (g_uri_get_query (uri));
  r->authorization = g_strdup (soup_message_headers_get_one (h, "Authorization"));
  r->apikey = g_strdup (soup_message_headers_get_one (h, "apikey"));
  r->accept = g_strdup (soup_message_headers_get_one (h, "Accept"));
  r->api_version = g_strdup (soup_message_headers_get_one (h, "X-Supabase-Api-Version"));
  if (body != NULL && body->length > 0)
    r->body = g_strndup (body->data, body->length);
  g_ptr_array_add (fs->requests, r);

  fs->in_flight++;
  fs->max_in_flight = MAX (fs->max_in_flight, fs->in_flight);
  reply = fs->handler (fs, r, fs->handler_data);

  if (reply.never)
    {
      soup_server_message_pause (msg);
      g_ptr_array_add (fs->paused, g_object_ref (msg));
      return;
    }
  if (reply.delay_ms > 0)
    {
      FakeDelayed *d = g_new0 (FakeDelayed, 1);

      d->fs = fs;
      d->msg = g_object_ref (msg);
      d->reply = reply;
      d->body = g_strdup (reply.body);
      d->retry_after = g_strdup (reply.retry_after);
      d->error_code = g_strdup (reply.error_code);
      soup_server_message_pause (msg);
      g_timeout_add (reply.delay_ms, fake_delayed_cb, d);
      return;
    }
  fake_apply_reply (msg, reply.status, reply.body, reply.retry_after, reply.error_code);
  fs->in_flight--;
}

static inline FakeServer *
fake_server_new (FakeHandler handler,
                 gpointer    data)
{
  FakeServer *fs = g_new0 (FakeServer, 1);
  GError *error = NULL;
  GSList *uris;

  fs->server = soup_server_new (NULL, NULL);
  fs->handler = handler;
  fs->handler_data = data;
  fs->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_request_free);
  fs->paused = g_ptr_array_new_with_free_func (g_object_unref);
  soup_server_add_handler (fs->server, NULL, fake_server_cb, fs, NULL);
  soup_server_listen_local (fs->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (fs->server);
  g_assert_nonnull (uris);
  fs->base_url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return fs;
}

static inline void
fake_server_free (FakeServer *fs)
{
  for (guint i = 0; i < fs->paused->len; i++)
    {
      SoupServerMessage *msg = fs->paused->pdata[i];

      soup_server_message_set_status (msg, 503, NULL);
      soup_server_message_unpause (msg);
    }
  soup_server_disconnect (fs->server);
  g_object_unref (fs->server);
  g_ptr_array_unref (fs->paused);
  g_ptr_array_unref (fs->requests);
  g_free (fs->base_url);
  g_free (fs);
}

static inline guint
fake_server_count (FakeServer *fs,
                   const char *path)
{
  guint n = 0;

  for (guint i = 0; i < fs->requests->len; i++)
    if (path == NULL || g_str_has_prefix (((FakeRequest *) fs->requests->pdata[i])->path, path))
      n++;
  return n;
}

static inline FakeRequest *
fake_server_last (FakeServer *fs)
{
  g_assert_cmpuint (fs->requests->len, >, 0);
  return fs->requests->pdata[fs->requests->len - 1];
}

static inline gboolean
fake_flag_timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until *@flag is TRUE; fails the test after @timeout_ms. */
static inline void
fake_run_until (gboolean *flag,
                guint     timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, fake_flag_timeout_cb, &timed_out);

  while (!*flag && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  g_assert_true (*flag);
}

/* Iterates the main context for @ms milliseconds. */
static inline void
fake_run_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, fake_flag_timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static inline gboolean
fake_query_has (FakeRequest *r,
                const char  *needle)
{
  return r->query != NULL && strstr (r->query, needle) != NULL;
}
