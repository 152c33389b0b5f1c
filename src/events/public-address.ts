/**
 * Where a notification may go, with NOTIFY_DENY_PRIVATE: never to a private, loopback or
 * link-local address. Checked at each delivery (src/events/delivery.ts), because what a host name
 * resolves to can change after it subscribed; what a subscriber may register is src/hub/callback.ts's.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

const privateV4 = [
  [0x0a000000, 8], // 10/8
  [0xac100000, 12], // 172.16/12
  [0xc0a80000, 16], // 192.168/16
  [0x7f000000, 8], // 127/8
  [0xa9fe0000, 16], // 169.254/16 link-local
  [0x64400000, 10], // 100.64/10 carrier-grade NAT
  [0x00000000, 8],
] as const;

export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 4) {
    const n = address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
    return privateV4.some(([net, bits]) => n >>> (32 - bits) === net >>> (32 - bits));
  }
  const a = address.toLowerCase();
  if (a.startsWith('::ffff:')) return isPrivateAddress(a.slice(7));
  return (
    a === '::1' ||
    a === '::' ||
    a.startsWith('fc') ||
    a.startsWith('fd') ||
    a.startsWith('fe8') ||
    a.startsWith('fe9') ||
    a.startsWith('fea') ||
    a.startsWith('feb')
  );
}

/** Throws when the callback's host is, or resolves to, a private address (the delivery fails). */
export async function assertPublicHost(url: URL): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  if (addresses.some(isPrivateAddress))
    throw new Error(`callback host ${host} resolves to a private address`);
}
