/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-details-private.h: row helpers shared by wb-details.c and wb-detail-fetcher.c. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

JsonObject *_wb_details_first_row  (JsonNode   *rows);

G_END_DECLS
