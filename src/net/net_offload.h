/* SPDX-License-Identifier: MIT */
/*
 * What NICs offload, done in software: the Internet checksum (RFC 1071) and its partial-sum
 * insertion (the virtio NEEDS_CSUM and e1000 TUCSS/TUCSO/TUCSE semantics), the Ethernet FCS
 * (IEEE 802.3 CRC-32), header parsing (Ethernet II with at most one 802.1Q tag, IPv4 with
 * options, IPv6 without extension headers, TCP and UDP) and TCP segmentation (RFC 793 /
 * RFC 9293 sequence numbers; IPv4 RFC 791 total length, identification and header checksum;
 * IPv6 RFC 8200 payload length), which e1000 TSO, virtio-net HOST_TSO towards back ends
 * without it and checksum reporting on receive share.
 *
 * Every function takes the frame as a plain buffer with its length and checks each offset
 * against it: the values come from the guest.
 *
 * Threads: pure functions, any thread.
 */
#ifndef NET_NET_OFFLOAD_H
#define NET_NET_OFFLOAD_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

#include <stddef.h>

#define NET_ETH_HLEN	  14
#define NET_ETH_TYPE_IPV4 0x0800
#define NET_ETH_TYPE_IPV6 0x86dd
#define NET_ETH_TYPE_VLAN 0x8100
#define NET_IPPROTO_TCP	  6
#define NET_IPPROTO_UDP	  17
#define NET_TSO_MIN_MSS	  64 /* smaller segments are refused: bounds the work per frame */

/* One's-complement sum of len bytes at buf, as 16-bit big-endian words, added to sum. */
u32 net_csum_add(u32 sum, const void *buf, size_t len);
/* Fold a sum to 16 bits and complement it: the value a checksum field holds. */
u16 net_csum_fold(u32 sum);
/*
 * Store at frame[start + offset] the checksum of frame[start, end) (end 0: the frame's end),
 * the field's own value included (the driver seeds it with the pseudo-header sum). -EINVAL
 * if the offsets do not fit the frame.
 */
MUST_CHECK int net_csum_fill(u8 *frame, size_t len, size_t start, size_t offset, size_t end);

/* IEEE 802.3 CRC-32 (the FCS as transmitted, least significant byte first). */
u32 net_crc32(const void *buf, size_t len);

/* Where the headers of a frame are (net_parse). */
struct net_layers {
	size_t l3_off;	/* the IP header */
	size_t l4_off;	/* the TCP/UDP header */
	size_t l4_len;	/* TCP/UDP header + payload, per the IP header's length */
	size_t hdr_len; /* through the TCP header (TCP), or the UDP header */
	bool ipv6;
	u8 proto;      /* NET_IPPROTO_TCP, _UDP, or another IP protocol */
	bool fragment; /* an IPv4 fragment: no L4 checksum to check */
	u16 vlan_tci;  /* with has_vlan */
	bool has_vlan;
};

/* Parse the headers. 0, or -EINVAL (not IP, truncated, lengths that disagree). */
MUST_CHECK int net_parse(const u8 *frame, size_t len, struct net_layers *out);

/* Is the IPv4 header checksum right (always true for IPv6)? */
bool net_ip_csum_ok(const u8 *frame, const struct net_layers *l);
/* Is the TCP/UDP checksum right (pseudo-header included; UDP over IPv4 may omit it)? */
bool net_l4_csum_ok(const u8 *frame, const struct net_layers *l);
/* Compute and store the IPv4 header checksum and the TCP/UDP checksum from scratch. */
void net_fill_csums(u8 *frame, const struct net_layers *l);

/* Called with each segment net_tso_segment builds; the buffer is reused afterwards. */
typedef int (*net_emit_fn)(void *opaque, const u8 *frame, size_t len);

/*
 * Cut the TCP frame at frame (len bytes, headers at l, l->hdr_len bytes of headers) into
 * segments of at most mss payload bytes: each gets the headers with the IP length (and the
 * IPv4 identification + i), the sequence number advanced, FIN and PSH only on the last, and
 * complete checksums. scratch holds l->hdr_len + mss bytes. Returns the number of segments,
 * the first emit error, or -EINVAL (not TCP, mss below NET_TSO_MIN_MSS, no payload).
 */
MUST_CHECK int net_tso_segment(const u8 *frame, size_t len, const struct net_layers *l, size_t mss,
			       u8 *scratch, net_emit_fn emit, void *opaque);

#endif
