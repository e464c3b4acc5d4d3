/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-sound.c: the sound tier, the GResource chimes through a GStreamer playbin. */

#define G_LOG_DOMAIN "wb-alert-sound"

#include "config.h"

#include <gst/gst.h>

#include "wb-alert-sound.h"
#include "wb-alerts-resources.h"

/* One playbin per ring. Nothing here blocks the main loop: state changes run in a worker
 * thread (a pulsesink opening its connection can take a while), results come from the bus
 * watch, and a deadline turns "no answer from the audio device" into FAILED. The tier reports
 * OK once the pipeline is PLAYING — the chime is then audibly ringing — and tears the pipeline
 * down at EOS (or after a safety limit). */

#define START_DEADLINE_MS 1500
#define PLAY_LIMIT_MS     5000

struct _WbAlertSound
{
  GObject     parent_instance;

  double      volume;
  gboolean    muted;
  gint64      mute_until;

  GstElement *pipeline;      /* (owned) (nullable) the ring in progress */
  guint       bus_watch_id;
  guint       deadline_id;
  GTask      *starting;      /* (owned) (nullable) fire task waiting for PLAYING */
  char       *ringing_for;   /* (owned) (nullable) the assignment the ring in progress began for */
};

static void wb_alert_sound_tier_iface_init (WbAlertTierInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WbAlertSound, wb_alert_sound, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (WB_TYPE_ALERT_TIER,
                                                      wb_alert_sound_tier_iface_init))

enum {
  PROP_0,
  PROP_VOLUME,
  PROP_MUTED,
  PROP_MUTE_UNTIL,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

static void
set_state_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  GstElement *pipeline = task_data;
  GstState target = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task), "target"));

  g_task_return_int (task, gst_element_set_state (pipeline, target));
}

static void set_state_in_thread (WbAlertSound *self, GstElement *pipeline, GstState target);

static void
finish_starting (WbAlertSound *self,
                 GError       *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->starting);

  g_clear_handle_id (&self->deadline_id, g_source_remove);
  if (task == NULL)
    return;
  if (error != NULL)
    g_task_return_error (task, g_error_copy (error));
  else
    wb_alert_tier_task_return (task, WB_TIER_RESULT_OK, NULL);
}

/* Stop the ring in progress (if any): the pipeline goes to NULL in a worker thread. */
static void
stop_ring (WbAlertSound *self)
{
  g_autoptr(GstElement) pipeline = g_steal_pointer (&self->pipeline);

  g_clear_handle_id (&self->bus_watch_id, g_source_remove);
  g_clear_handle_id (&self->deadline_id, g_source_remove);
  g_clear_pointer (&self->ringing_for, g_free);
  if (pipeline != NULL)
    set_state_in_thread (self, pipeline, GST_STATE_NULL);
}

static void
set_state_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  WbAlertSound *self = WB_ALERT_SOUND (source);
  GstElement *pipeline = g_task_get_task_data (G_TASK (result));
  GstStateChangeReturn ret = g_task_propagate_int (G_TASK (result), NULL);

  /* A failure usually also posts an ERROR on the bus, which carries the better message. */
  if (ret == GST_STATE_CHANGE_FAILURE && pipeline == self->pipeline && self->starting != NULL)
    {
      g_autoptr(GstBus) bus = gst_element_get_bus (pipeline);
      g_autoptr(GstMessage) message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
      g_autoptr(GError) error = NULL;

      if (message != NULL)
        gst_message_parse_error (message, &error, NULL);
      else
        error = g_error_new (GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                             "audio output could not start");
      finish_starting (self, error);
      stop_ring (self);
    }
}

static void
set_state_in_thread (WbAlertSound *self,
                     GstElement   *pipeline,
                     GstState      target)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, set_state_done_cb, NULL);

  g_task_set_source_tag (task, set_state_in_thread);
  g_task_set_task_data (task, gst_object_ref (pipeline), gst_object_unref);
  g_object_set_data (G_OBJECT (task), "target", GINT_TO_POINTER (target));
  g_task_run_in_thread (task, set_state_thread);
}

static gboolean
bus_cb (GstBus     *bus,
        GstMessage *message,
        gpointer    user_data)
{
  WbAlertSound *self = WB_ALERT_SOUND (user_data);

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) error = NULL;
        g_autofree char *debug = NULL;

        gst_message_parse_error (message, &error, &debug);
        g_debug ("playback error: %s (%s)", error->message, debug ? debug : "");
        finish_starting (self, error);
        stop_ring (self);
        return G_SOURCE_REMOVE;
      }

    case GST_MESSAGE_STATE_CHANGED:
      if (GST_MESSAGE_SRC (message) == GST_OBJECT (self->pipeline))
        {
          GstState new_state;

          gst_message_parse_state_changed (message, NULL, &new_state, NULL);
          if (new_state == GST_STATE_PLAYING)
            {
              finish_starting (self, NULL);
              self->deadline_id = g_timeout_add_once (PLAY_LIMIT_MS,
                                                      (GSourceOnceFunc) stop_ring, self);
            }
        }
      return G_SOURCE_CONTINUE;

    case GST_MESSAGE_EOS:
      finish_starting (self, NULL);
      self->bus_watch_id = 0;
      stop_ring (self);
      return G_SOURCE_REMOVE;

    default:
      return G_SOURCE_CONTINUE;
    }
}

