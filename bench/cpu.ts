/**
 * How busy the machine's CPUs were while a load ran (Linux's /proc/stat): the ceiling a ratio
 * between loads sits under. When one replica already keeps every CPU busy, more replicas on the
 * same machine cannot go faster, whatever the registry does.
 */
import { readFileSync } from 'node:fs';

function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const t = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = t.reduce((a, b) => a + b, 0);
    return { busy: total - t[3]! - t[4]!, total }; // less idle and iowait
  } catch {
    return undefined;
  }
}

/** `fn`'s value and the share of all CPUs busy meanwhile (undefined where /proc/stat is not). */
export async function whileBusy<T>(fn: () => Promise<T>): Promise<{ value: T; busy?: number }> {
  const a = cpuTimes();
  const value = await fn();
  const b = cpuTimes();
  return a && b && b.total > a.total ? { value, busy: (b.busy - a.busy) / (b.total - a.total) } : { value };
}
