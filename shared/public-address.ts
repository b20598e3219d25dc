import { isIP } from 'node:net';

/** A loopback host name as a URL spells it (`[::1]` with or without its brackets): where plain http is allowed locally. */
export const isLoopbackHost = (hostname: string) => ['localhost', '127.0.0.1', '::1'].includes(hostname.replace(/^\[|\]$/g, ''));

/** Whether an IP address is one the public internet routes (not private, loopback, link-local, CGNAT, multicast or reserved). */
export function isPublicAddress(address: string): boolean {
  if (isIP(address) === 4) {
    const [a = 0, b = 0] = address.split('.').map(Number);
    return !(a === 0 || a === 10 || a === 127 || a >= 224 || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254)
      || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19)));
  }
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  if (mapped) return isPublicAddress(mapped);
  // Global unicast is 2000::/3; everything else (loopback, unique-local fc00::/7, link-local fe80::/10, multicast, the hex
  // spelling of a mapped IPv4 address) is not routed to us. Nor are documentation (2001:db8::/32) and the tunnels that embed
  // an IPv4 address a relay would reach, private ones included: 6to4 (2002::/16) and Teredo (2001::/32).
  return /^[23][0-9a-f]{0,3}:/.test(lower) && !lower.startsWith('2001:db8:') && !lower.startsWith('2002:') && !/^2001:0{0,4}:/.test(lower);
}
