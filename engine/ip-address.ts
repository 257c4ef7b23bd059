/**
 * A small, strict IPv4/IPv6 parser. CloudTrail's sourceIPAddress is often not an address at all
 * (`AWS Internal`, `ec2.amazonaws.com`) and anonymised logs hold garbage (`06.237.252.245`, `255.090.254.5`):
 * anything that is not a canonical address parses to undefined instead of throwing.
 */
export interface IpAddress {
  version: 4 | 6;
  /** 32 or 128 bits. */
  value: bigint;
}

export function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    // Leading zeros are ambiguous (octal in some parsers), so they are malformed here.
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

export function parseIpv6(text: string): bigint | undefined {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.length < 2 || s.length > 45) return undefined;
  let tailV4: bigint | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tailV4 = parseIpv4(s.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const groups = h.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const v = parseIpv6(text);
    return v === undefined ? undefined : { version: 6, value: v };
  }
  const v = parseIpv4(text);
  return v === undefined ? undefined : { version: 4, value: v };
}

export interface Cidr {
  version: 4 | 6;
  base: bigint;
  mask: bigint;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128); undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, bitsText] = text.trim().split('/');
  const ip = parseIp(addr ?? '');
  if (!ip) return undefined;
  const width = ip.version === 6 ? 128 : 32;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > width) return undefined;
  const all = (1n << BigInt(width)) - 1n;
  const mask = (all << BigInt(width - bits)) & all;
  return { version: ip.version, base: ip.value & mask, mask };
}

export function inCidr(ip: IpAddress, cidr: Cidr): boolean {
  return ip.version === cidr.version && (ip.value & cidr.mask) === cidr.base;
}

/** Whether a textual address (a record's sourceIPAddress, say) is inside the range; false for non-addresses. */
export function cidrContains(cidr: Cidr, address: string): boolean {
  const ip = parseIp(address);
  return ip !== undefined && inCidr(ip, cidr);
}

/** Same /24 (IPv4) or /64 (IPv6): one client's NAT pool or one host's privacy addresses. */
export function sameNetwork(a: IpAddress, b: IpAddress): boolean {
  if (a.version !== b.version) return false;
  const shift = a.version === 4 ? 8n : 64n;
  return a.value >> shift === b.value >> shift;
}
