/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-url-policy.h: which backend addresses may carry the password and tokens. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean wb_url_host_is_loopback (const char  *host);
gboolean wb_url_policy_check     (const char  *url,
                                  gboolean     allow_insecure_http,
                                  GError     **error);

G_END_DECLS
