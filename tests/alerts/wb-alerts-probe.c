/* wb-alerts-probe.c: drives the real alert tiers for test-alert-tiers.py.
 *
 * Reads one JSON command per line on stdin, prints one line per event on stdout:
 *   READY <unique bus name>
 *   RESULT {"kind":…,"assignment_id":…,"tiers":{"sound":{"result":"ok","reason":null},…}}
 *   MENU <item> | ACTION <id> <action> | DISMISSED <id> | STATE {"title_count":…,"pending":…,"registered":…}
 * Commands: {"cmd":"dispatch","kind":"alert|update|repeat|withdraw","id":…,"customer":…,
 *            "vehicle":…,"concern":…,"urgent":bool}, {"cmd":"acknowledge","id":…},
 *           {"cmd":"acknowledge-all"}, {"cmd":"set","dnd":bool,"muted":bool},
 *           {"cmd":"snooze","id":…,"ms":N}, {"cmd":"note","key":…,"summary":…,"body":…,
 *           "action":…,"label":…} / {"cmd":"note-close","key":…} (the notification tier's own
 *           notes), {"cmd":"problem","text":…|null} (the tray's not-receiving state),
 *           {"cmd":"state"}, {"cmd":"hide"} (hide the --toast window), {"cmd":"quit"}.
 * Options: --toast (a real window with an AdwToastOverlay), --repeat-ms N, --escalate-ms N,
 *          --tier-timeout N,
 *          --broken TIER:hang|error (replace a tier with one that never answers / errors). */
#include "config.h"

#include <gio/gunixinputstream.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "wb-alert-dispatcher.h"
#include "wb-alert-notification.h"
#include "wb-alert-sound.h"
#include "wb-alert-toast.h"
#include "wb-alert-tray.h"

/* ---- a deliberately broken tier ---------------------------------------------------------- */

#define PROBE_TYPE_BROKEN (probe_broken_get_type ())
G_DECLARE_FINAL_TYPE (ProbeBroken, probe_broken, PROBE, BROKEN, GObject)

struct _ProbeBroken
{
  GObject    parent_instance;
  WbTier     tier;
  gboolean   hang;
  GPtrArray *hung;
};

static void probe_broken_iface_init (WbAlertTierInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (ProbeBroken, probe_broken, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (WB_TYPE_ALERT_TIER, probe_broken_iface_init))

static WbTier
broken_get_tier (WbAlertTier *tier)
{
  return PROBE_BROKEN (tier)->tier;
}

static void
broken_fire_async (WbAlertTier *tier, const WbAlertRecord *record, GCancellable *cancellable,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  ProbeBroken *self = PROBE_BROKEN (tier);
  GTask *task = g_task_new (self, NULL, callback, user_data);

  if (self->hang)
    g_ptr_array_add (self->hung, task);   /* never answered */
  else
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "test tier broke");
      g_object_unref (task);
    }
}

static WbTierResult
broken_fire_finish (WbAlertTier *tier, GAsyncResult *result, char **reason, GError **error)
{
  return wb_alert_tier_task_finish (result, reason, error);
}

static void
probe_broken_iface_init (WbAlertTierInterface *iface)
{
  iface->get_tier = broken_get_tier;
  iface->fire_async = broken_fire_async;
  iface->fire_finish = broken_fire_finish;
}

static void
probe_broken_finalize (GObject *object)
{
  g_ptr_array_unref (PROBE_BROKEN (object)->hung);
  G_OBJECT_CLASS (probe_broken_parent_class)->finalize (object);
}

static void
probe_broken_class_init (ProbeBrokenClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = probe_broken_finalize;
}

static void
probe_broken_init (ProbeBroken *self)
{
  self->hung = g_ptr_array_new_with_free_func (g_object_unref);
}

/* ---- the probe --------------------------------------------------------------------------- */

static WbAlertDispatcher *dispatcher;
static WbAlertTray *tray;
static WbAlertSound *sound;
static WbAlertNotification *notification;
static GMainLoop *loop;
static GtkWidget *window;

static void
say (const char *fmt,
     ...) G_GNUC_PRINTF (1, 2);

static void
say (const char *fmt,
     ...)
{
  va_list args;

  va_start (args, fmt);
  vprintf (fmt, args);
  va_end (args);
  putchar ('\n');
  fflush (stdout);
}

static const char *
result_name (WbTierResult r)
{
  switch (r)
    {
    case WB_TIER_RESULT_OK:      return "ok";
    case WB_TIER_RESULT_SKIPPED: return "skipped";
    case WB_TIER_RESULT_FAILED:  return "failed";
    case WB_TIER_RESULT_NOT_RUN:
    default:                     return "not-run";
    }
}

