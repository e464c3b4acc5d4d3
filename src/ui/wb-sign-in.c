/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-sign-in.c: e-mail + password against Supabase Auth, errors in plain words. */
#define G_LOG_DOMAIN "wb-sign-in"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "wb-error.h"
#include "wb-sign-in.h"

struct _WbSignIn
{
  AdwBin       parent_instance;

  AdwEntryRow *email_row;
  GtkLabel    *error_label;
  AdwEntryRow *password_row;
  GtkSpinner  *spinner;
  GtkButton   *submit_button;

  WbAuth       *auth;         /* (owned) */
  GCancellable *cancellable;  /* (owned) (nullable) while a sign-in is under way */
};

G_DEFINE_FINAL_TYPE (WbSignIn, wb_sign_in, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_AUTH,
  PROP_EMAIL,
  N_PROPS,
};

enum {
  SIGNAL_SIGNED_IN,
  N_SIGNALS,
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

char *
wb_sign_in_describe_error (const GError *error)
{
  if (error == NULL)
    return g_strdup (_("Could not sign in."));
  if (g_error_matches (error, WB_ERROR, WB_ERROR_CERTIFICATE))
    return g_strdup (_("The server’s certificate is not trusted, so nothing was sent. Check the "
                       "backend address in Preferences; on a public network, someone may be "
                       "intercepting the connection."));
  if (g_error_matches (error, WB_ERROR, WB_ERROR_INSECURE_URL))
    return g_strdup (_("The backend address starts with http:// and is not on this computer: your "
                       "password would cross the network unencrypted, so nothing was sent. Use an "
                       "https:// address, or allow unencrypted connections in Preferences."));
  if (g_error_matches (error, WB_ERROR, WB_ERROR_UNAUTHORIZED)
      || g_error_matches (error, WB_ERROR, WB_ERROR_SIGNED_OUT)
      || g_error_matches (error, WB_ERROR, WB_ERROR_FORBIDDEN))
    return g_strdup (_("Wrong e-mail or password"));
  if (g_error_matches (error, WB_ERROR, WB_ERROR_TRANSPORT)
      || g_error_matches (error, WB_ERROR, WB_ERROR_TIMEOUT)
      || g_error_matches (error, WB_ERROR, WB_ERROR_SERVER)
      || error->domain == G_IO_ERROR || error->domain == G_RESOLVER_ERROR)
    return g_strdup (_("The server could not be reached. Check your connection and the backend "
                       "address in Preferences."));
  if (g_error_matches (error, WB_ERROR, WB_ERROR_RATE_LIMITED))
    return g_strdup (_("Too many attempts. Wait a minute and try again."));
  /* Translators: %s is the server's own explanation, in English. */
  return g_strdup_printf (_("Could not sign in: %s"), error->message);
}

static void
set_busy (WbSignIn *self,
          gboolean  busy)
{
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->email_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->password_row), !busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sign-in.submit", !busy);
}

static void
show_error (WbSignIn   *self,
            const char *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
  if (message != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->error_label),
                                    GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message, -1);
}

static void
sign_in_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(WbSignIn) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!wb_auth_sign_in_password_finish (WB_AUTH (source), result, &error))
    {
      g_autofree char *message = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_clear_object (&self->cancellable);
      set_busy (self, FALSE);
      message = wb_sign_in_describe_error (error);
      show_error (self, message);
      gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
      return;
    }

  g_clear_object (&self->cancellable);
  set_busy (self, FALSE);
  show_error (self, NULL);
  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
  g_signal_emit (self, signals[SIGNAL_SIGNED_IN], 0, wb_sign_in_get_email (self));
}

static void
submit_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  WbSignIn *self = WB_SIGN_IN (widget);
  g_autofree char *email = g_strstrip (g_strdup (wb_sign_in_get_email (self)));
  const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password_row));

  if (*email == '\0' || strchr (email, '@') == NULL)
    {
      show_error (self, _("Enter the e-mail address of your account."));
      gtk_widget_grab_focus (GTK_WIDGET (self->email_row));
      return;
    }
  if (*password == '\0')
    {
      show_error (self, _("Enter your password."));
      gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
      return;
    }

  show_error (self, NULL);
  set_busy (self, TRUE);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  wb_auth_sign_in_password_async (self->auth, email, password, self->cancellable,
                                  sign_in_cb, g_object_ref (self));
}

static void
on_email_activated_cb (WbSignIn *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
}

static void
on_password_activated_cb (WbSignIn *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "sign-in.submit", NULL);
}

void
wb_sign_in_set_email (WbSignIn   *self,
                      const char *email)
{
  g_return_if_fail (WB_IS_SIGN_IN (self));

  if (g_strcmp0 (email, wb_sign_in_get_email (self)) == 0)
    return;
  gtk_editable_set_text (GTK_EDITABLE (self->email_row), email != NULL ? email : "");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EMAIL]);
}

const char *
wb_sign_in_get_email (WbSignIn *self)
{
  g_return_val_if_fail (WB_IS_SIGN_IN (self), NULL);

  return gtk_editable_get_text (GTK_EDITABLE (self->email_row));
}

static void
wb_sign_in_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  WbSignIn *self = WB_SIGN_IN (object);

  switch (prop_id)
    {
    case PROP_AUTH:
      g_value_set_object (value, self->auth);
      break;
    case PROP_EMAIL:
      g_value_set_string (value, wb_sign_in_get_email (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_sign_in_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  WbSignIn *self = WB_SIGN_IN (object);

  switch (prop_id)
    {
    case PROP_AUTH:
      self->auth = g_value_dup_object (value);
      break;
    case PROP_EMAIL:
      wb_sign_in_set_email (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_sign_in_dispose (GObject *object)
{
  WbSignIn *self = WB_SIGN_IN (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->auth);
  gtk_widget_dispose_template (GTK_WIDGET (self), WB_TYPE_SIGN_IN);

  G_OBJECT_CLASS (wb_sign_in_parent_class)->dispose (object);
}

static void
wb_sign_in_class_init (WbSignInClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_sign_in_dispose;
  object_class->get_property = wb_sign_in_get_property;
  object_class->set_property = wb_sign_in_set_property;

  properties[PROP_AUTH] =
    g_param_spec_object ("auth", NULL, NULL, WB_TYPE_AUTH,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EMAIL] =
    g_param_spec_string ("email", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_SIGNED_IN] =
    g_signal_new ("signed-in", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_install_action (widget_class, "sign-in.submit", NULL, submit_action);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/wrenchbell/Wrenchbell/wb-sign-in.ui");
  gtk_widget_class_bind_template_child (widget_class, WbSignIn, email_row);
  gtk_widget_class_bind_template_child (widget_class, WbSignIn, error_label);
  gtk_widget_class_bind_template_child (widget_class, WbSignIn, password_row);
  gtk_widget_class_bind_template_child (widget_class, WbSignIn, spinner);
  gtk_widget_class_bind_template_child (widget_class, WbSignIn, submit_button);
  gtk_widget_class_bind_template_callback (widget_class, on_email_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_password_activated_cb);
}

static void
wb_sign_in_init (WbSignIn *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
wb_sign_in_new (WbAuth *auth)
{
  g_return_val_if_fail (WB_IS_AUTH (auth), NULL);

  return g_object_new (WB_TYPE_SIGN_IN, "auth", auth, NULL);
}
