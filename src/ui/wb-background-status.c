/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-background-status.c: the status line of GNOME's Background Apps list (GNOME 44+), through
 * the Background portal's SetStatus (libportal ≥ 0.7). See field-notes.md §B4.
 */
#define G_LOG_DOMAIN "wb-background-status"

#include "config.h"

#include <glib/gi18n.h>
#include <libportal/portal.h>

#include "wb-autostart.h"
#include "wb-background-status.h"

struct _WbBackgroundStatus
{
  GObject       parent_instance;

  XdpPortal    *portal;       /* (owned) (nullable) created on the first send */
  GCancellable *cancellable;  /* (owned) */
  char         *message;      /* (owned) (nullable) the status last worked out */
  guint         sent;         /* SetStatus calls the portal accepted */
};

G_DEFINE_FINAL_TYPE (WbBackgroundStatus, wb_background_status, G_TYPE_OBJECT)

static void
wb_background_status_dispose (GObject *object)
{
  WbBackgroundStatus *self = WB_BACKGROUND_STATUS (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->portal);

  G_OBJECT_CLASS (wb_background_status_parent_class)->dispose (object);
}

static void
wb_background_status_finalize (GObject *object)
{
  WbBackgroundStatus *self = WB_BACKGROUND_STATUS (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->message, g_free);

  G_OBJECT_CLASS (wb_background_status_parent_class)->finalize (object);
}

static void
wb_background_status_class_init (WbBackgroundStatusClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = wb_background_status_dispose;
  object_class->finalize = wb_background_status_finalize;
}

static void
wb_background_status_init (WbBackgroundStatus *self)
{
  self->cancellable = g_cancellable_new ();
}

WbBackgroundStatus *
wb_background_status_new (void)
{
  return g_object_new (WB_TYPE_BACKGROUND_STATUS, NULL);
}

/**
 * wb_background_status_can_send:
 *
 * Returns: %TRUE when built with SetStatus (libportal ≥ 0.7) and running where the portal
 *   accepts it (see wb_autostart_sandboxed()).
 */
gboolean
wb_background_status_can_send (void)
{
#ifdef WB_HAVE_XDP_BACKGROUND_STATUS
  return wb_autostart_sandboxed ();
#else
  return FALSE;
#endif
}

/**
 * wb_background_status_describe:
 * @waiting: open requests
 * @state: the pipeline state ("subscribed", "signed_out", …)
 *
 * Returns: (transfer full): the status line — single-line and far below the portal's 96
 *   characters in every language shipped.
 */
char *
wb_background_status_describe (guint       waiting,
                               const char *state)
{
  if (waiting > 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u request waiting",
                                         "%u requests waiting", waiting), waiting);
  if (g_strcmp0 (state, "subscribed") == 0)
    return g_strdup (_("Listening"));
  if (g_strcmp0 (state, "signed_out") == 0)
    return g_strdup (_("Signed out"));
  return g_strdup (_("Connecting…"));
}

#ifdef WB_HAVE_XDP_BACKGROUND_STATUS
static void
set_status_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  WbBackgroundStatus *self;
  g_autoptr(GError) error = NULL;

  if (!xdp_portal_set_background_status_finish (XDP_PORTAL (object), result, &error))
    {
      /* Cancelled means @self is being disposed: do not touch it. A refusal only costs the
       * status line (e.g. a portal older than version 2), so it is not a warning. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("the Background portal did not take the status: %s", error->message);
      return;
    }
  self = WB_BACKGROUND_STATUS (user_data);
  self->sent++;
}
#endif

/**
 * wb_background_status_update:
 *
 * Works out the status line for @waiting open requests in pipeline state @state and, when it
 * changed and wb_background_status_can_send(), hands it to the portal.
 */
void
wb_background_status_update (WbBackgroundStatus *self,
                             guint               waiting,
                             const char         *state)
{
  g_autofree char *message = NULL;

  g_return_if_fail (WB_IS_BACKGROUND_STATUS (self));

  message = wb_background_status_describe (waiting, state);
  if (g_strcmp0 (message, self->message) == 0)
    return;
  g_free (self->message);
  self->message = g_steal_pointer (&message);

#ifdef WB_HAVE_XDP_BACKGROUND_STATUS
  if (!wb_background_status_can_send ())
    return;
  if (self->portal == NULL)
    self->portal = xdp_portal_new ();
  /* Calls go out in order on one connection, so the last status set is the one shown. */
  xdp_portal_set_background_status (self->portal, self->message, self->cancellable,
                                    set_status_cb, self);
#endif
}

const char *
wb_background_status_get_message (WbBackgroundStatus *self)
{
  g_return_val_if_fail (WB_IS_BACKGROUND_STATUS (self), NULL);

  return self->message;
}

/**
 * wb_background_status_get_sent:
 *
 * Returns: how many SetStatus calls the portal accepted.
 */
guint
wb_background_status_get_sent (WbBackgroundStatus *self)
{
  g_return_val_if_fail (WB_IS_BACKGROUND_STATUS (self), 0);

  return self->sent;
}