static void
start_deadline_cb (gpointer user_data)
{
  WbAlertSound *self = WB_ALERT_SOUND (user_data);
  g_autoptr(GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                         "audio output did not start within %d ms",
                                         START_DEADLINE_MS);

  self->deadline_id = 0;
  finish_starting (self, error);
  stop_ring (self);
}

static GstElement *
make_pipeline (const char  *uri,
               double       volume,
               GError     **error)
{
  const char *sink_desc = g_getenv ("WB_AUDIO_SINK");
  g_autoptr(GstElement) playbin = NULL;
  GstElement *sink;

  playbin = gst_element_factory_make ("playbin", NULL);
  if (playbin == NULL)
    {
      g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                           "GStreamer playbin is not installed");
      return NULL;
    }
  gst_object_ref_sink (playbin);

  if (sink_desc != NULL && *sink_desc != '\0')
    {
      sink = gst_parse_bin_from_description (sink_desc, TRUE, error);
      if (sink == NULL)
        {
          g_prefix_error (error, "audio sink \"%s\": ", sink_desc);
          return NULL;
        }
    }
  else
    {
      sink = gst_element_factory_make ("autoaudiosink", NULL);
      if (sink == NULL)
        {
          g_set_error_literal (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                               "GStreamer autoaudiosink is not installed");
          return NULL;
        }
    }

  gst_util_set_object_arg (G_OBJECT (playbin), "flags", "audio");
  g_object_set (playbin, "uri", uri, "volume", volume, "audio-sink", sink, NULL);
  return g_steal_pointer (&playbin);
}

static void
wb_alert_sound_fire (WbAlertTier         *tier,
                     const WbAlertRecord *record,
                     GTask               *task)
{
  WbAlertSound *self = WB_ALERT_SOUND (tier);
  g_autoptr(GError) error = NULL;
  g_autoptr(GstBus) bus = NULL;
  g_autofree char *uri = NULL;
  const char *name = record->urgent ? WB_ALERT_SOUND_URGENT : WB_ALERT_SOUND_CHIME;
  g_autofree char *path = g_build_path ("/", WB_ALERT_SOUND_RESOURCE_PATH, name, NULL);

  if (self->muted || (self->mute_until > 0 && g_get_real_time () / G_USEC_PER_SEC < self->mute_until))
    {
      wb_alert_tier_task_return (task, WB_TIER_RESULT_SKIPPED, "muted");
      return;
    }
  if (self->volume <= 0.0)
    {
      wb_alert_tier_task_return (task, WB_TIER_RESULT_SKIPPED, "volume 0");
      return;
    }
  if (record->kind == WB_ALERT_KIND_UPDATE)
    {
      /* The same alert with better text: it already rang. */
      wb_alert_tier_task_return (task, WB_TIER_RESULT_SKIPPED, "update");
      return;
    }
  /* A ring before wb_alert_sound_prepare_async() finished still rings: initialise here (once). */
  if (!gst_is_initialized ())
    gst_init (NULL, NULL);
  if (self->pipeline != NULL)
    {
      /* A burst: one chime covers them all rather than twenty on top of each other. */
      wb_alert_tier_task_return (task, WB_TIER_RESULT_OK, NULL);
      return;
    }

  /* In memory, not on disk: a build that lost the resource says so rather than GStreamer. */
  if (!g_resources_get_info (path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL, NULL, NULL))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "sound file %s not found", name);
      return;
    }

  /* giosrc reads resource:// URIs (GIO's GResource stream), in GStreamer's streaming thread. */
  uri = g_strconcat ("resource://", path, NULL);
  self->pipeline = make_pipeline (uri, self->volume, &error);
  if (self->pipeline == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  bus = gst_element_get_bus (self->pipeline);
  self->ringing_for = g_strdup (record->assignment_id);
  self->bus_watch_id = gst_bus_add_watch (bus, bus_cb, self);
  self->starting = g_object_ref (task);
  self->deadline_id = g_timeout_add_once (START_DEADLINE_MS, start_deadline_cb, self);
  set_state_in_thread (self, self->pipeline, GST_STATE_PLAYING);
}

/* Taken elsewhere, snoozed or seen: the chime that began for it stops mid-ring. */
static void
wb_alert_sound_stand_down (WbAlertTier *tier,
                           const char  *assignment_id)
{
  WbAlertSound *self = WB_ALERT_SOUND (tier);

  if (self->pipeline == NULL || g_strcmp0 (self->ringing_for, assignment_id) != 0)
    return;
  finish_starting (self, NULL);
  stop_ring (self);
}

static WbTier
wb_alert_sound_get_tier (WbAlertTier *tier)
{
  return WB_TIER_SOUND;
}

static void
wb_alert_sound_tier_iface_init (WbAlertTierInterface *iface)
{
  iface->get_tier = wb_alert_sound_get_tier;
  iface->fire = wb_alert_sound_fire;
  iface->withdraw = wb_alert_sound_stand_down;
  iface->acknowledge = wb_alert_sound_stand_down;
}

