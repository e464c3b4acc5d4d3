/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-queue-view.c: the queue page — one row per waiting request, kept in place as requests come
 * and go; how each one ended ("Taken by Bob") for a few seconds before its row goes; Accept's
 * progress and outcome on the row and in a toast.
 *
 * Rows are kept, updated, added and removed in place rather than rebuilt, so focus, the keyboard
 * position and assistive technologies keep their place. A timer runs only while requests wait
 * (their waiting time) or a row says how its request ended.
 */
#define G_LOG_DOMAIN "wb-queue-view"

#include "config.h"

#include <glib/gi18n.h>

#include "wb-config.h"
#include "wb-queue-view.h"
#include "wb-request-row.h"

#define WAITING_REFRESH_S 30
#define ENDED_LINGER_S    5     /* "Taken by Bob" stays this long, then the row goes */
#define MINE_LINGER_S     30    /* "Taken by you" longer: it offers Open Dashboard */

struct _WbQueueView
{
  GtkBox      parent_instance;

  GtkLabel   *heading;
  GtkListBox *list;
  GtkStack   *stack;

  WbPipeline *pipeline;   /* (owned) (nullable) */
  WbSettings *settings;   /* (owned) (nullable) */
  GHashTable *ended;      /* assignment id → the source that removes its row */
  guint       waiting_id;
};

G_DEFINE_FINAL_TYPE (WbQueueView, wb_queue_view, GTK_TYPE_BOX)

static void
add_toast (WbQueueView *self,
           AdwToast    *toast)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast);
  else
    g_object_unref (g_object_ref_sink (toast));
}

/* A plain-text (never markup) toast. */
static void
show_message (WbQueueView *self,
              const char  *text)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);

  add_toast (self, adw_toast_new (escaped));
}


static gboolean
waiting_cb (gpointer user_data)
{
  WbQueueView *self = user_data;
  gint64 now = g_get_real_time ();

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->list));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (WB_IS_REQUEST_ROW (child))
      wb_request_row_update_waiting (WB_REQUEST_ROW (child), now);
  return G_SOURCE_CONTINUE;
}

/* Rows are kept, updated, added and removed in place rather than rebuilt, so focus, the
 * keyboard position and assistive technologies keep their place while requests come and go. */
static void
update_queue (WbQueueView *self)
{
  g_autoptr(GPtrArray) open = self->pipeline != NULL ? wb_pipeline_list_open (self->pipeline)
                                                     : g_ptr_array_new ();
  g_autoptr(GHashTable) rows = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *heading = NULL;
  GtkWidget *child, *next;

  for (guint i = 0; i < open->len; i++)
    {
      const WbAlertRecord *r = g_ptr_array_index (open, i);

      g_hash_table_add (wanted, r->assignment_id);
    }
  for (child = gtk_widget_get_first_child (GTK_WIDGET (self->list)); child != NULL; child = next)
    {
      next = gtk_widget_get_next_sibling (child);
      /* A row that says how its request ended stays until its time is up. */
      if (WB_IS_REQUEST_ROW (child) && wb_request_row_get_ended (WB_REQUEST_ROW (child)))
        continue;
      if (!WB_IS_REQUEST_ROW (child)
          || !g_hash_table_contains (wanted, wb_request_row_get_assignment_id (WB_REQUEST_ROW (child))))
        gtk_list_box_remove (self->list, child);
      else
        g_hash_table_insert (rows, (gpointer) wb_request_row_get_assignment_id (WB_REQUEST_ROW (child)),
                             child);
    }
  for (guint i = 0; i < open->len; i++)
    {
      const WbAlertRecord *r = g_ptr_array_index (open, i);
      GtkWidget *row = g_hash_table_lookup (rows, r->assignment_id);

      if (row != NULL)
        {
          wb_request_row_update (WB_REQUEST_ROW (row), r);
          if (gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (row)) != (int) i)
            {
              g_object_ref (row);
              gtk_list_box_remove (self->list, row);
              gtk_list_box_insert (self->list, row, (int) i);
              g_object_unref (row);
            }
        }
      else
        gtk_list_box_insert (self->list, wb_request_row_new (r), (int) i);
    }

  heading = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u request waiting",
                                          "%u requests waiting", open->len), open->len);
  gtk_label_set_text (self->heading, heading);
  gtk_stack_set_visible_child_name (self->stack,
                                    open->len > 0 || g_hash_table_size (self->ended) > 0 ? "list" : "empty");

  if (open->len > 0 && self->waiting_id == 0)
    self->waiting_id = g_timeout_add_seconds (WAITING_REFRESH_S, waiting_cb, self);
  else if (open->len == 0)
    g_clear_handle_id (&self->waiting_id, g_source_remove);
}

