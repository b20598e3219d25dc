/**
 * The one spelling of a JWS compact value (a JWT), so that a token presented in another spelling
 * is the same token: each part re-encoded from what it decodes to (base64url decoders ignore a
 * part's unused low bits, so up to 16 spellings of a signature verify alike), and an ECDSA
 * signature's `s` taken in the low half of the curve's order, since (r, n − s) verifies as well as
 * (r, s). Every other spelling needs the token itself to make, so treating them as one gives a
 * holder nothing, and takes from a revoked token's holder the spellings that would not be revoked.
 * A value that is not a JWS with a JSON header naming its `alg` is left as it is.
 */

/** The orders of the curves of ES256, ES384 and ES512 (P-256, P-384, P-521), and their scalars' lengths in a JWS signature. */
const ECDSA: Record<string, { order: bigint; bytes: number }> = {
  ES256: { order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n, bytes: 32 },
  ES384: { order: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n, bytes: 48 },
  ES512: {
    order: 0x01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    bytes: 66,
  },
};

const JWS = /^([\w-]+)\.([\w-]+)\.([\w-]+)$/;
const decode = (part: string) => Buffer.from(part, 'base64url');

export function canonicalJwsSpelling(value: string): string {
  const parts = JWS.exec(value);
  if (!parts) return value;
  const [header, payload, signature] = [decode(parts[1] as string), decode(parts[2] as string), decode(parts[3] as string)];
  let alg: unknown;
  try {
    alg = (JSON.parse(header.toString('utf8')) as { alg?: unknown } | null)?.alg;
  } catch {
    return value;
  }
  if (typeof alg !== 'string') return value;
  return `${header.toString('base64url')}.${payload.toString('base64url')}.${lowS(alg, signature).toString('base64url')}`;
}

/** An ECDSA signature (r ‖ s) with s ≤ n / 2; any other signature as it is. */
function lowS(alg: string, signature: Buffer): Buffer {
  const curve = ECDSA[alg];
  if (!curve || signature.length !== 2 * curve.bytes) return signature;
  const s = BigInt(`0x${signature.subarray(curve.bytes).toString('hex')}`);
  // Only a signature that could verify has a twin (0 < s < n); any other is left as it is.
  if (s <= curve.order / 2n || s >= curve.order) return signature;
  const low = Buffer.from((curve.order - s).toString(16).padStart(2 * curve.bytes, '0'), 'hex');
  return Buffer.concat([signature.subarray(0, curve.bytes), low]);
}
