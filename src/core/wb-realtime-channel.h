/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-realtime-channel.h: one Realtime topic: join payload, rejoin, system messages, tokens. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "wb-realtime-socket.h"

G_BEGIN_DECLS

#define WB_CHANNEL_REPLAY_LIMIT 25   /* Realtime's cap on replayed messages */

typedef enum
{
  WB_CHANNEL_STATE_CLOSED,
  WB_CHANNEL_STATE_JOINING,
  WB_CHANNEL_STATE_JOINED,
  WB_CHANNEL_STATE_ERRORED,
  WB_CHANNEL_STATE_LEAVING,
} WbChannelState;

#define WB_TYPE_CHANNEL_STATE (wb_channel_state_get_type ())
GType wb_channel_state_get_type (void) G_GNUC_CONST;

#define WB_TYPE_REALTIME_CHANNEL (wb_realtime_channel_get_type ())
G_DECLARE_FINAL_TYPE (WbRealtimeChannel, wb_realtime_channel, WB, REALTIME_CHANNEL, GObject)

WbRealtimeChannel *wb_realtime_channel_new                  (WbRealtimeSocket  *socket,
                                                             const char        *topic,
                                                             const char        *access_token);
void               wb_realtime_channel_add_postgres_changes (WbRealtimeChannel *self,
                                                             const char        *event,
                                                             const char        *schema,
                                                             const char        *table,
                                                             const char        *filter);
/* A private channel (config.private): joined only with a token whose role a select policy on
 * realtime.messages lets read the topic. Set before subscribing. */
void               wb_realtime_channel_set_private          (WbRealtimeChannel *self,
                                                             gboolean           private_);
/* Every later join of a private channel asks for replay since @since_ms (ms since the epoch,
 * inclusive; 0: none). */
void               wb_realtime_channel_set_replay_since     (WbRealtimeChannel *self,
                                                             gint64             since_ms);
void               wb_realtime_channel_subscribe            (WbRealtimeChannel *self);
void               wb_realtime_channel_unsubscribe          (WbRealtimeChannel *self);
void               wb_realtime_channel_set_access_token     (WbRealtimeChannel *self,
                                                             const char        *access_token);
void               wb_realtime_channel_set_access_token_full (WbRealtimeChannel *self,
                                                             const char        *access_token,
                                                             gint64             expires_at);
gboolean           wb_realtime_channel_get_awaiting_token   (WbRealtimeChannel *self);
void               wb_realtime_channel_set_refusal_base_ms  (WbRealtimeChannel *self,
                                                             guint              base_ms);
WbChannelState     wb_realtime_channel_get_state            (WbRealtimeChannel *self);
gboolean           wb_realtime_channel_get_live             (WbRealtimeChannel *self);
const char        *wb_realtime_channel_get_topic            (WbRealtimeChannel *self);
const char        *wb_realtime_channel_get_join_ref         (WbRealtimeChannel *self);
JsonNode          *wb_realtime_channel_build_join_payload   (WbRealtimeChannel *self);
void               wb_realtime_channel_set_timings          (WbRealtimeChannel *self,
                                                             guint              join_timeout_ms,
                                                             guint              rejoin_unit_ms);

G_END_DECLS
