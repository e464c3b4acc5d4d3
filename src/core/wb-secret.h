/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-secret.h: passwords and tokens are wiped when they are freed (the one place that does it). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A NUL-terminated secret (password, token): for g_autoptr (WbSecret). */
typedef char WbSecret;

void      wb_secret_wipe        (char        *secret);
void      wb_secret_free        (char        *secret);
void      wb_secret_clear       (char       **secret);
void      wb_secret_set         (char       **secret,
                                 const char  *value);
GBytes   *wb_secret_bytes_new   (char        *secret,
                                 gsize        len);
void      wb_secret_wipe_json   (JsonNode    *node);
char     *wb_secret_take_env    (const char  *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbSecret, wb_secret_free)

G_END_DECLS
