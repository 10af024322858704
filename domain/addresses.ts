// The forbidden-destination rule, one for both places that need it: URL validation when an endpoint,
// a static URL or an object URL is saved (literal hosts), and the delivery guard, which applies it to
// every address a host name resolves to before connecting. Pure: no Node I/O modules.


interface Cidr4 {
  base: number;
  bits: number;
}
interface Cidr6 {
  base: bigint;
  bits: number;
}

function cidr4(spec: string): Cidr4 {
  const [addr, bits] = spec.split('/');
  const base = parseIPv4(addr ?? '');
  if (base === null || bits === undefined) throw new Error(`bad IPv4 CIDR ${spec}`);
  return { base, bits: Number(bits) };
}

function cidr6(spec: string): Cidr6 {
  const [addr, bits] = spec.split('/');
  const base = parseIPv6(addr ?? '');
  if (base === null || bits === undefined) throw new Error(`bad IPv6 CIDR ${spec}`);
  return { base, bits: Number(bits) };
}

/** Non-global IPv4 ranges (IANA special-purpose registry), incl. the 169.254.169.254 metadata. */
const FORBIDDEN_IPV4: readonly Cidr4[] = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // CGNAT (also Alibaba metadata 100.100.100.200)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local (AWS/GCP/Azure/OCI metadata 169.254.169.254, ECS 169.254.170.2)
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // TEST-NET-1
  '192.88.99.0/24', // 6to4 relay anycast (deprecated)
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // TEST-NET-2
  '203.0.113.0/24', // TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, incl. 255.255.255.255
].map(cidr4);

/** Non-global IPv6 ranges. Ranges that embed an IPv4 address are handled in isForbiddenIPv6. */
const FORBIDDEN_IPV6: readonly Cidr6[] = [
  '::/96', // unspecified, loopback, deprecated IPv4-compatible
  '64:ff9b:1::/48', // local-use NAT64
  '100::/64', // discard-only
  '2001::/23', // IETF protocol assignments (Teredo, ORCHID, benchmarking...)
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation
  'fc00::/7', // unique local (incl. AWS metadata fd00:ec2::254)
  'fe80::/10', // link-local
  'fec0::/10', // site-local (deprecated)
  'ff00::/8', // multicast
].map(cidr6);

/** Cloud metadata endpoints; all already inside the ranges above, listed explicitly for clarity. */
const CLOUD_METADATA_ADDRESSES: ReadonlySet<string> = new Set([
  '169.254.169.254',
  '169.254.170.2',
  '100.100.100.200',
  'fd00:ec2::254',
]);

const IPV4_MAPPED = cidr6('::ffff:0:0/96');
const NAT64_WELL_KNOWN = cidr6('64:ff9b::/96');
const SIX_TO_FOUR = cidr6('2002::/16');

function parseIPv4(ip: string): number | null {
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

function parseIPv6(ip: string): bigint | null {
  let text = ip;
  // A trailing dotted quad ("::ffff:127.0.0.1") becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIPv4(tail);
    if (v4 === null) return null;
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  let groups: string[];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return null;
    groups = [...head, ...Array<string>(missing).fill('0'), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

function inCidr4(ip: number, range: Cidr4): boolean {
  const shift = 32 - range.bits;
  return Math.floor(ip / 2 ** shift) === Math.floor(range.base / 2 ** shift);
}

function inCidr6(ip: bigint, range: Cidr6): boolean {
  const shift = BigInt(128 - range.bits);
  return ip >> shift === range.base >> shift;
}

function isForbiddenIPv4(ip: number): boolean {
  return FORBIDDEN_IPV4.some((range) => inCidr4(ip, range));
}

function isForbiddenIPv6(ip: bigint): boolean {
  // IPv4-mapped and NAT64 addresses carry an IPv4 address in their low 32 bits, 6to4 in bits
  // 16..47: judge them by the embedded address (::ffff:127.0.0.1 is loopback).
  if (inCidr6(ip, IPV4_MAPPED) || inCidr6(ip, NAT64_WELL_KNOWN)) {
    return isForbiddenIPv4(Number(ip & 0xffffffffn));
  }
  if (inCidr6(ip, SIX_TO_FOUR)) {
    return isForbiddenIPv4(Number((ip >> 80n) & 0xffffffffn));
  }
  return FORBIDDEN_IPV6.some((range) => inCidr6(ip, range));
}

/** The address family of a literal IP (4 or 6), or 0 for anything else (as node:net's isIP). */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (parseIPv4(text) !== null) return 4;
  if (text.includes(':') && parseIPv6(text) !== null) return 6;
  return 0;
}

/**
 * True when `ip` must not be connected to: private, loopback, link-local, CGNAT, unique-local,
 * IPv4-mapped/NAT64/6to4 forms of those, 0.0.0.0/8, multicast/reserved/documentation ranges
 * and cloud metadata addresses. Anything that is not a literal IP address is refused too
 * (fail closed).
 */
export function isForbiddenAddress(ip: string): boolean {
  let text = ip.trim().toLowerCase();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%'); // fe80::1%eth0
  if (zone !== -1) text = text.slice(0, zone);
  if (CLOUD_METADATA_ADDRESSES.has(text)) return true;
  const v4 = parseIPv4(text);
  if (v4 !== null) return isForbiddenIPv4(v4);
  const v6 = text.includes(':') ? parseIPv6(text) : null;
  if (v6 !== null) return isForbiddenIPv6(v6);
  return true;
}

/** Names that resolve to this machine or a private network whatever DNS says. */
const LOCAL_NAME = /(^|\.)(localhost|localdomain|internal|local|home\.arpa)$/;

/**
 * The rule for a URL's host (as `new URL().hostname` gives it, which already normalizes 0x7f.1 or
 * 2130706433 to 127.0.0.1): a literal IP is judged by isForbiddenAddress, the very check the delivery
 * guard applies to resolved addresses; a name is refused when it is local by definition (localhost,
 * *.localhost, *.internal, *.local, with or without the trailing dot). Any other name passes here and
 * is checked again, address by address, when it resolves at delivery time.
 */
export function isForbiddenHost(hostname: string): boolean {
  let host = hostname.trim().toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (ipFamily(host.split('%')[0]!) !== 0) return isForbiddenAddress(host);
  host = host.replace(/\.+$/, '');
  return host === '' || LOCAL_NAME.test(host);
}
