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

/** Per interrupt line (its number and name), the count on each CPU (Linux's /proc/interrupts). */
function interrupts(): Map<string, number[]> | undefined {
  try {
    const rows = readFileSync('/proc/interrupts', 'utf8').trim().split('\n');
    const cpus = rows[0]!.trim().split(/\s+/).length;
    const m = new Map<string, number[]>();
    for (const row of rows.slice(1)) {
      const f = row.trim().split(/\s+/);
      // Numbered lines are devices; named ones (LOC, RES, CAL…) are the kernel's own.
      if (!/^\d+:$/.test(f[0]!)) continue;
      m.set(`${f[0]} ${f.at(-1)}`, f.slice(1, 1 + cpus).map(Number));
    }
    return m;
  } catch {
    return undefined;
  }
}

/** The CPU a thread last ran on (field 39 of /proc/PID/task/TID/stat). */
function lastCpu(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[36]);
  } catch {
    return undefined;
  }
}

const mostly = (counts: number[]): { cpu: number; share: number } => {
  const total = counts.reduce((a, b) => a + b, 0);
  const cpu = counts.indexOf(Math.max(...counts));
  return { cpu, share: total > 0 ? counts[cpu]! / total : 0 };
};

/**
 * Where process `pid`'s main thread (its event loop) ran while `fn` did, and where the busiest
 * device interrupt went meanwhile (with a registry under load: the disk's, one per WAL sync and
 * flush). The kernel places both; a loop that shares its CPU with them runs slower.
 */
export async function placement<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; summary?: string }> {
  const before = interrupts();
  const seen: number[] = [];
  const timer = setInterval(() => {
    const cpu = lastCpu(pid);
    if (cpu !== undefined) seen[cpu] = (seen[cpu] ?? 0) + 1;
  }, 50);
  let value: T;
  try {
    value = await fn();
  } finally {
    clearInterval(timer);
  }
  const after = interrupts();
  if (!before || !after || seen.length === 0) return { value };
  let busiest: { name: string; delta: number[] } | undefined;
  for (const [name, counts] of after) {
    const delta = counts.map((n, i) => n - (before.get(name)?.[i] ?? 0));
    if (!busiest || delta.reduce((a, b) => a + b, 0) > busiest.delta.reduce((a, b) => a + b, 0)) {
      busiest = { name, delta };
    }
  }
  const loop = mostly(Array.from(seen, (n) => n ?? 0));
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  let summary = `event loop on CPU${loop.cpu} ${pct(loop.share)} of the time`;
  if (busiest) {
    const irq = mostly(busiest.delta);
    summary += `; busiest interrupt (${busiest.name}) ${pct(irq.share)} on CPU${irq.cpu}`;
  }
  return { value, summary };
}
