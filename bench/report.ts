/**
 * What the bench prints: the machine it ran on (a rate means nothing without it) and an aligned
 * table of rates with their ratio to the baseline.
 */
import { statfsSync } from 'node:fs';
import os from 'node:os';
import type { Rate } from './measure.js';

// statfs reports a magic number; naming the common ones shows at a glance whether fsync is real.
const FILESYSTEMS: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs (fsync is free: optimistic)',
  0x794c7630: 'overlayfs',
  0x65735546: 'fuse',
};

export function machineFacts(dir: string, natsVersion: string): string[] {
  const cpus = os.cpus();
  const fsType = statfsSync(dir).type;
  return [
    `node ${process.version} (${process.platform} ${process.arch}), ${os.availableParallelism()} CPUs: ${cpus[0]?.model ?? 'unknown'}`,
    `SQLite (WAL, synchronous=FULL) on ${FILESYSTEMS[fsType] ?? `filesystem 0x${fsType.toString(16)}`}; ${natsVersion}`,
  ];
}

export function perSecond(r: Rate): string {
  return r.perSecond >= 100 ? r.perSecond.toFixed(0) : r.perSecond.toFixed(1);
}

export function percent(x: number): string {
  const p = x * 100;
  return `${p >= 10 ? p.toFixed(0) : p.toFixed(1)}%`;
}

/** Rows of cells, first row the header; text left-aligned, numbers right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function rateRow(name: string, r: Rate, baseline: Rate): string[] {
  return [name, perSecond(r), percent(r.perSecond / baseline.perSecond), `${r.ops} in ${r.seconds.toFixed(2)} s`];
}
