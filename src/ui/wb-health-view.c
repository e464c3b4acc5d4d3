/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-health-view.c: the diagnostics page — the WbHealth figures of the running pipeline.
 *
 * The figures refresh every HEALTH_REFRESH_S seconds while the page is mapped, and not at all
 * otherwise, so a hidden page costs no wake-ups.
 */
#define G_LOG_DOMAIN "wb-health-view"

#include "config.h"

#include <glib/gi18n.h>

#include "wb-health-view.h"

#define HEALTH_REFRESH_S 2

struct _WbHealthView
{
  GtkBox      parent_instance;

  WbPipeline *pipeline;    /* (owned) */
  GHashTable *labels;      /* figure key → GtkLabel (unowned) */
  char       *state_text;  /* (owned) (nullable) */
  guint       refresh_id;
};

G_DEFINE_FINAL_TYPE (WbHealthView, wb_health_view, GTK_TYPE_BOX)

typedef enum { FIG_STATE, FIG_COUNTER, FIG_TIER, FIG_LATENCY, FIG_EVENTS, FIG_TEXT,
               FIG_SERVER_ERROR } FigureKind;

typedef struct
{
  const char *key;
  const char *title;   /* N_() */
  FigureKind  kind;
  int         which;
} Figure;

static const Figure figures[] = {
  { "state", N_("Connection"), FIG_STATE, 0 },
  { "alerts", N_("Requests alerted"), FIG_COUNTER, WB_HEALTH_ALERTS },
  { "duplicates", N_("Duplicates suppressed"), FIG_COUNTER, WB_HEALTH_DUPLICATES_SUPPRESSED },
  { "catchup", N_("Found by catch-up"), FIG_COUNTER, WB_HEALTH_CATCHUP_FOUND },
  { "reconnects", N_("Reconnects"), FIG_COUNTER, WB_HEALTH_RECONNECTS },
  { "fetch-failures", N_("Detail fetch failures"), FIG_COUNTER, WB_HEALTH_FETCH_FAILURES },
  { "fallbacks", N_("Alerts without details"), FIG_COUNTER, WB_HEALTH_FALLBACKS },
  { "repeats", N_("Reminders"), FIG_COUNTER, WB_HEALTH_REPEATS },
  { "refreshes", N_("Token refreshes"), FIG_COUNTER, WB_HEALTH_TOKEN_REFRESHES },
  { "vsn", N_("Realtime protocol"), FIG_TEXT, WB_HEALTH_TEXT_REALTIME_VSN },
  { "db-broadcast", N_("Broadcast from Database"), FIG_TEXT, WB_HEALTH_TEXT_DB_BROADCAST },
  { "server-error", N_("Last server error"), FIG_SERVER_ERROR, 0 },
  { "dropped", N_("Unreadable frames dropped"), FIG_COUNTER, WB_HEALTH_FRAMES_DROPPED },
  { "p50", N_("Latency, median"), FIG_LATENCY, 50 },
  { "p99", N_("Latency, 99th percentile"), FIG_LATENCY, 99 },
  { "broadcast", N_("Broadcast events"), FIG_EVENTS, WB_HEALTH_SOURCE_BROADCAST },
  { "postgres", N_("Database change events"), FIG_EVENTS, WB_HEALTH_SOURCE_POSTGRES_CHANGES },
  { "db-events", N_("Private channel events"), FIG_EVENTS, WB_HEALTH_SOURCE_DB_BROADCAST },
  { "rejected", N_("Broadcasts not confirmed by the database"), FIG_COUNTER, WB_HEALTH_BROADCASTS_REJECTED },
  { "tier-toast", N_("Banner failures"), FIG_TIER, WB_TIER_TOAST },
  { "tier-sound", N_("Sound failures"), FIG_TIER, WB_TIER_SOUND },
  { "tier-notification", N_("Notification failures"), FIG_TIER, WB_TIER_NOTIFICATION },
  { "tier-tray", N_("Tray failures"), FIG_TIER, WB_TIER_TRAY },
};

