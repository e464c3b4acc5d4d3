/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-message-budget.c: a byte budget per websocket message for libsoup without
 * max-total-message-size (before 3.7.1). See wb-message-budget.c. */

#define _GNU_SOURCE 1   /* POLLRDHUP */
#define G_LOG_DOMAIN "wb-message-budget"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <linux/tcp.h>

#include "wb-message-budget.h"

/* libsoup before 3.7.1 bounds each websocket *frame* (max-incoming-payload-size) but reassembles
 * a message's continuation frames without any total limit: a server that sends 100 MB in 1 MB
 * fragments makes the client hold all of it before our own size check sees the message. Its
 * public API shows neither fragments nor bytes as they arrive, and it reads the GIOStream it
 * created itself. Worse, libsoup 3.2 reads until the socket would block before it parses
 * anything, so a fast sender keeps one read going for as long as it likes: a check on the main
 * loop between two reads comes too late (measured: 124 MB held with a 1 MB receive buffer).
 *
 * What is public is the TCP socket under that stream (SoupMessage::network-event gives it) and
 * what the kernel knows about it: TCP_INFO's tcpi_bytes_received (Linux 4.1 and later) minus the
 * bytes still in the receive queue (SIOCINQ) is how many bytes libsoup has taken off the
 * connection. Between two delivered messages that grows only by the message in progress (plus
 * frame headers, control frames and TLS records). A small thread watches it: it sleeps in poll ()
 * on its own duplicate of the descriptor (no wake-ups while the connection is idle, and never a
 * descriptor number libsoup may have closed and reused), checks at most every 2 ms while data
 * flows, and once the message in progress is over @limit it shuts the socket down. libsoup's read
 * then ends (end of stream, or a reset when the server keeps sending), the connection closes, and
 * what it buffered goes with it: about @limit, plus 2 ms of reading, plus the receive buffer.
 *
 * Where TCP_INFO is not available (not TCP, an old kernel) there is no budget; libsoup 3.7.1 and
 * later get max-total-message-size instead (wb-realtime-socket.c). */

#define CHECK_INTERVAL_US 2000

struct _WbMessageBudget
{
  int                  fd;          /* our duplicate of the socket's descriptor */
  int                  stop_fd;     /* eventfd: wakes the thread to end it */
  GThread             *thread;
  GMutex               lock;
  guint64              limit;
  guint64              at_mark;     /* (lock) bytes consumed when the last whole message came */
  gint                 exceeded;    /* (atomic) */
  GMainContext        *context;     /* (owned) where @exceeded_cb runs */
  GSource             *notify;      /* (lock) (owned) (nullable) the pending call of it */
  WbMessageBudgetFunc  exceeded_cb;
  gpointer             user_data;
};