static WbRequestRow *
find_row (WbQueueView *self,
          const char *assignment_id)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->list));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (WB_IS_REQUEST_ROW (child)
        && g_strcmp0 (wb_request_row_get_assignment_id (WB_REQUEST_ROW (child)), assignment_id) == 0)
      return WB_REQUEST_ROW (child);
  return NULL;
}

/* How a request left the queue, as the row says it. Names come from the server: the row cleans
 * them and shows them as plain text. */
static char *
ended_text (const WbAlertRecord *record)
{
  const char *reason = record->reason != NULL ? record->reason : "ended";

  if (g_str_equal (reason, "taken"))
    {
      if (record->taken_by_me)
        return g_strdup (_("Taken by you"));
      if (record->taken_by != NULL && *record->taken_by != '\0')
        /* Translators: %s is the name of the mechanic who took the request. */
        return g_strdup_printf (_("Taken by %s"), record->taken_by);
      return g_strdup (_("Taken by another mechanic"));
    }
  if (g_str_equal (reason, "cancelled"))
    return g_strdup (_("Cancelled by the customer"));
  if (g_str_equal (reason, "expired"))
    return g_strdup (_("Expired"));
  if (g_str_equal (reason, "declined"))
    return g_strdup (_("Declined"));
  if (g_str_equal (reason, "completed"))
    return g_strdup (_("Completed"));
  return g_strdup (_("No longer waiting"));
}

typedef struct
{
  WbQueueView *view;   /* (unowned) the source is removed in dispose */
  char     *id;
} Linger;

static void
linger_free (Linger *linger)
{
  g_free (linger->id);
  g_free (linger);
}

static gboolean
linger_over_cb (gpointer user_data)
{
  Linger *linger = user_data;
  WbQueueView *self = linger->view;
  WbRequestRow *row = find_row (self, linger->id);

  g_hash_table_remove (self->ended, linger->id);
  if (row != NULL)
    gtk_list_box_remove (self->list, GTK_WIDGET (row));
  update_queue (self);
  return G_SOURCE_REMOVE;
}

static void
show_ended (WbQueueView         *self,
            const WbAlertRecord *record)
{
  WbRequestRow *row = find_row (self, record->assignment_id);
  g_autofree char *text = NULL;
  g_autofree char *template_ = NULL;
  g_autofree char *url = NULL;
  Linger *linger;

  if (row == NULL)
    return;
  text = ended_text (record);
  if (record->taken_by_me)
    {
      template_ = wb_config_dashboard_url (self->settings);
      url = wb_accept_dashboard_url (template_, record->session_id, record->assignment_id);
    }
  wb_request_row_set_ended (row, text, url != NULL);
  if (g_hash_table_contains (self->ended, record->assignment_id))
    return;   /* the withdraw's name came after the stand-down: same row, better text */
  linger = g_new0 (Linger, 1);
  linger->view = self;
  linger->id = g_strdup (record->assignment_id);
  g_hash_table_insert (self->ended, g_strdup (record->assignment_id),
                       GUINT_TO_POINTER (g_timeout_add_seconds_full (G_PRIORITY_DEFAULT,
                                                                     record->taken_by_me ? MINE_LINGER_S
                                                                                         : ENDED_LINGER_S,
                                                                     linger_over_cb, linger,
                                                                     (GDestroyNotify) linger_free)));
}

static void
on_episode_ended_cb (WbQueueView   *self,
                     WbAlertRecord *record)
{
  show_ended (self, record);
}

static void
on_pipeline_alert_cb (WbQueueView   *self,
                      WbAlertRecord *record)
{
  if (record->kind == WB_ALERT_KIND_WITHDRAW && g_hash_table_contains (self->ended, record->assignment_id))
    show_ended (self, record);
}

static void
on_accept_started_cb (WbQueueView *self,
                      const char *assignment_id)
{
  WbRequestRow *row = find_row (self, assignment_id);

  if (row != NULL)
    wb_request_row_set_accepting (row, TRUE);
}

