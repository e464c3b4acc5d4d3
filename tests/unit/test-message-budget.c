/* wb-message-budget on a real loopback TCP connection: a writer thread plays the server, the
 * test's main loop plays libsoup (reads, and marks a whole message where libsoup would). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "wb-message-budget.h"

#define LIMIT (256 * 1024)

typedef struct
{
  int     fd;        /* the server's end */
  gsize   chunk;     /* bytes per write */
  guint64 total;     /* bytes to send in all */
  guint64 sent;
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *w = data;
  g_autofree char *buf = g_malloc0 (w->chunk);

  while (w->sent < w->total)
    {
      ssize_t n = send (w->fd, buf, MIN (w->chunk, w->total - w->sent), MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;   /* the client shut the connection down */
      w->sent += (guint64) n;
    }
  shutdown (w->fd, SHUT_WR);
  return NULL;
}

/* A connected loopback pair: *client (the app's end, a GSocket) and *server_fd. */
static void
tcp_pair (GSocket **client,
          int      *server_fd)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  g_autoptr(GError) error = NULL;
  int listener, fd;

  listener = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (listener, >=, 0);
  g_assert_cmpint (bind (listener, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (getsockname (listener, (struct sockaddr *) &addr, &len), ==, 0);
  g_assert_cmpint (listen (listener, 1), ==, 0);
  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (connect (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  *server_fd = accept (listener, NULL, NULL);
  g_assert_cmpint (*server_fd, >=, 0);
  close (listener);
  *client = g_socket_new_from_fd (fd, &error);
  g_assert_no_error (error);
}

static void
exceeded_cb (gpointer user_data)
{
  guint *calls = user_data;

  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  (*calls)++;
}

/* Reads everything the writer sends (marking after every read when @mark_each), dispatching
 * the main context between reads as libsoup's main loop would. Returns the bytes read. */
static guint64
drain (GSocket         *client,
       WbMessageBudget *budget,
       gboolean         mark_each)
{
  char buf[4096];
  guint64 got = 0;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (client, buf, sizeof buf, NULL, &error);

      if (n <= 0)
        break;   /* end of stream, or the budget's shutdown (a reset) */
      got += (guint64) n;
      if (mark_each)
        wb_message_budget_mark (budget);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  return got;
}

/* Many small whole messages, back to back, as fast as the connection goes: far more than the
 * budget in all, but never more than one small read between two marks, so never cut. The
 * watcher thread samples the byte count while the main thread marks: a mark taken after the
 * sample must not make the message in progress look negative (it once wrapped to 2^64). */
static void
test_steady_traffic_not_cut (void)
{
  g_autoptr(GSocket) client = NULL;
  Writer w = { .chunk = 512, .total = 48 * 1024 * 1024 };
  WbMessageBudget *budget;
  GThread *thread;
  guint calls = 0;
  guint64 got;

  tcp_pair (&client, &w.fd);
  budget = wb_message_budget_new (client, LIMIT, exceeded_cb, &calls);
  g_assert_nonnull (budget);   /* Linux TCP: TCP_INFO has the byte count */
  thread = g_thread_new ("writer", writer_thread, &w);
  got = drain (client, budget, TRUE);
  g_thread_join (thread);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_false (wb_message_budget_exceeded (budget));
  g_assert_cmpuint (calls, ==, 0);
  g_assert_cmpuint (got, ==, w.total);
  wb_message_budget_free (budget);
  close (w.fd);
}

/* One message that never ends: the socket is shut down soon after the budget, and the owner is
 * told once, on its main context. */
static void
test_endless_message_cut (void)
{
  g_autoptr(GSocket) client = NULL;
  Writer w = { .chunk = 64 * 1024, .total = 256 * 1024 * 1024 };
  WbMessageBudget *budget;
  GThread *thread;
  guint calls = 0;
  guint64 got;

  tcp_pair (&client, &w.fd);
  budget = wb_message_budget_new (client, LIMIT, exceeded_cb, &calls);
  g_assert_nonnull (budget);
  thread = g_thread_new ("writer", writer_thread, &w);
  got = drain (client, budget, FALSE);
  while (calls == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (wb_message_budget_exceeded (budget));
  g_assert_cmpuint (calls, ==, 1);
  g_test_message ("read %" G_GUINT64_FORMAT " bytes of %" G_GUINT64_FORMAT " before the cut",
                  got, w.total);
  g_assert_cmpuint (got, >, LIMIT);
  g_assert_cmpuint (got, <, 64 * 1024 * 1024);   /* the budget plus what was queued: far from all */
  wb_message_budget_free (budget);
  g_socket_close (client, NULL);
  shutdown (w.fd, SHUT_RDWR);   /* the writer may be blocked on a full window: ends its send */
  g_thread_join (thread);
  g_assert_cmpuint (w.sent, <, w.total);
  close (w.fd);
}

/* Freed before its notification ran: the owner is not called afterwards. */
static void
test_free_cancels_notification (void)
{
  g_autoptr(GSocket) client = NULL;
  Writer w = { .chunk = 64 * 1024, .total = 256 * 1024 * 1024 };
  WbMessageBudget *budget;
  GThread *thread;
  guint calls = 0;
  char buf[65536];

  tcp_pair (&client, &w.fd);
  budget = wb_message_budget_new (client, LIMIT, exceeded_cb, &calls);
  g_assert_nonnull (budget);
  thread = g_thread_new ("writer", writer_thread, &w);
  /* Read without dispatching the main context until the socket is shut down under us. */
  while (g_socket_receive (client, buf, sizeof buf, NULL, NULL) > 0)
    ;
  g_assert_true (wb_message_budget_exceeded (budget));
  wb_message_budget_free (budget);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (calls, ==, 0);
  g_socket_close (client, NULL);
  shutdown (w.fd, SHUT_RDWR);
  g_thread_join (thread);
  close (w.fd);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ma/message-budget/steady-traffic-not-cut", test_steady_traffic_not_cut);
  g_test_add_func ("/ma/message-budget/endless-message-cut", test_endless_message_cut);
  g_test_add_func ("/ma/message-budget/free-cancels-notification", test_free_cancels_notification);

  return g_test_run ();
}
