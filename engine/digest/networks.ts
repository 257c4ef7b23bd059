/**
 * Source networks for the digest's "new" line: a new /24 (IPv4) or /48 (IPv6) means more than a
 * new DHCP lease, and a single new address inside a known network is not worth an analyst's look.
 * Values that are no IP address (AWS service names such as `iam.amazonaws.com`) have no network.
 */
import { isIP } from 'node:net';

export function networkOf(address: string): string | undefined {
  const kind = isIP(address);
  if (kind === 4) {
    const [a, b, c] = address.split('.');
    return `${a}.${b}.${c}.0/24`;
  }
  if (kind === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return networkOf(mapped[1]!);
    const groups = expandIpv6(address);
    return `${groups.slice(0, 3).join(':')}::/48`;
  }
  return undefined;
}

/** Eight 16-bit groups, lower-case, without leading zeros (`2001:db8:0:…`). */
function expandIpv6(address: string): string[] {
  const noZone = address.split('%')[0]!;
  const [head = '', tail] = noZone.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`) counts as two groups.
  const toGroups = (parts: string[]) =>
    parts.flatMap((p) => {
      if (!p.includes('.')) return [p];
      const [a, b, c, d] = p.split('.').map(Number) as [number, number, number, number];
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  const l = toGroups(left);
  const r = toGroups(right);
  const fill = tail !== undefined ? Array(Math.max(0, 8 - l.length - r.length)).fill('0') : [];
  return [...l, ...fill, ...r].map((g) => Number.parseInt(g || '0', 16).toString(16));
}
