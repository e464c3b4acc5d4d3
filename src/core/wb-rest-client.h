/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-rest-client.h: PostgREST / GoTrue requests with apikey + bearer, timeouts and WB_ERROR
 * mapping. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  WB_REST_FLAGS_NONE   = 0,
  WB_REST_FLAGS_OBJECT = 1 << 0,  /* Accept: application/vnd.pgrst.object+json (one row or 406) */
  WB_REST_FLAGS_AUTH   = 1 << 1,  /* GoTrue: X-Supabase-Api-Version, bearer is the apikey */
  WB_REST_FLAGS_SMALL  = 1 << 2,  /* a few rows or a token: the body may not exceed 1 MB */
} WbRestFlags;

/* Response bodies are read in chunks and refused (WB_ERROR_INVALID_DATA) as soon as they cross
 * this; WB_REST_FLAGS_SMALL lowers it for answers that are known to be small. */
#define WB_REST_MAX_BODY_BYTES   (32 * 1024 * 1024)
#define WB_REST_SMALL_BODY_BYTES (1024 * 1024)

/* A hook to ask for a token refresh (after a 401) without depending on WbAuth:
 * wb_auth_refresh_async() has this shape with @user_data = the WbAuth. The callback's
 * result is not inspected; the client sends the refused request once more when it fires. */
typedef void (*WbRefreshFunc) (gpointer             user_data,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             callback_data);

#define WB_REST_DEFAULT_TIMEOUT_MS 10000

#define WB_TYPE_REST_CLIENT (wb_rest_client_get_type ())

G_DECLARE_FINAL_TYPE (WbRestClient, wb_rest_client, WB, REST_CLIENT, GObject)

WbRestClient *wb_rest_client_new                  (const char          *base_url,
                                                   const char          *apikey);
const char   *wb_rest_client_get_base_url         (WbRestClient        *self);
void          wb_rest_client_set_access_token     (WbRestClient        *self,
                                                   const char          *access_token);
gboolean      wb_rest_client_has_access_token     (WbRestClient        *self);
guint         wb_rest_client_get_token_serial     (WbRestClient        *self);
void          wb_rest_client_set_refresh_func     (WbRestClient        *self,
                                                   WbRefreshFunc        func,
                                                   gpointer             user_data,
                                                   GDestroyNotify       destroy);
void          wb_rest_client_set_allow_insecure_http (WbRestClient     *self,
                                                   gboolean             allow);
void          wb_rest_client_set_timeout_ms       (WbRestClient        *self,
                                                   guint                timeout_ms);
guint         wb_rest_client_get_timeout_ms       (WbRestClient        *self);
void          wb_rest_client_request_async        (WbRestClient        *self,
                                                   const char          *method,
                                                   const char          *path_and_query,
                                                   JsonNode            *body,
                                                   WbRestFlags          flags,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
JsonNode     *wb_rest_client_request_finish       (WbRestClient        *self,
                                                   GAsyncResult        *result,
                                                   guint               *status,
                                                   GError             **error);
void          wb_rest_client_request_get_error_text (WbRestClient      *self,
                                                     GAsyncResult      *result,
                                                     char             **message,
                                                     char             **details);
JsonNode     *wb_rest_client_request_finish_full  (WbRestClient        *self,
                                                   GAsyncResult        *result,
                                                   guint               *status,
                                                   guint               *retry_after_ms,
                                                   char               **error_code,
                                                   GError             **error);

/* Pure helpers (fuzzed). */
char         *wb_rest_encode_value                (const char          *value);
char         *wb_rest_filter_eq                   (const char          *column,
                                                   const char          *value);
char         *wb_rest_filter_in                   (const char          *column,
                                                   const char * const  *values,
                                                   guint                n_values);
gboolean      wb_rest_parse_body                  (const char          *data,
                                                   gsize                len,
                                                   JsonNode           **node,
                                                   GError             **error);
void          wb_rest_parse_error_body            (JsonNode            *node,
                                                   char               **message,
                                                   char               **code);
guint         wb_rest_parse_retry_after           (const char          *value,
                                                   gint64               now_unix);
void          wb_rest_redact_error                (GError              *error,
                                                   const char          *secret);
GError       *wb_rest_error_for_status            (guint                status,
                                                   const char          *what,
                                                   const char          *message,
                                                   const char          *code);

G_END_DECLS
