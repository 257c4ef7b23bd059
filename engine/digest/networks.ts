/**
 * Source networks for the digest's "new" line: a new /24 (IPv4) or /48 (IPv6) means more than a
 * new DHCP lease, and a single new address inside a known network is not worth an analyst's look.
 * Values that are no IP address (AWS service names such as `iam.amazonaws.com`) have no network.
 * Addresses are read by the one IP parser (engine/ip-address.ts).
 */
import { parseIp } from '../ip-address.ts';

export function networkOf(address: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return networkOf(mapped[1]!);
  const ip = parseIp(address);
  if (!ip) return undefined;
  if (ip.version === 4) {
    const n = ip.value >> 8n;
    return `${(n >> 16n) & 0xffn}.${(n >> 8n) & 0xffn}.${n & 0xffn}.0/24`;
  }
  // The first three 16-bit groups, lower-case, without leading zeros (`2001:db8:0::/48`).
  const groups = [0, 1, 2].map((i) => ((ip.value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return `${groups.join(':')}::/48`;
}