/* Bytes read off the connection by its reader so far. */
static gboolean
consumed_bytes (int      fd,
                guint64 *out)
{
  struct tcp_info info;
  socklen_t len = sizeof info;
  int queued = 0;

  memset (&info, 0, sizeof info);
  if (getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0
      || len < offsetof (struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
    return FALSE;
  if (ioctl (fd, SIOCINQ, &queued) != 0 || queued < 0)
    return FALSE;
  *out = info.tcpi_bytes_received - MIN ((guint64) queued, info.tcpi_bytes_received);
  return TRUE;
}

/* On the main context: tell the owner (which may free the budget). */
static gboolean
notify_cb (gpointer data)
{
  WbMessageBudget *self = data;

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->notify, g_source_unref);
  g_mutex_unlock (&self->lock);
  self->exceeded_cb (self->user_data);
  return G_SOURCE_REMOVE;
}

static gpointer
watch_thread (gpointer data)
{
  WbMessageBudget *self = data;

  for (;;)
    {
      struct pollfd fds[2] = {
        { self->fd, POLLIN | POLLRDHUP, 0 },
        { self->stop_fd, POLLIN, 0 },
      };
      guint64 consumed;
      gboolean over;

      if (poll (fds, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (fds[1].revents != 0 || (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL | POLLRDHUP)))
        break;   /* told to stop, or the connection is closing anyway */
      if (!consumed_bytes (self->fd, &consumed))
        break;

      /* The main thread may have marked a message after this sample was taken: then the mark
       * is ahead of the sample and nothing is in progress (the difference would wrap). */
      g_mutex_lock (&self->lock);
      over = consumed > self->at_mark && consumed - self->at_mark > self->limit;
      g_mutex_unlock (&self->lock);
      if (over)
        {
          shutdown (self->fd, SHUT_RDWR);
          g_atomic_int_set (&self->exceeded, TRUE);
          g_mutex_lock (&self->lock);
          self->notify = g_idle_source_new ();
          g_source_set_static_name (self->notify, "[wb] websocket message budget");
          g_source_set_callback (self->notify, notify_cb, self, NULL);
          g_source_attach (self->notify, self->context);
          g_mutex_unlock (&self->lock);
          break;
        }
      g_usleep (CHECK_INTERVAL_US);   /* the reader has had its turn; look again in a moment */
    }
  return NULL;
}

/* Calls @exceeded (once, on the calling thread's main context, after shutting the socket down)
 * when more than @limit bytes are taken off @socket without a whole message
 * (wb_message_budget_mark ()) in between. NULL when the kernel cannot tell (no budget then). */
WbMessageBudget *
wb_message_budget_new (GSocket             *socket,
                       guint64              limit,
                       WbMessageBudgetFunc  exceeded,
                       gpointer             user_data)
{
  WbMessageBudget *self;
  guint64 consumed;
  int fd, stop_fd;

  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);

  if (!consumed_bytes (g_socket_get_fd (socket), &consumed))
    {
      g_debug ("no TCP_INFO byte count on this socket: no message budget");
      return NULL;
    }
  fd = fcntl (g_socket_get_fd (socket), F_DUPFD_CLOEXEC, 3);
  stop_fd = eventfd (0, EFD_CLOEXEC);
  if (fd < 0 || stop_fd < 0)
    {
      g_debug ("no message budget: %s", g_strerror (errno));
      if (fd >= 0)
        close (fd);
      if (stop_fd >= 0)
        close (stop_fd);
      return NULL;
    }

  self = g_new0 (WbMessageBudget, 1);
  g_mutex_init (&self->lock);
  self->fd = fd;
  self->stop_fd = stop_fd;
  self->limit = limit;
  self->at_mark = consumed;
  self->context = g_main_context_ref_thread_default ();
  self->exceeded_cb = exceeded;
  self->user_data = user_data;
  self->thread = g_thread_new ("wb-ws-budget", watch_thread, self);
  return self;
}

/* A whole message arrived: the next one starts from here. */
void
wb_message_budget_mark (WbMessageBudget *self)
{
  guint64 consumed;

  if (self == NULL || !consumed_bytes (self->fd, &consumed))
    return;
  g_mutex_lock (&self->lock);
  self->at_mark = consumed;
  g_mutex_unlock (&self->lock);
}

/* Whether the budget was exceeded (and the socket shut down). */
gboolean
wb_message_budget_exceeded (WbMessageBudget *self)
{
  return self != NULL && g_atomic_int_get (&self->exceeded);
}

void
wb_message_budget_free (WbMessageBudget *self)
{
  guint64 one = 1;

  if (self == NULL)
    return;
  if (write (self->stop_fd, &one, sizeof one) != sizeof one)
    g_debug ("cannot wake the budget thread: %s", g_strerror (errno));
  g_thread_join (self->thread);
  if (self->notify != NULL)
    {
      g_source_destroy (self->notify);
      g_source_unref (self->notify);
    }
  close (self->fd);
  close (self->stop_fd);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  g_free (self);
}
