import { describe, expect, it } from 'vitest';
import { isLoopbackHost, isPublicAddress } from '../../shared/public-address.js';

describe('the addresses an issuer\'s keys may be fetched from', () => {
  it('are public: private, loopback, link-local, CGNAT, reserved, documentation and tunnelled IPv4 addresses are not', () => {
    const notPublic = [
      '10.0.0.8', '127.0.0.1', '0.0.0.0', '169.254.169.254', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '198.18.0.1', '224.0.0.1', '255.255.255.255', '192.0.0.8',
      '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:7f00:1', '2001:db8::1',
      '2002:a00:1::1', '2002:7f00:1::', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001::1',
    ];
    for (const address of notPublic) expect(isPublicAddress(address), address).toBe(false);
    for (const address of ['8.8.8.8', '52.94.76.1', '172.32.0.1', '100.128.0.1', '::ffff:8.8.8.8', '2600:1f18::1', '2a00:1450:4001::200e', '2001:4860:4860::8888']) {
      expect(isPublicAddress(address), address).toBe(true);
    }
  });

  it('tells a loopback host as a URL spells it', () => {
    for (const host of ['localhost', '127.0.0.1', '[::1]', '::1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['127.0.0.2.example', 'example.com', '[::2]']) expect(isLoopbackHost(host), host).toBe(false);
  });
});