static void
toast_with_button (WbQueueView *self,
                   const char *text,
                   const char *button,
                   const char *action,
                   const char *assignment_id)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);
  AdwToast *toast = adw_toast_new (escaped);

  adw_toast_set_button_label (toast, button);
  adw_toast_set_action_name (toast, action);
  adw_toast_set_action_target_value (toast, g_variant_new_string (assignment_id));
  adw_toast_set_timeout (toast, 10);
  add_toast (self, toast);
}

static void
on_accept_done_cb (WbQueueView     *self,
                   WbAcceptOutcome *outcome)
{
  WbRequestRow *row = find_row (self, outcome->assignment_id);
  g_autofree char *text = NULL;
  g_autofree char *template_ = NULL;
  g_autofree char *url = NULL;

  if (row != NULL)
    wb_request_row_set_accepting (row, FALSE);
  switch (outcome->result)
    {
    case WB_ACCEPT_WON:
      template_ = wb_config_dashboard_url (self->settings);
      url = wb_accept_dashboard_url (template_, outcome->session_id, outcome->assignment_id);
      if (url != NULL)
        toast_with_button (self, _("Taken by you"), _("Open Dashboard"), "wb.open-dashboard",
                           outcome->assignment_id);
      else
        show_message (self, _("Taken by you"));
      return;
    /* Lost: say so clearly; everything else stays as it is (the stand-down comes from realtime). */
    case WB_ACCEPT_TAKEN:
      text = outcome->taken_by != NULL ? g_strdup_printf (_("Already taken by %s"), outcome->taken_by)
                                       : g_strdup (_("Already taken by another mechanic"));
      break;
    case WB_ACCEPT_GONE:
      text = g_strdup (_("No longer queued: the request was cancelled or expired"));
      break;
    case WB_ACCEPT_FAILED:
    default:
      /* Translators: %s says why, e.g. that the server did not answer. */
      text = g_strdup_printf (_("Could not take the request: %s"), outcome->message);
      break;
    }
  if (row != NULL && !wb_request_row_get_ended (row))
    wb_request_row_set_note (row, text);
  show_message (self, text);
}

void
wb_queue_view_show_assignment (WbQueueView *self,
                               const char  *assignment_id)
{
  WbRequestRow *row;

  g_return_if_fail (WB_IS_QUEUE_VIEW (self));

  row = find_row (self, assignment_id);
  if (row != NULL)
    gtk_widget_grab_focus (GTK_WIDGET (row));
}

void
wb_queue_view_set_pipeline (WbQueueView *self,
                            WbPipeline  *pipeline,
                            WbSettings  *settings)
{
  g_return_if_fail (WB_IS_QUEUE_VIEW (self));
  g_return_if_fail (self->pipeline == NULL && WB_IS_PIPELINE (pipeline));

  self->pipeline = g_object_ref (pipeline);
  g_set_object (&self->settings, settings);
  g_signal_connect_object (pipeline, "queue-changed", G_CALLBACK (update_queue), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (pipeline, "episode-ended", G_CALLBACK (on_episode_ended_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (pipeline, "alert", G_CALLBACK (on_pipeline_alert_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (pipeline, "accept-started", G_CALLBACK (on_accept_started_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (pipeline, "accept-done", G_CALLBACK (on_accept_done_cb), self,
                           G_CONNECT_SWAPPED);
  update_queue (self);
}

static void
wb_queue_view_dispose (GObject *object)
{
  WbQueueView *self = WB_QUEUE_VIEW (object);

  g_clear_handle_id (&self->waiting_id, g_source_remove);
  if (self->ended != NULL)
    {
      GHashTableIter iter;
      gpointer source;

      g_hash_table_iter_init (&iter, self->ended);
      while (g_hash_table_iter_next (&iter, NULL, &source))
        g_source_remove (GPOINTER_TO_UINT (source));
      g_clear_pointer (&self->ended, g_hash_table_unref);
    }
  gtk_widget_dispose_template (GTK_WIDGET (object), WB_TYPE_QUEUE_VIEW);
  g_clear_object (&self->pipeline);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (wb_queue_view_parent_class)->dispose (object);
}

static void
wb_queue_view_class_init (WbQueueViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_queue_view_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/wrenchbell/Wrenchbell/wb-queue-view.ui");
  gtk_widget_class_bind_template_child (widget_class, WbQueueView, heading);
  gtk_widget_class_bind_template_child (widget_class, WbQueueView, list);
  gtk_widget_class_bind_template_child (widget_class, WbQueueView, stack);
}

static void
wb_queue_view_init (WbQueueView *self)
{
  self->ended = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gtk_widget_init_template (GTK_WIDGET (self));
}
