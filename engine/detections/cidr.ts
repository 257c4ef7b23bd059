/** IPv4/IPv6 CIDR membership without a dependency: addresses become bigints. Malformed input never matches. */

export interface Cidr {
  v6: boolean;
  base: bigint;
  mask: bigint;
}

export function parseCidr(text: string): Cidr | undefined {
  const [addr, bitsText] = text.trim().split('/');
  if (!addr) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const width = ip.v6 ? 128 : 32;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > width) return undefined;
  const all = (1n << BigInt(width)) - 1n;
  const mask = bits === 0 ? 0n : (all >> BigInt(width - bits)) << BigInt(width - bits);
  return { v6: ip.v6, base: ip.value & mask, mask };
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const ip = parseIp(address);
  if (!ip || ip.v6 !== cidr.v6) return false;
  return (ip.value & cidr.mask) === cidr.base;
}

export function parseIp(text: string): { v6: boolean; value: bigint } | undefined {
  if (text.includes(':')) return parseV6(text);
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    // Leading zeros ("06.237…") are what anonymised logs contain: treat as malformed, not octal.
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return { v6: false, value };
}

function parseV6(text: string): { v6: boolean; value: bigint } | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(Number.parseInt(g, 16));
  }
  return { v6: true, value };
}
