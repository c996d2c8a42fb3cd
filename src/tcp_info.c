/* TCP_INFO, decoded: the kernel's struct tcp_info (linux/tcp.h, whose
 * fields grow with each kernel) copied field by field into rsock_tcp_info.
 * A kernel older than these headers fills a prefix; the rest stays 0. */
#include "internal.h"

#include <errno.h>
#include <linux/tcp.h>
#include <string.h>

static void decode(const struct tcp_info *k, rsock_tcp_info *o)
{
    o->state = k->tcpi_state;
    o->ca_state = k->tcpi_ca_state;
    o->retransmits = k->tcpi_retransmits;
    o->probes = k->tcpi_probes;
    o->backoff = k->tcpi_backoff;
    o->options = k->tcpi_options;
    o->snd_wscale = k->tcpi_snd_wscale;
    o->rcv_wscale = k->tcpi_rcv_wscale;
    o->rto = k->tcpi_rto;
    o->ato = k->tcpi_ato;
    o->snd_mss = k->tcpi_snd_mss;
    o->rcv_mss = k->tcpi_rcv_mss;
    o->unacked = k->tcpi_unacked;
    o->sacked = k->tcpi_sacked;
    o->lost = k->tcpi_lost;
    o->retrans = k->tcpi_retrans;
    o->last_data_sent_ms = k->tcpi_last_data_sent;
    o->last_ack_recv_ms = k->tcpi_last_ack_recv;
    o->last_data_recv_ms = k->tcpi_last_data_recv;
    o->pmtu = k->tcpi_pmtu;
    o->rcv_ssthresh = k->tcpi_rcv_ssthresh;
    o->rtt = k->tcpi_rtt;
    o->rttvar = k->tcpi_rttvar;
    o->snd_ssthresh = k->tcpi_snd_ssthresh;
    o->snd_cwnd = k->tcpi_snd_cwnd;
    o->advmss = k->tcpi_advmss;
    o->reordering = k->tcpi_reordering;
    o->rcv_rtt = k->tcpi_rcv_rtt;
    o->rcv_space = k->tcpi_rcv_space;
    o->total_retrans = k->tcpi_total_retrans;
    o->pacing_rate = k->tcpi_pacing_rate;
    o->max_pacing_rate = k->tcpi_max_pacing_rate;
    o->bytes_acked = k->tcpi_bytes_acked;
    o->bytes_received = k->tcpi_bytes_received;
    o->segs_out = k->tcpi_segs_out;
    o->segs_in = k->tcpi_segs_in;
    o->notsent_bytes = k->tcpi_notsent_bytes;
    o->min_rtt = k->tcpi_min_rtt;
    o->data_segs_in = k->tcpi_data_segs_in;
    o->data_segs_out = k->tcpi_data_segs_out;
    o->delivery_rate = k->tcpi_delivery_rate;
    o->busy_time = k->tcpi_busy_time;
    o->rwnd_limited = k->tcpi_rwnd_limited;
    o->sndbuf_limited = k->tcpi_sndbuf_limited;
    o->delivered = k->tcpi_delivered;
    o->delivered_ce = k->tcpi_delivered_ce;
    o->bytes_sent = k->tcpi_bytes_sent;
    o->bytes_retrans = k->tcpi_bytes_retrans;
    o->dsack_dups = k->tcpi_dsack_dups;
    o->reord_seen = k->tcpi_reord_seen;
    o->rcv_ooopack = k->tcpi_rcv_ooopack;
    o->snd_wnd = k->tcpi_snd_wnd;
}

int rsock_get_tcp_info(rsock_t *s, rsock_tcp_info *out)
{
    if (!s || !out)
        return rsock__fail(EINVAL, "rsock_get_tcp_info: NULL %s", s ? "out" : "socket");
    if ((s->domain != AF_INET && s->domain != AF_INET6) || s->type != SOCK_STREAM ||
        (s->protocol != 0 && s->protocol != IPPROTO_TCP))
        return rsock__fail(EOPNOTSUPP, "rsock_get_tcp_info fd %d: not a TCP socket", s->fd);
    struct tcp_info k;
    memset(&k, 0, sizeof k);
    socklen_t len = sizeof k;
    if (getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &k, &len) < 0)
        return rsock__fail_sys(errno, "rsock_get_tcp_info fd %d", s->fd);
    memset(out, 0, sizeof *out);
    decode(&k, out);
    out->kernel_len = len;
    return 0;
}
