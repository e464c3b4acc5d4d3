/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-autostart.c: start Wrenchbell at login — Background portal in Flatpak, XDG autostart file
 * outside it. See shared/docs/field-notes.md §B4.
 */
#define G_LOG_DOMAIN "wb-autostart"

#include "config.h"

#include <errno.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <libportal/portal.h>
#include <libportal-gtk4/portal-gtk4.h>

#include "wb-autostart.h"

#define AUTOSTART_COMMAND "wrenchbell"
#define AUTOSTART_ARG     "--background"

struct _WbAutostart
{
  GObject    parent_instance;

  XdpPortal *portal;          /* (owned) (nullable) created on first use */
  gboolean   portal_enabled;  /* last state the portal granted in this process */
};

G_DEFINE_FINAL_TYPE (WbAutostart, wb_autostart, G_TYPE_OBJECT)

static void
wb_autostart_dispose (GObject *object)
{
  WbAutostart *self = WB_AUTOSTART (object);

  g_clear_object (&self->portal);

  G_OBJECT_CLASS (wb_autostart_parent_class)->dispose (object);
}

static void
wb_autostart_class_init (WbAutostartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_autostart_dispose;
}

static void
wb_autostart_init (WbAutostart *self)
{
}

WbAutostart *
wb_autostart_new (void)
{
  return g_object_new (WB_TYPE_AUTOSTART, NULL);
}

/**
 * wb_autostart_sandboxed:
 *
 * Whether the Background portal is the way to go: inside Flatpak (/.flatpak-info exists), or
 * when WB_FORCE_PORTAL=1 (tests). Also used for the background status (wb-background-status.c).
 */
gboolean
wb_autostart_sandboxed (void)
{
  if (g_strcmp0 (g_getenv ("WB_FORCE_PORTAL"), "1") == 0)
    return TRUE;
  return g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS);
}

/**
 * wb_autostart_uses_portal:
 *
 * Returns: wb_autostart_sandboxed()
 */
gboolean
wb_autostart_uses_portal (WbAutostart *self)
{
  g_return_val_if_fail (WB_IS_AUTOSTART (self), FALSE);

  return wb_autostart_sandboxed ();
}

/**
 * wb_autostart_get_file_path:
 *
 * Returns: (transfer full): $XDG_CONFIG_HOME/autostart/<app-id>.desktop
 */
char *
wb_autostart_get_file_path (WbAutostart *self)
{
  g_return_val_if_fail (WB_IS_AUTOSTART (self), NULL);

  return g_build_filename (g_get_user_config_dir (), "autostart", APP_ID ".desktop", NULL);
}

/**
 * wb_autostart_is_enabled:
 *
 * Outside Flatpak: whether our autostart file exists and is not disabled. Inside Flatpak the
 * host's file cannot be read, so this is the state the portal last granted in this process;
 * the `start-at-login` setting is the lasting record there.
 */
gboolean
wb_autostart_is_enabled (WbAutostart *self)
{
  g_autofree char *path = NULL;
  g_autoptr(GKeyFile) kf = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (WB_IS_AUTOSTART (self), FALSE);

  if (wb_autostart_uses_portal (self))
    return self->portal_enabled;

  path = wb_autostart_get_file_path (self);
  kf = g_key_file_new ();
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error))
    return FALSE;

  if (g_key_file_get_boolean (kf, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_HIDDEN, NULL))
    return FALSE;
  if (g_key_file_has_key (kf, G_KEY_FILE_DESKTOP_GROUP, "X-GNOME-Autostart-enabled", NULL) &&
      !g_key_file_get_boolean (kf, G_KEY_FILE_DESKTOP_GROUP, "X-GNOME-Autostart-enabled", NULL))
    return FALSE;
  return TRUE;
}

/* --- Outside Flatpak: the XDG autostart file ------------------------------------------------ */

static char *
autostart_file_contents (void)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  const char *g = G_KEY_FILE_DESKTOP_GROUP;

  g_key_file_set_string (kf, g, G_KEY_FILE_DESKTOP_KEY_TYPE, G_KEY_FILE_DESKTOP_TYPE_APPLICATION);
  g_key_file_set_string (kf, g, G_KEY_FILE_DESKTOP_KEY_NAME, "Wrenchbell");
  g_key_file_set_string (kf, g, G_KEY_FILE_DESKTOP_KEY_COMMENT,
                         _("Ring the workshop when a customer request is queued"));
  g_key_file_set_string (kf, g, G_KEY_FILE_DESKTOP_KEY_EXEC, AUTOSTART_COMMAND " " AUTOSTART_ARG);
  g_key_file_set_string (kf, g, G_KEY_FILE_DESKTOP_KEY_ICON, APP_ID);
  g_key_file_set_boolean (kf, g, G_KEY_FILE_DESKTOP_KEY_TERMINAL, FALSE);
  g_key_file_set_boolean (kf, g, G_KEY_FILE_DESKTOP_KEY_NO_DISPLAY, TRUE);
  g_key_file_set_boolean (kf, g, "X-GNOME-Autostart-enabled", TRUE);

  return g_key_file_to_data (kf, NULL, NULL);
}

