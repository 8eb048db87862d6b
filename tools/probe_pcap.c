/* The probe's capture file: classic pcap (libpcap 2.4, microsecond
 * timestamps, LINKTYPE_ETHERNET) with each datagram framed in Ethernet,
 * IPv4 and UDP headers, so that Wireshark and tshark decode it as DTLS with
 * `-d udp.port==PORT,dtls`. */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "probe.h"

struct pr_pcap {
    FILE *f;
    uint16_t ip_id;
};

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

pr_pcap *pr_pcap_open(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    pr_pcap *p = calloc(1, sizeof *p);
    if (!p) {
        fclose(f);
        return NULL;
    }
    p->f = f;
    uint8_t h[24];
    put_le32(h, 0xa1b2c3d4);  /* magic, microseconds */
    put_le16(h + 4, 2);       /* version 2.4 */
    put_le16(h + 6, 4);
    put_le32(h + 8, 0);       /* thiszone */
    put_le32(h + 12, 0);      /* sigfigs */
    put_le32(h + 16, 65535);  /* snaplen */
    put_le32(h + 20, 1);      /* LINKTYPE_ETHERNET */
    fwrite(h, 1, sizeof h, f);
    return p;
}

/* RFC 791 header checksum. */
static uint16_t ip_checksum(const uint8_t *h, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Ethernet II (14), IPv4 (20), UDP (8). Addresses come from the sockaddrs
 * (network byte order already). The UDP checksum is left 0 (none, allowed
 * over IPv4). MAC addresses are fixed locally administered values. */
static size_t frame_headers(pr_pcap *p, uint8_t *h, const struct sockaddr_in *src,
                            const struct sockaddr_in *dst, size_t len)
{
    static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 1}, mac_b[6] = {0x02, 0, 0, 0, 0, 2};
    memcpy(h, mac_b, 6);
    memcpy(h + 6, mac_a, 6);
    h[12] = 0x08;
    h[13] = 0x00;
    uint8_t *ip = h + 14;
    size_t total = 20 + 8 + len;
    ip[0] = 0x45;
    ip[1] = 0;
    dk_store_u16(ip + 2, (uint16_t)total);
    dk_store_u16(ip + 4, p->ip_id++);
    dk_store_u16(ip + 6, 0x4000); /* don't fragment */
    ip[8] = 64;
    ip[9] = 17; /* UDP */
    ip[10] = ip[11] = 0;
    memcpy(ip + 12, &src->sin_addr.s_addr, 4);
    memcpy(ip + 16, &dst->sin_addr.s_addr, 4);
    dk_store_u16(ip + 10, ip_checksum(ip, 20));
    uint8_t *udp = ip + 20;
    memcpy(udp, &src->sin_port, 2);
    memcpy(udp + 2, &dst->sin_port, 2);
    dk_store_u16(udp + 4, (uint16_t)(8 + len));
    udp[6] = udp[7] = 0;
    return 14 + 20 + 8;
}

void pr_pcap_write(pr_pcap *p, const struct sockaddr_in *src, const struct sockaddr_in *dst,
                   const uint8_t *data, size_t len)
{
    if (!p || len > 65535 - 28) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    uint8_t hdr[42];
    size_t hl = frame_headers(p, hdr, src, dst, len);
    uint8_t rec[16];
    put_le32(rec, (uint32_t)tv.tv_sec);
    put_le32(rec + 4, (uint32_t)tv.tv_usec);
    put_le32(rec + 8, (uint32_t)(hl + len));
    put_le32(rec + 12, (uint32_t)(hl + len));
    fwrite(rec, 1, sizeof rec, p->f);
    fwrite(hdr, 1, hl, p->f);
    fwrite(data, 1, len, p->f);
    fflush(p->f);
}

void pr_pcap_close(pr_pcap *p)
{
    if (!p) return;
    fclose(p->f);
    free(p);
}
