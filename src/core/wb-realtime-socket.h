/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-realtime-socket.h: the Realtime websocket: protocol version, refs, heartbeat with reply
 * deadline, reconnect with backoff and the server's hold-offs, make-before-break renewal. */
#pragma once

#include <gio/gio.h>

#include "wb-phoenix-serializer.h"

G_BEGIN_DECLS

typedef enum
{
  WB_SOCKET_STATE_DISCONNECTED,
  WB_SOCKET_STATE_CONNECTING,
  WB_SOCKET_STATE_CONNECTED,
} WbSocketState;

#define WB_TYPE_SOCKET_STATE (wb_socket_state_get_type ())
GType wb_socket_state_get_type (void) G_GNUC_CONST;

#define WB_TYPE_REALTIME_SOCKET (wb_realtime_socket_get_type ())
G_DECLARE_FINAL_TYPE (WbRealtimeSocket, wb_realtime_socket, WB, REALTIME_SOCKET, GObject)

WbRealtimeSocket *wb_realtime_socket_new                  (const char       *base_url,
                                                           const char       *apikey);
void              wb_realtime_socket_connect              (WbRealtimeSocket *self);
void              wb_realtime_socket_disconnect           (WbRealtimeSocket *self);
void              wb_realtime_socket_reconnect_now        (WbRealtimeSocket *self,
                                                           const char       *reason);
gboolean          wb_realtime_socket_send                 (WbRealtimeSocket *self,
                                                           const WbPhoenixMessage *msg);
char             *wb_realtime_socket_make_ref             (WbRealtimeSocket *self);
WbSocketState     wb_realtime_socket_get_state            (WbRealtimeSocket *self);
gint64            wb_realtime_socket_get_reconnect_in_ms  (WbRealtimeSocket *self);
const char       *wb_realtime_socket_get_base_url         (WbRealtimeSocket *self);
void              wb_realtime_socket_set_heartbeat_interval_ms (WbRealtimeSocket *self,
                                                           guint             interval_ms);
void              wb_realtime_socket_set_heartbeat_timeout_ms  (WbRealtimeSocket *self,
                                                           guint             timeout_ms);
void              wb_realtime_socket_set_backoff          (WbRealtimeSocket *self,
                                                           guint             base_ms,
                                                           guint             max_ms);
void              wb_realtime_socket_set_stable_after_ms  (WbRealtimeSocket *self,
                                                           guint             stable_ms);

void              wb_realtime_socket_set_vsn              (WbRealtimeSocket *self,
                                                           WbPhoenixVsn      vsn);
WbPhoenixVsn      wb_realtime_socket_get_vsn              (WbRealtimeSocket *self);
guint64           wb_realtime_socket_get_frames_dropped   (WbRealtimeSocket *self);
void              wb_realtime_socket_hold_off             (WbRealtimeSocket *self,
                                                           guint             delay_ms);
void              wb_realtime_socket_renew                (WbRealtimeSocket *self,
                                                           const char       *reason);
void              wb_realtime_socket_restart              (WbRealtimeSocket *self,
                                                           const char       *reason);
void              wb_realtime_socket_set_refusal_base_ms  (WbRealtimeSocket *self,
                                                           guint             base_ms);
guint             wb_realtime_socket_get_refusal_base_ms  (WbRealtimeSocket *self);
void              wb_realtime_socket_set_retire_after_ms  (WbRealtimeSocket *self,
                                                           guint             retire_ms);
void              wb_realtime_socket_set_allow_insecure_http (WbRealtimeSocket *self,
                                                              gboolean          allow);

G_END_DECLS
