/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-alert-sound.h: the sound tier (GStreamer). */
#pragma once

#include "wb-alert-tier.h"

G_BEGIN_DECLS

#define WB_TYPE_ALERT_SOUND (wb_alert_sound_get_type ())
G_DECLARE_FINAL_TYPE (WbAlertSound, wb_alert_sound, WB, ALERT_SOUND, GObject)

/* The chimes live in the library's GResource (data/sounds/, wb-alerts.gresource.xml). */
#define WB_ALERT_SOUND_RESOURCE_PATH "/io/github/wrenchbell/Wrenchbell/sounds"
#define WB_ALERT_SOUND_CHIME         "wrenchbell-chime.oga"
#define WB_ALERT_SOUND_URGENT        "wrenchbell-urgent.oga"

/* Output: env WB_AUDIO_SINK (a gst-launch description such as
 * "wavenc ! filesink location=x.wav" or "pulsesink device=capture"), else autoaudiosink. */
WbAlertSound *wb_alert_sound_new            (void);
void          wb_alert_sound_set_volume     (WbAlertSound *self,
                                             double        volume);
double        wb_alert_sound_get_volume     (WbAlertSound *self);
void          wb_alert_sound_set_muted      (WbAlertSound *self,
                                             gboolean      muted);
gboolean      wb_alert_sound_get_muted      (WbAlertSound *self);
/* Muted until this wall-clock time (unix seconds); 0 = not. */
void          wb_alert_sound_set_mute_until (WbAlertSound *self,
                                             gint64        unix_seconds);
gint64        wb_alert_sound_get_mute_until (WbAlertSound *self);
/* Initialises GStreamer in a worker thread (a few hundred ms of plugin registry on a slow disk) so
 * the program can do it after its first frame; a ring that comes first initialises it itself. */
void          wb_alert_sound_prepare_async  (WbAlertSound        *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean      wb_alert_sound_prepare_finish (WbAlertSound        *self,
                                             GAsyncResult        *result,
                                             GError             **error);
gboolean      wb_alert_sound_is_prepared    (WbAlertSound        *self);

G_END_DECLS
