/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: wb-json's strict check and parse. Never a crash; the check and the parse
 * agree; whatever is accepted json-glib parses too, within the depth bound, with valid UTF-8 in
 * every string and every number finite, and it survives generate → check → parse unchanged;
 * whatever is refused says so with a WB_ERROR_INVALID_DATA naming the place. */

/* Compiled into the target (the archive's copy is then never pulled in) so that libFuzzer gets
 * coverage feedback from the scanner itself. */
#include "wb-json.c"

#include <stdint.h>
#include <stdlib.h>

#define MAX_DEPTH 32

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

/* The tree is at most MAX_DEPTH deep (the check said so), so this recursion is bounded. */
static void
check_tree (JsonNode *node,
            guint     depth)
{
  if (depth > MAX_DEPTH + 1)
    abort ();
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        if (depth > MAX_DEPTH)
          abort ();
        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          {
            if (!g_utf8_validate (name, -1, NULL))
              abort ();
            check_tree (member, depth + 1);
          }
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        if (depth > MAX_DEPTH)
          abort ();
        for (guint i = 0; i < json_array_get_length (array); i++)
          check_tree (json_array_get_element (array, i), depth + 1);
        break;
      }
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING
          && !g_utf8_validate (json_node_get_string (node), -1, NULL))
        abort ();
      if (json_node_get_value_type (node) == G_TYPE_DOUBLE && !isfinite (json_node_get_double (node)))
        abort ();
      break;
    case JSON_NODE_NULL:
    default:
      break;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) check_error = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(JsonParser) lenient = NULL;
  g_autofree char *text = NULL;
  gboolean ok;

  ok = wb_json_check ((const char *) data, size, MAX_DEPTH, &check_error);
  node = wb_json_parse ((const char *) data, size, MAX_DEPTH, &error);
  if (ok != (node != NULL))
    abort ();

  if (node == NULL)
    {
      if (!g_error_matches (error, WB_ERROR, WB_ERROR_INVALID_DATA)
          || !g_str_has_prefix (error->message, "invalid JSON")
          || g_strcmp0 (error->message, check_error->message) != 0)
        abort ();
      return 0;
    }

  /* Strict is a subset of what json-glib takes (size limits aside: the input is small). */
  lenient = json_parser_new ();
  if (!json_parser_load_from_data (lenient, (const char *) data, (gssize) size, NULL))
    abort ();

  if (!json_node_is_immutable (node))
    abort ();
  check_tree (node, 0);

  text = wb_json_to_string (node);
  again = wb_json_parse (text, strlen (text), MAX_DEPTH, NULL);
  if (again == NULL || !json_node_equal (node, again))
    abort ();

  return 0;
}
