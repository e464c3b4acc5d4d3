/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-phoenix-message.h: a Phoenix message, and its vsn 1.0.0 form (JSON object text frames).
 * The vsn 2.0.0 forms (JSON arrays, binary broadcasts) are in wb-phoenix-serializer.h. */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Frames larger than this are rejected (the server's max_frame_size). */
#define WB_PHOENIX_MAX_FRAME_SIZE (5 * 1000 * 1000)

/* Deeper nesting than this is refused before parsing, so a hostile frame cannot exhaust the
 * stack of the recursive JSON parser or generator. Real frames nest fewer than 10 levels. */
#define WB_PHOENIX_MAX_NESTING 128

#define WB_TYPE_PHOENIX_MESSAGE (wb_phoenix_message_get_type ())

typedef struct
{
  char     *join_ref;   /* (nullable) */
  char     *ref;        /* (nullable) */
  char     *topic;
  char     *event;
  JsonNode *payload;    /* always an object node after decode */
} WbPhoenixMessage;

GType             wb_phoenix_message_get_type        (void) G_GNUC_CONST;
WbPhoenixMessage *wb_phoenix_message_new             (const char             *topic,
                                                      const char             *event,
                                                      JsonNode               *payload,
                                                      const char             *ref,
                                                      const char             *join_ref);
WbPhoenixMessage *wb_phoenix_message_ref             (WbPhoenixMessage       *msg);
void              wb_phoenix_message_unref           (WbPhoenixMessage       *msg);
WbPhoenixMessage *wb_phoenix_message_copy            (const WbPhoenixMessage *msg);
void              wb_phoenix_message_free            (WbPhoenixMessage       *msg);
char             *wb_phoenix_message_encode          (const WbPhoenixMessage *msg);
gboolean          wb_phoenix_frame_size_ok           (const char             *data,
                                                      gsize                   len,
                                                      GError                **error);
WbPhoenixMessage *wb_phoenix_message_decode          (const char             *data,
                                                      gsize                   len,
                                                      GError                **error);
JsonObject       *wb_phoenix_message_get_payload_object (const WbPhoenixMessage *msg);
gboolean          wb_phoenix_message_equal           (const WbPhoenixMessage *a,
                                                      const WbPhoenixMessage *b);

/* For wb-phoenix-serializer.c: a ref node (absent, null, string or number) as text. */
gboolean          _wb_phoenix_ref_from_node          (JsonNode               *node,
                                                      const char             *name,
                                                      char                  **out,
                                                      GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbPhoenixMessage, wb_phoenix_message_unref)

G_END_DECLS
