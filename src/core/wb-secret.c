/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-secret.c: passwords and tokens are wiped when they are freed (the one place that does it). */

#define G_LOG_DOMAIN "wb-secret"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "wb-secret.h"

extern char **environ;

/* Overwrites @secret (up to its NUL) with zeros in a way the compiler may not drop. */
void
wb_secret_wipe (char *secret)
{
  if (secret != NULL)
    explicit_bzero (secret, strlen (secret));
}

/* Wipes, then frees. NULL is fine. */
void
wb_secret_free (char *secret)
{
  wb_secret_wipe (secret);
  g_free (secret);
}

void
wb_secret_clear (char **secret)
{
  wb_secret_free (g_steal_pointer (secret));
}

/* Replaces *@secret by a copy of @value (nullable), wiping the old one. */
void
wb_secret_set (char       **secret,
               const char  *value)
{
  char *copy = g_strdup (value);

  wb_secret_free (*secret);
  *secret = copy;
}

typedef struct
{
  char  *data;
  gsize  len;
} WbSecretHeld;

static void
held_free (WbSecretHeld *held)
{
  explicit_bzero (held->data, held->len);
  g_free (held->data);
  g_free (held);
}

/* A GBytes over @secret (transfer full, @len bytes) that wipes it when the last reference goes:
 * for request bodies that carry a password or a token. */
GBytes *
wb_secret_bytes_new (char  *secret,
                     gsize  len)
{
  WbSecretHeld *held = g_new (WbSecretHeld, 1);

  held->data = secret;
  held->len = len;
  return g_bytes_new_with_free_func (secret, len, (GDestroyNotify) held_free, held);
}

/* Wipes every string value (and member name) in @node's tree in place: for a parsed token
 * response or a built sign-in body, before it is released. */
void
wb_secret_wipe_json (JsonNode *node)
{
  if (node == NULL)
    return;
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, &name, &member))
        wb_secret_wipe_json (member);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        wb_secret_wipe_json (json_array_get_element (array, i));
    }
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    wb_secret_wipe ((char *) json_node_get_string (node));
}

/* Moves the environment variable @name out of the environment: returns its value (or NULL),
 * overwrites the value where the environment block keeps it (so /proc/PID/environ no longer
 * shows it either) and unsets it, so no child process inherits it. Call it first thing in
 * main (), before any thread or child process exists. */
char *
wb_secret_take_env (const char *name)
{
  gsize name_len = strlen (name);
  char *value = NULL;

  for (char **env = environ; env != NULL && *env != NULL; env++)
    {
      if (strncmp (*env, name, name_len) != 0 || (*env)[name_len] != '=')
        continue;
      if (value == NULL)
        value = g_strdup (*env + name_len + 1);
      wb_secret_wipe (*env + name_len + 1);
    }
  g_unsetenv (name);
  return value;
}