static void
on_record_done_cb (WbAlertDispatcher *d,
                   WbAlertRecord     *record)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, wb_alert_kind_to_string (record->kind));
  json_builder_set_member_name (b, "assignment_id");
  json_builder_add_string_value (b, record->assignment_id);
  json_builder_set_member_name (b, "urgent");
  json_builder_add_boolean_value (b, record->urgent);
  json_builder_set_member_name (b, "tiers");
  json_builder_begin_object (b);
  for (guint i = 0; i < WB_N_TIERS; i++)
    {
      json_builder_set_member_name (b, wb_tier_to_string (i));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "result");
      json_builder_add_string_value (b, result_name (record->tier_result[i]));
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, record->tier_reason[i]);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "log_line");
  text = wb_alert_record_to_json_line (record);
  json_builder_add_string_value (b, text);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  g_free (text);
  text = json_to_string (root, FALSE);
  say ("RESULT %s", text);
}

static WbAlertKind
parse_kind (const char *kind)
{
  if (g_strcmp0 (kind, "update") == 0)
    return WB_ALERT_KIND_UPDATE;
  if (g_strcmp0 (kind, "repeat") == 0)
    return WB_ALERT_KIND_REPEAT;
  if (g_strcmp0 (kind, "withdraw") == 0)
    return WB_ALERT_KIND_WITHDRAW;
  if (g_strcmp0 (kind, "escalate") == 0)
    return WB_ALERT_KIND_ESCALATE;
  return WB_ALERT_KIND_ALERT;
}

static void
run_command (JsonObject *cmd)
{
  const char *what = json_object_get_string_member_with_default (cmd, "cmd", "");

  if (g_str_equal (what, "dispatch"))
    {
      g_autoptr(WbAlertRecord) r =
        wb_alert_record_new (parse_kind (json_object_get_string_member_with_default (cmd, "kind", "alert")),
                             json_object_get_string_member (cmd, "id"));

      r->source = "broadcast";   /* a request, not the app's own test alert */
      r->episode = 1;
      r->details_full = TRUE;
      r->customer = g_strdup (json_object_get_string_member_with_default (cmd, "customer", NULL));
      r->vehicle = g_strdup (json_object_get_string_member_with_default (cmd, "vehicle", NULL));
      r->concern = g_strdup (json_object_get_string_member_with_default (cmd, "concern", NULL));
      r->urgent = json_object_get_boolean_member_with_default (cmd, "urgent", FALSE);
      r->received_us = g_get_real_time ();
      r->received_mono_us = g_get_monotonic_time ();
      wb_alert_dispatcher_dispatch (dispatcher, r, NULL, NULL);
    }
  else if (g_str_equal (what, "acknowledge"))
    wb_alert_dispatcher_acknowledge (dispatcher, json_object_get_string_member (cmd, "id"));
  else if (g_str_equal (what, "acknowledge-all"))
    wb_alert_dispatcher_acknowledge_all (dispatcher);
  else if (g_str_equal (what, "set"))
    {
      if (json_object_has_member (cmd, "dnd"))
        wb_alert_dispatcher_set_do_not_disturb (dispatcher, json_object_get_boolean_member (cmd, "dnd"));
      if (json_object_has_member (cmd, "muted"))
        wb_alert_sound_set_muted (sound, json_object_get_boolean_member (cmd, "muted"));
    }
  else if (g_str_equal (what, "snooze"))
    say ("SNOOZED %s", _wb_alert_dispatcher_snooze_ms (dispatcher, json_object_get_string_member (cmd, "id"),
                                                       json_object_get_int_member (cmd, "ms")) ? "yes" : "no");
  else if (g_str_equal (what, "note"))
    wb_alert_notification_show_note (notification, json_object_get_string_member (cmd, "key"),
                                     json_object_get_string_member (cmd, "summary"),
                                     json_object_get_string_member_with_default (cmd, "body", NULL),
                                     json_object_get_string_member_with_default (cmd, "id", NULL),
                                     json_object_get_string_member_with_default (cmd, "action", NULL),
                                     json_object_get_string_member_with_default (cmd, "label", NULL),
                                     json_object_get_boolean_member_with_default (cmd, "urgent", FALSE));
  else if (g_str_equal (what, "note-close"))
    wb_alert_notification_withdraw_note (notification, json_object_get_string_member (cmd, "key"));
  else if (g_str_equal (what, "problem"))
    wb_alert_tray_set_problem (tray, json_object_get_string_member_with_default (cmd, "text", NULL));
  else if (g_str_equal (what, "state"))
    say ("STATE {\"title_count\":\"%s\",\"pending\":%u,\"registered\":%s}",
         wb_alert_tray_get_title_count (tray), wb_alert_tray_get_pending_count (tray),
         wb_alert_tray_get_registered (tray) ? "true" : "false");
  else if (g_str_equal (what, "hide") && window != NULL)
    gtk_widget_set_visible (window, FALSE);
  else if (g_str_equal (what, "quit"))
    g_main_loop_quit (loop);
}

static void
read_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                                     result, NULL, &error);
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (line == NULL)
    {
      g_main_loop_quit (loop);
      return;
    }
  if (json_parser_load_from_data (parser, line, -1, &error)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    run_command (json_node_get_object (json_parser_get_root (parser)));
  else
    say ("ERROR bad command: %s", line);
  g_data_input_stream_read_line_async (G_DATA_INPUT_STREAM (source), G_PRIORITY_DEFAULT, NULL,
                                       read_line_cb, NULL);
}

static void
on_menu_activated_cb (WbAlertTray *t,
                      const char  *item)
{
  say ("MENU %s", item);
}

