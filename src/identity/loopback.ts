/**
 * Whether a host name is a loopback address, where plain http is allowed for development and
 * tests (CONTRACT §3): the one check for config URLs, discovered JWKS URLs and the dev issuer's
 * listening address, so they cannot drift apart.
 *
 * Takes `URL.hostname` (which brackets IPv6 and canonicalises IPv4 forms like `127.1` or
 * `0x7f.0.0.1`) or a bare host as given to `listen`. Deliberately literal: a name that merely
 * starts with 127 (`127.0.0.1.nip.io`) resolves wherever its DNS says, and `*.localhost` or
 * IPv4-mapped IPv6 forms are not accepted either, since plain http there would not be
 * guaranteed to stay on this machine.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '::1' || host === '[::1]') return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  // Decimal 0-255 without leading zeros: some resolvers read "010" as octal.
  return octets !== null && octets.slice(1).every((o) => /^(0|[1-9]\d*)$/.test(o) && Number(o) <= 255);
}