static void
update (WbHealthView *self)
{
  WbHealth *health = wb_pipeline_get_health (self->pipeline);

  for (guint i = 0; i < G_N_ELEMENTS (figures); i++)
    {
      GtkLabel *label = g_hash_table_lookup (self->labels, figures[i].key);
      g_autofree char *text = NULL;

      switch (figures[i].kind)
        {
        case FIG_STATE:
          text = g_strdup (self->state_text != NULL ? self->state_text : "");
          break;
        case FIG_TEXT:
          text = g_strdup (wb_health_get_text (health, figures[i].which) ?: "—");
          break;
        case FIG_SERVER_ERROR:
          {
            const char *code = NULL, *message = NULL;

            wb_health_get_server_error (health, NULL, &code, &message);
            text = message == NULL ? g_strdup (_("None"))
                   : g_strdup_printf ("%s%s%s", code != NULL ? code : "", code != NULL ? ": " : "",
                                      message);
          }
          break;
        case FIG_COUNTER:
          text = g_strdup_printf ("%" G_GUINT64_FORMAT, wb_health_get (health, figures[i].which));
          break;
        case FIG_EVENTS:
          text = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                  wb_health_get_events (health, figures[i].which));
          break;
        case FIG_TIER:
          text = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                  wb_health_get_tier_failures (health, figures[i].which));
          break;
        case FIG_LATENCY:
        default:
          if (wb_health_get_latency_count (health) == 0)
            text = g_strdup ("—");
          else
            /* Translators: a latency in milliseconds. */
            text = g_strdup_printf (_("%.1f ms"),
                                    wb_health_get_latency_percentile (health, figures[i].which));
          break;
        }
      gtk_label_set_text (label, text);
      gtk_widget_set_tooltip_text (GTK_WIDGET (label), text);
    }
}

static gboolean
refresh_cb (gpointer user_data)
{
  update (user_data);
  return G_SOURCE_CONTINUE;
}

static void
build (WbHealthView *self)
{
  AdwPreferencesGroup *groups[3];
  const char *titles[] = { N_("Connection and Requests"), N_("Events and Latency"),
                           N_("Alert Tiers") };

  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    {
      groups[g] = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
      adw_preferences_group_set_title (groups[g], _(titles[g]));
      gtk_box_append (GTK_BOX (self), GTK_WIDGET (groups[g]));
    }
  for (guint i = 0; i < G_N_ELEMENTS (figures); i++)
    {
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *value = gtk_label_new (NULL);
      guint g = figures[i].kind == FIG_TIER ? 2
                : (figures[i].kind == FIG_LATENCY || figures[i].kind == FIG_EVENTS) ? 1 : 0;

      gtk_label_set_selectable (GTK_LABEL (value), TRUE);
      /* The server's words can be long: the row shows the start, the tooltip all of it. */
      gtk_label_set_ellipsize (GTK_LABEL (value), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (value), 40);
      gtk_widget_add_css_class (value, "numeric");
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _(figures[i].title));
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), value);
      adw_preferences_group_add (groups[g], row);
      g_hash_table_insert (self->labels, (gpointer) figures[i].key, value);
    }
}

void
wb_health_view_set_state_text (WbHealthView *self,
                               const char   *text)
{
  g_return_if_fail (WB_IS_HEALTH_VIEW (self));

  g_free (self->state_text);
  self->state_text = g_strdup (text);
  if (self->refresh_id != 0)
    update (self);
}

static void
wb_health_view_map (GtkWidget *widget)
{
  WbHealthView *self = WB_HEALTH_VIEW (widget);

  GTK_WIDGET_CLASS (wb_health_view_parent_class)->map (widget);

  update (self);
  if (self->refresh_id == 0)
    self->refresh_id = g_timeout_add_seconds (HEALTH_REFRESH_S, refresh_cb, self);
}

static void
wb_health_view_unmap (GtkWidget *widget)
{
  WbHealthView *self = WB_HEALTH_VIEW (widget);

  g_clear_handle_id (&self->refresh_id, g_source_remove);

  GTK_WIDGET_CLASS (wb_health_view_parent_class)->unmap (widget);
}

static void
wb_health_view_dispose (GObject *object)
{
  WbHealthView *self = WB_HEALTH_VIEW (object);

  g_clear_handle_id (&self->refresh_id, g_source_remove);
  g_clear_object (&self->pipeline);

  G_OBJECT_CLASS (wb_health_view_parent_class)->dispose (object);
}

static void
wb_health_view_finalize (GObject *object)
{
  WbHealthView *self = WB_HEALTH_VIEW (object);

  g_hash_table_unref (self->labels);
  g_free (self->state_text);

  G_OBJECT_CLASS (wb_health_view_parent_class)->finalize (object);
}

static void
wb_health_view_class_init (WbHealthViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_health_view_dispose;
  object_class->finalize = wb_health_view_finalize;
  widget_class->map = wb_health_view_map;
  widget_class->unmap = wb_health_view_unmap;
}

static void
wb_health_view_init (WbHealthView *self)
{
  self->labels = g_hash_table_new (g_str_hash, g_str_equal);
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 24);
}

GtkWidget *
wb_health_view_new (WbPipeline *pipeline)
{
  WbHealthView *self;

  g_return_val_if_fail (WB_IS_PIPELINE (pipeline), NULL);

  self = g_object_new (WB_TYPE_HEALTH_VIEW, NULL);
  self->pipeline = g_object_ref (pipeline);
  build (self);
  return GTK_WIDGET (self);
}
