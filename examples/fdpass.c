/* fdpass: pass an open file descriptor over a Unix socket with SCM_RIGHTS.
 * main writes a temp file, sends its descriptor with rsock_sendmsg; a
 * reader fiber receives it with rsock_recvmsg and reads the file through
 * the received descriptor (a new number for the same open file). */
#include <rsock.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIE(what) (fprintf(stderr, "fdpass: %s: %s\n", what, rsock_error_message()), exit(1))

static void reader(void *arg)
{
    rsock_t *s = arg;
    char tag[16] = "";
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
    struct iovec iov = {tag, sizeof tag - 1};
    size_t ctllen = sizeof ctl.buf;
    int rflags = 0;
    ssize_t n;
    while ((n = rsock_recvmsg(s, NULL, &iov, 1, ctl.buf, &ctllen, 0, &rflags)) == -EAGAIN)
        if (rsock_wait_in(s, rsock_after(5000)) < 0)
            DIE("wait");
    if (n < 0)
        DIE("recvmsg");
    struct cmsghdr *c = ctllen ? (struct cmsghdr *)ctl.buf : NULL;
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || (rflags & MSG_CTRUNC))
        fprintf(stderr, "fdpass: no descriptor came\n"), exit(1);
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    char content[128] = "";
    ssize_t got = pread(fd, content, sizeof content - 1, 0);
    printf("received \"%s\" with descriptor %d; the file says: %s", tag, fd,
           got > 0 ? content : "(nothing)\n");
    close(fd);
}

int main(void)
{
    char path[] = "/tmp/fdpass-XXXXXX";
    int file = mkstemp(path);
    const char text[] = "passed through a Unix socket\n";
    if (file < 0 || write(file, text, sizeof text - 1) != (ssize_t)(sizeof text - 1))
        return perror("temp file"), 1;
    unlink(path); /* only the descriptor keeps it now */

    int sv[2];
    rsock_t *a, *b;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return perror("socketpair"), 1;
    if (rsock_fdopen(sv[0], &a) < 0 || rsock_fdopen(sv[1], &b) < 0)
        DIE("fdopen");
    rsock_fiber *f;
    if (rsock_spawn(reader, b, &f) < 0)
        DIE("spawn");

    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct cmsghdr *c = &ctl.align;
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof file);
    memcpy(CMSG_DATA(c), &file, sizeof file);
    struct iovec iov = {"notes.txt", 9}; /* a stream needs at least one byte with the fd */
    if (rsock_sendmsg(a, NULL, &iov, 1, ctl.buf, sizeof ctl.buf, 0) < 0)
        DIE("sendmsg");
    close(file); /* the receiver has its own descriptor now */
    printf("sent descriptor %d\n", file);
    rsock_join(f, rsock_after(5000));
    rsock_close(a);
    rsock_close(b);
    return 0;
}
