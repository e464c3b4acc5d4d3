#include "config.h"

#include <string.h>

#include "wb-secret.h"

static gboolean
all_zero (const char *p,
          gsize       len)
{
  for (gsize i = 0; i < len; i++)
    if (p[i] != '\0')
      return FALSE;
  return TRUE;
}

static void
test_wipe (void)
{
  char buffer[] = "hunter2-password";
  char *copy = g_strdup ("eyJhbGciOi.refresh.token");
  char *set = NULL;

  wb_secret_wipe (buffer);
  g_assert_true (all_zero (buffer, sizeof buffer));
  wb_secret_wipe (NULL);

  wb_secret_clear (&copy);
  g_assert_null (copy);
  wb_secret_set (&set, "first");
  g_assert_cmpstr (set, ==, "first");
  wb_secret_set (&set, NULL);
  g_assert_null (set);
  {
    g_autoptr(WbSecret) scoped = g_strdup ("scoped secret");
    g_assert_cmpstr (scoped, ==, "scoped secret");
  }
}

/* A parsed token response or a built sign-in body is wiped in place before it is released. */
static void
test_wipe_json (void)
{
  g_autoptr(JsonNode) node = json_from_string ("{\"access_token\":\"at-secret\",\"user\":{\"id\":\"u\","
                                               "\"tags\":[\"rt-secret\"]},\"expires_in\":3600}", NULL);
  JsonObject *obj = json_node_get_object (node);
  const char *access = json_object_get_string_member (obj, "access_token");
  JsonArray *tags = json_object_get_array_member (json_object_get_object_member (obj, "user"), "tags");
  const char *tag = json_array_get_string_element (tags, 0);
  gsize access_len = strlen (access), tag_len = strlen (tag);

  wb_secret_wipe_json (node);
  g_assert_true (all_zero (access, access_len));
  g_assert_true (all_zero (tag, tag_len));
  g_assert_cmpint (json_object_get_int_member (obj, "expires_in"), ==, 3600);
  wb_secret_wipe_json (NULL);
}

/* GBytes for request bodies: the data is what was given, wiped when the last reference goes. */
static void
test_bytes (void)
{
  char *text = g_strdup ("{\"password\":\"hunter2\"}");
  GBytes *bytes = wb_secret_bytes_new (text, strlen (text));
  gsize len = 0;

  g_assert_true (g_bytes_get_data (bytes, &len) == text);
  g_assert_cmpuint (len, ==, strlen ("{\"password\":\"hunter2\"}"));
  g_bytes_unref (bytes);
}

/* Taken out of the environment at start: the value is kept, the variable is gone for every child
 * process started afterwards, and its bytes no longer sit in the environment block. */
static void
test_take_env (void)
{
  g_autofree char *out = NULL;
  g_autofree char *value = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "/bin/sh", "-c", "echo \"${WB_TEST_SECRET-unset}\"", NULL };
  int status = 0;

  g_assert_true (g_setenv ("WB_TEST_SECRET", "correct horse battery staple", TRUE));
  g_assert_true (g_setenv ("WB_TEST_SECRET_NOT", "stays", TRUE));
  value = wb_secret_take_env ("WB_TEST_SECRET");
  g_assert_cmpstr (value, ==, "correct horse battery staple");
  g_assert_null (g_getenv ("WB_TEST_SECRET"));
  g_assert_cmpstr (g_getenv ("WB_TEST_SECRET_NOT"), ==, "stays");

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "unset\n");

  g_assert_null (wb_secret_take_env ("WB_TEST_SECRET"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wb/secret/wipe", test_wipe);
  g_test_add_func ("/wb/secret/wipe-json", test_wipe_json);
  g_test_add_func ("/wb/secret/bytes", test_bytes);
  g_test_add_func ("/wb/secret/take-env", test_take_env);
  return g_test_run ();
}
