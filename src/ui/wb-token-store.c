/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-token-store.c: the refresh token in the keyring.
 *
 * One item per backend address, with a static schema named after the application id. A clear
 * cancels a store still under way, and clears never overlap: libsecret 0.20 returns a task twice
 * (a GLib critical) when two clears race for the same item. No token is logged.
 */
#define G_LOG_DOMAIN "wb-token-store"

#include "config.h"

#include <glib/gi18n.h>
#include <libsecret/secret.h>

#include "wb-token-store.h"

struct _WbTokenStore
{
  GObject       parent_instance;

  char         *backend_url;   /* (owned) */
  char         *last_saved;    /* (owned) (nullable) so an unchanged token is not stored again */
  GCancellable *cancellable;   /* (owned) */
  guint         generation;    /* bumped by every save, so a clear knows whether it still holds */
  gboolean      known_empty;   /* nothing stored, as far as this process knows */
  gboolean      clearing;      /* a clear is under way */
  gboolean      clear_again;   /* another clear was asked for meanwhile */
};

G_DEFINE_FINAL_TYPE (WbTokenStore, wb_token_store, G_TYPE_OBJECT)

static const SecretSchema *
get_schema (void)
{
  static const SecretSchema schema = {
    APP_ID, SECRET_SCHEMA_NONE,
    {
      { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "backend", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    }
  };

  return &schema;
}

static void
lookup_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  char *secret = secret_password_lookup_finish (result, &error);

  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, g_strdup (secret), g_free);
  secret_password_free (secret);
}

void
wb_token_store_lookup_async (WbTokenStore        *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (WB_IS_TOKEN_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_token_store_lookup_async);
  secret_password_lookup (get_schema (), cancellable, lookup_cb, g_steal_pointer (&task),
                          "kind", "refresh-token",
                          "backend", self->backend_url,
                          NULL);
}

char *
wb_token_store_lookup_finish (WbTokenStore  *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  char *token;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  token = g_task_propagate_pointer (G_TASK (result), error);
  self->known_empty = token == NULL && (error == NULL || *error == NULL);
  if (token != NULL)
    {
      g_free (self->last_saved);
      self->last_saved = g_strdup (token);
    }
  return token;
}

static void
store_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!secret_password_store_finish (result, &error))
    g_debug ("could not keep the session in the keyring: %s", error->message);
  else
    g_debug ("session kept in the keyring");
}

void
wb_token_store_save (WbTokenStore *self,
                     const char   *refresh_token)
{
  g_autofree char *label = NULL;

  g_return_if_fail (WB_IS_TOKEN_STORE (self));

  if (refresh_token == NULL || *refresh_token == '\0')
    return;
  if (g_strcmp0 (self->last_saved, refresh_token) == 0)
    return;
  g_free (self->last_saved);
  self->last_saved = g_strdup (refresh_token);
  self->generation++;
  self->known_empty = FALSE;

  /* Translators: the label of the keyring item; %s is the backend address. */
  label = g_strdup_printf (_("Wrenchbell session for %s"), self->backend_url);
  secret_password_store (get_schema (), SECRET_COLLECTION_DEFAULT, label, refresh_token,
                         self->cancellable, store_cb, NULL,
                         "kind", "refresh-token",
                         "backend", self->backend_url,
                         NULL);
}

static void start_clear (WbTokenStore *self);

static void
clear_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(WbTokenStore) self = user_data;
  g_autoptr(GError) error = NULL;
  guint generation = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (self), "wb-clear-generation"));

  if (!secret_password_clear_finish (result, &error) && error != NULL)
    g_debug ("could not remove the session from the keyring: %s", error->message);
  else
    g_debug ("session removed from the keyring");
  self->clearing = FALSE;
  if (error == NULL && generation == self->generation)
    self->known_empty = TRUE;
  if (self->clear_again)
    {
      self->clear_again = FALSE;
      start_clear (self);
    }
}

static void
start_clear (WbTokenStore *self)
{
  self->clearing = TRUE;
  g_object_set_data (G_OBJECT (self), "wb-clear-generation", GUINT_TO_POINTER (self->generation));
  secret_password_clear (get_schema (), NULL, clear_cb, g_object_ref (self),
                         "kind", "refresh-token",
                         "backend", self->backend_url,
                         NULL);
}

void
wb_token_store_clear (WbTokenStore *self)
{
  g_return_if_fail (WB_IS_TOKEN_STORE (self));

  g_clear_pointer (&self->last_saved, g_free);
  /* A store still under way must not bring the token back after it was cleared. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  if (self->clearing)
    self->clear_again = self->generation != GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (self),
                                                                                "wb-clear-generation"));
  else if (!self->known_empty)
    start_clear (self);
}

static void
wb_token_store_dispose (GObject *object)
{
  WbTokenStore *self = WB_TOKEN_STORE (object);

  g_cancellable_cancel (self->cancellable);

  G_OBJECT_CLASS (wb_token_store_parent_class)->dispose (object);
}

static void
wb_token_store_finalize (GObject *object)
{
  WbTokenStore *self = WB_TOKEN_STORE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->backend_url, g_free);
  g_clear_pointer (&self->last_saved, g_free);

  G_OBJECT_CLASS (wb_token_store_parent_class)->finalize (object);
}

static void
wb_token_store_class_init (WbTokenStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_token_store_dispose;
  object_class->finalize = wb_token_store_finalize;
}

static void
wb_token_store_init (WbTokenStore *self)
{
  self->cancellable = g_cancellable_new ();
}

WbTokenStore *
wb_token_store_new (const char *backend_url)
{
  WbTokenStore *self = g_object_new (WB_TYPE_TOKEN_STORE, NULL);

  self->backend_url = g_strdup (backend_url != NULL ? backend_url : "");
  return self;
}
