/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-types.h: small enums shared across the core, the alert tiers and the UI. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The four alert tiers, in the order they are fired and reported. */
typedef enum
{
  WB_TIER_TOAST,
  WB_TIER_SOUND,
  WB_TIER_NOTIFICATION,
  WB_TIER_TRAY,
  WB_N_TIERS,
} WbTier;

const char *wb_tier_to_string (WbTier tier);   /* "toast", "sound", "notification", "tray" */

G_END_DECLS
