/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-realtime-channel-private.h: pure helpers behind WbRealtimeChannel. */
#pragma once

#include <json-glib/json-glib.h>

#include "wb-realtime-channel.h"

G_BEGIN_DECLS

typedef struct
{
  char   *event;
  char   *schema;
  char   *table;   /* (nullable) */
  char   *filter;  /* (nullable) */
  gint64  id;      /* server id from the join reply, -1 until joined */
} WbChannelBinding;

void        _wb_channel_binding_clear      (gpointer    data);
/* @private_: config.private; @replay_since_ms > 0 asks a private channel for replay since then. */
JsonNode   *_wb_channel_build_join_payload (GArray     *bindings,
                                            const char *access_token,
                                            gboolean    private_,
                                            gint64      replay_since_ms);
gboolean    _wb_channel_take_server_ids    (GArray     *bindings,
                                            JsonObject *response);
JsonObject *_wb_channel_route_change       (GArray     *bindings,
                                            JsonObject *payload);

G_END_DECLS
