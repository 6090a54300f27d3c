/**
 * Reads one claim out of a token's claims: a plain claim name, or, when the key starts with `/`,
 * an RFC 6901 JSON pointer into nested claims (`/kubernetes.io/namespace`).
 *
 * Only own properties are followed: a token is attacker-shaped input, and `constructor` or
 * `__proto__` must read as absent, not as Object's prototype machinery.
 */
export function claimAt(claims: Readonly<Record<string, unknown>>, key: string): unknown {
  if (!key.startsWith('/')) return own(claims, key);
  let at: unknown = claims;
  for (const raw of key.slice(1).split('/')) {
    // ~1 before ~0, as RFC 6901 §4 says, so "~01" reads as "~1" and not "/".
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(at)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      at = at[Number(token)];
    } else if (at !== null && typeof at === 'object') {
      at = own(at as Record<string, unknown>, token);
    } else {
      return undefined;
    }
    if (at === undefined) return undefined;
  }
  return at;
}

function own(obj: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}