static void
on_action_cb (WbAlertNotification *n,
              const char          *id,
              const char          *action)
{
  say ("ACTION %s %s", id, action);
}

static void
on_dismissed_cb (WbAlertNotification *n,
                 const char          *id)
{
  say ("DISMISSED %s", id);
}

static WbTier
parse_tier (const char *name)
{
  for (guint i = 0; i < WB_N_TIERS; i++)
    if (g_str_equal (name, wb_tier_to_string (i)))
      return i;
  g_error ("unknown tier %s", name);
}

int
main (int   argc,
      char *argv[])
{
  gboolean with_toast = FALSE;
  int repeat_ms = 0;
  int escalate_ms = 0;
  int tier_timeout = 2000;
  g_autofree char *broken = NULL;
  GOptionEntry entries[] = {
    { "toast", 0, 0, G_OPTION_ARG_NONE, &with_toast, "Show a window with a toast overlay", NULL },
    { "repeat-ms", 0, 0, G_OPTION_ARG_INT, &repeat_ms, "Repeat interval (ms), 0 = off", NULL },
    { "escalate-ms", 0, 0, G_OPTION_ARG_INT, &escalate_ms, "Escalate after (ms), 0 = off", NULL },
    { "tier-timeout", 0, 0, G_OPTION_ARG_INT, &tier_timeout, "Per-tier deadline (ms)", NULL },
    { "broken", 0, 0, G_OPTION_ARG_STRING, &broken, "TIER:hang|error", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(WbAlertToast) toast = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GDataInputStream) data_in = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    g_error ("%s", error->message);

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL)
    g_error ("no session bus: %s", error->message);

  loop = g_main_loop_new (NULL, FALSE);
  dispatcher = wb_alert_dispatcher_new ();
  _wb_alert_dispatcher_set_repeat_interval_ms (dispatcher, repeat_ms);
  _wb_alert_dispatcher_set_escalate_after_ms (dispatcher, escalate_ms);
  wb_alert_dispatcher_set_tier_timeout (dispatcher, tier_timeout);
  g_signal_connect (dispatcher, "record-done", G_CALLBACK (on_record_done_cb), NULL);

  toast = wb_alert_toast_new ();
  if (with_toast)
    {
      GtkWidget *overlay;

      adw_init ();
      window = adw_window_new ();
      gtk_window_set_default_size (GTK_WINDOW (window), 640, 480);
      overlay = adw_toast_overlay_new ();
      adw_toast_overlay_set_child (ADW_TOAST_OVERLAY (overlay), gtk_label_new ("Wrenchbell"));
      adw_window_set_content (ADW_WINDOW (window), overlay);
      gtk_window_present (GTK_WINDOW (window));
      wb_alert_toast_set_overlay (toast, ADW_TOAST_OVERLAY (overlay));
      while (!gtk_widget_get_mapped (overlay))
        g_main_context_iteration (NULL, TRUE);
    }
  sound = wb_alert_sound_new ();
  wb_alert_sound_set_volume (sound, 1.0);
  notification = wb_alert_notification_new ("Wrenchbell");
  g_signal_connect (notification, "action", G_CALLBACK (on_action_cb), NULL);
  g_signal_connect (notification, "dismissed", G_CALLBACK (on_dismissed_cb), NULL);
  tray = wb_alert_tray_new (bus);
  g_signal_connect (tray, "menu-activated", G_CALLBACK (on_menu_activated_cb), NULL);

  wb_alert_dispatcher_add_tier (dispatcher, WB_ALERT_TIER (toast));
  wb_alert_dispatcher_add_tier (dispatcher, WB_ALERT_TIER (sound));
  wb_alert_dispatcher_add_tier (dispatcher, WB_ALERT_TIER (notification));
  wb_alert_dispatcher_add_tier (dispatcher, WB_ALERT_TIER (tray));
  if (broken != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (broken, ":", 2);
      g_autoptr(ProbeBroken) b = g_object_new (PROBE_TYPE_BROKEN, NULL);

      b->tier = parse_tier (parts[0]);
      b->hang = g_strcmp0 (parts[1], "hang") == 0;
      wb_alert_dispatcher_add_tier (dispatcher, WB_ALERT_TIER (b));
    }

  in = g_unix_input_stream_new (0, FALSE);
  data_in = g_data_input_stream_new (in);
  g_data_input_stream_read_line_async (data_in, G_PRIORITY_DEFAULT, NULL, read_line_cb, NULL);

  /* sound-prepared=0: GStreamer is not initialised yet, as in the window app before its first
   * frame; the first ring must initialise it itself (test_ring_before_sound_prepared). */
  say ("READY %s sound-prepared=%d", g_dbus_connection_get_unique_name (bus),
       wb_alert_sound_is_prepared (sound));
  g_main_loop_run (loop);

  g_clear_object (&dispatcher);
  g_clear_object (&notification);
  g_clear_object (&tray);
  g_clear_object (&sound);
  if (window != NULL)
    gtk_window_destroy (GTK_WINDOW (window));
  g_main_loop_unref (loop);
  return 0;
}
