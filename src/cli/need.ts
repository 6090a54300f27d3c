/**
 * Loads a part of snowgate on demand. Commands import their heavy parts lazily so that `--help`,
 * `decode` and `lease` stay fast and work in a build that lacks, say, the registry.
 */
export async function need<T>(what: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(`${what} is not available in this build: ${(e as Error).message}`);
    }
    throw e;
  }
}
