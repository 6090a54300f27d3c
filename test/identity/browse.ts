/** A browser's redirect-following, by hand: cookies kept per origin, until a hop leaves `within`. */
export async function browse(
  start: URL,
  within: string,
  jar = new Map<string, Map<string, string>>(),
): Promise<{ url: URL; jar: Map<string, Map<string, string>> }> {
  let url = start;
  for (let hop = 0; hop < 10; hop++) {
    if (!url.href.startsWith(within)) return { url, jar };
    const cookies = jar.get(url.origin) ?? new Map<string, string>();
    jar.set(url.origin, cookies);
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`${url.href}: ${res.status} ${await res.text()}`);
    url = new URL(location, url);
  }
  throw new Error('too many redirects');
}