/* Runs in a worker thread: file I/O never blocks the main loop. */
static void
write_file_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  WbAutostart *self = source_object;
  gboolean enable = GPOINTER_TO_INT (task_data);
  g_autofree char *path = wb_autostart_get_file_path (self);
  g_autoptr(GError) error = NULL;

  if (enable)
    {
      g_autofree char *dir = g_path_get_dirname (path);
      g_autofree char *contents = autostart_file_contents ();

      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          int saved_errno = errno;

          g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                                   _("Could not create the folder %s: %s"),
                                   dir, g_strerror (saved_errno));
          return;
        }
      /* g_file_set_contents() writes a temporary file and renames it: atomic. */
      if (!g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                     &error))
        {
          g_prefix_error (&error, _("Could not turn on start at login: "));
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_debug ("wrote %s", path);
    }
  else
    {
      if (g_unlink (path) != 0 && errno != ENOENT)
        {
          int saved_errno = errno;

          g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                                   _("Could not turn off start at login: %s"),
                                   g_strerror (saved_errno));
          return;
        }
      g_debug ("removed %s", path);
    }

  g_task_return_boolean (task, TRUE);
}

/* --- Inside Flatpak: the Background portal -------------------------------------------------- */

static void
request_background_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WbAutostart *self = g_task_get_source_object (task);
  gboolean enable = GPOINTER_TO_INT (g_task_get_task_data (task));
  g_autoptr(GError) error = NULL;
  gboolean granted;

  granted = xdp_portal_request_background_finish (XDP_PORTAL (object), result, &error);

  if (error != NULL)
    {
      /* libportal reports the user's "no" (Response 1) as G_IO_ERROR_CANCELLED; that is a
       * refusal to show, not a cancellation of ours. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !g_cancellable_is_cancelled (g_task_get_cancellable (task)))
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                                   _("Starting Wrenchbell at login was not allowed. You can change "
                                     "this in Settings, under Apps."));
          return;
        }
      g_prefix_error (&error, _("Could not ask to start at login: "));
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (enable && !granted)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                               _("Starting Wrenchbell at login was not allowed. You can change "
                                 "this in Settings, under Apps."));
      return;
    }

  /* Turning autostart off cannot be refused: the portal removes its autostart entry whatever
   * it answers about running in the background. */
  self->portal_enabled = enable;
  g_task_return_boolean (task, TRUE);
}

static void
request_background (WbAutostart *self,
                    GTask       *task,
                    gboolean     enable,
                    GtkWindow   *parent)
{
  g_autoptr(GPtrArray) commandline = NULL;
  XdpParent *xdp_parent = NULL;

  if (self->portal == NULL)
    self->portal = xdp_portal_new ();

  commandline = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (commandline, g_strdup (AUTOSTART_COMMAND));
  g_ptr_array_add (commandline, g_strdup (AUTOSTART_ARG));

  if (parent != NULL)
    xdp_parent = xdp_parent_new_gtk (parent);

  xdp_portal_request_background (self->portal,
                                 xdp_parent,
                                 (char *) _("Wrenchbell listens for customer requests in the "
                                            "background and starts when you log in."),
                                 enable ? commandline : NULL,
                                 enable ? XDP_BACKGROUND_FLAG_AUTOSTART : XDP_BACKGROUND_FLAG_NONE,
                                 g_task_get_cancellable (task),
                                 request_background_cb,
                                 g_object_ref (task));

  g_clear_pointer (&xdp_parent, xdp_parent_free);
}

/**
 * wb_autostart_set_enabled_async:
 * @enable: start at login or not
 * @parent: (nullable): the window the portal dialog belongs to
 *
 * Turns start at login on or off. The result carries a user-presentable error when the portal
 * refuses (%G_IO_ERROR_PERMISSION_DENIED) or the file cannot be written.
 */
void
wb_autostart_set_enabled_async (WbAutostart         *self,
                                gboolean             enable,
                                GtkWindow           *parent,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (WB_IS_AUTOSTART (self));
  g_return_if_fail (parent == NULL || GTK_IS_WINDOW (parent));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, wb_autostart_set_enabled_async);
  g_task_set_task_data (task, GINT_TO_POINTER (!!enable), NULL);

  if (wb_autostart_uses_portal (self))
    request_background (self, task, !!enable, parent);
  else
    g_task_run_in_thread (task, write_file_thread);
}

gboolean
wb_autostart_set_enabled_finish (WbAutostart   *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (WB_IS_AUTOSTART (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == wb_autostart_set_enabled_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