void
wb_alert_sound_set_volume (WbAlertSound *self,
                           double        volume)
{
  g_return_if_fail (WB_IS_ALERT_SOUND (self));

  volume = CLAMP (volume, 0.0, 1.0);
  if (self->volume == volume)
    return;
  self->volume = volume;
  if (self->pipeline != NULL)
    g_object_set (self->pipeline, "volume", volume, NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VOLUME]);
}

double
wb_alert_sound_get_volume (WbAlertSound *self)
{
  g_return_val_if_fail (WB_IS_ALERT_SOUND (self), 0.0);
  return self->volume;
}

void
wb_alert_sound_set_muted (WbAlertSound *self,
                          gboolean      muted)
{
  g_return_if_fail (WB_IS_ALERT_SOUND (self));

  if (self->muted == !!muted)
    return;
  self->muted = !!muted;
  if (self->muted)
    stop_ring (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MUTED]);
}

gboolean
wb_alert_sound_get_muted (WbAlertSound *self)
{
  g_return_val_if_fail (WB_IS_ALERT_SOUND (self), FALSE);
  return self->muted;
}

void
wb_alert_sound_set_mute_until (WbAlertSound *self,
                               gint64        unix_seconds)
{
  g_return_if_fail (WB_IS_ALERT_SOUND (self));

  if (self->mute_until == unix_seconds)
    return;
  self->mute_until = unix_seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MUTE_UNTIL]);
}

gint64
wb_alert_sound_get_mute_until (WbAlertSound *self)
{
  g_return_val_if_fail (WB_IS_ALERT_SOUND (self), 0);
  return self->mute_until;
}

WbAlertSound *
wb_alert_sound_new (void)
{
  return g_object_new (WB_TYPE_ALERT_SOUND, NULL);
}

static void
wb_alert_sound_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  WbAlertSound *self = WB_ALERT_SOUND (object);

  switch (prop_id)
    {
    case PROP_VOLUME:
      g_value_set_double (value, self->volume);
      break;
    case PROP_MUTED:
      g_value_set_boolean (value, self->muted);
      break;
    case PROP_MUTE_UNTIL:
      g_value_set_int64 (value, self->mute_until);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_alert_sound_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  WbAlertSound *self = WB_ALERT_SOUND (object);

  switch (prop_id)
    {
    case PROP_VOLUME:
      wb_alert_sound_set_volume (self, g_value_get_double (value));
      break;
    case PROP_MUTED:
      wb_alert_sound_set_muted (self, g_value_get_boolean (value));
      break;
    case PROP_MUTE_UNTIL:
      wb_alert_sound_set_mute_until (self, g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
wb_alert_sound_dispose (GObject *object)
{
  WbAlertSound *self = WB_ALERT_SOUND (object);

  if (self->starting != NULL)
    {
      g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                     "sound tier shut down");
      finish_starting (self, error);
    }
  g_clear_handle_id (&self->bus_watch_id, g_source_remove);
  g_clear_handle_id (&self->deadline_id, g_source_remove);
  if (self->pipeline != NULL)
    {
      /* Last chance: no main loop to come back to, so stop it here. */
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      gst_clear_object (&self->pipeline);
    }
  g_clear_pointer (&self->ringing_for, g_free);

  G_OBJECT_CLASS (wb_alert_sound_parent_class)->dispose (object);
}

static void
wb_alert_sound_class_init (WbAlertSoundClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  /* The chimes (WB_ALERT_SOUND_RESOURCE_PATH), once per process. */
  wb_alerts_register_resource ();

  object_class->get_property = wb_alert_sound_get_property;
  object_class->set_property = wb_alert_sound_set_property;
  object_class->dispose = wb_alert_sound_dispose;

  properties[PROP_VOLUME] = g_param_spec_double ("volume", NULL, NULL, 0.0, 1.0, 0.8, rw);
  properties[PROP_MUTED] = g_param_spec_boolean ("muted", NULL, NULL, FALSE, rw);
  properties[PROP_MUTE_UNTIL] =
    g_param_spec_int64 ("mute-until", NULL, NULL, 0, G_MAXINT64, 0, rw);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
wb_alert_sound_init (WbAlertSound *self)
{
  /* GStreamer is initialised by wb_alert_sound_prepare_async() (off the main thread, when the
   * first frame no longer needs the CPU), or by the first ring if that comes sooner. */
  self->volume = 0.8;
}

static void
prepare_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  /* gst_init() holds GStreamer's own init lock: a ring that calls it meanwhile waits for this. */
  gst_init (NULL, NULL);
  g_task_return_boolean (task, TRUE);
}

void
wb_alert_sound_prepare_async (WbAlertSound        *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, wb_alert_sound_prepare_async);
  if (gst_is_initialized ())
    g_task_return_boolean (task, TRUE);
  else
    g_task_run_in_thread (task, prepare_thread);
}

gboolean
wb_alert_sound_prepare_finish (WbAlertSound  *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
wb_alert_sound_is_prepared (WbAlertSound *self)
{
  return gst_is_initialized ();
}
