// Processes: CPU and memory from /proc, for the bench (bench/run.ts) and its memory sampler
// (bench/pss-sampler.ts).
import { readdirSync, readFileSync } from 'node:fs';

/** Per process: its parent, its own CPU seconds, and those of its children that ended (cutime + cstime). */
export function processTable(): Map<number, { ppid: number; cpu: number; reaped: number }> {
  const table = new Map<number, { ppid: number; cpu: number; reaped: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), {
        ppid: Number(fields[1]),
        cpu: (Number(fields[11]) + Number(fields[12])) / 100,
        reaped: (Number(fields[13]) + Number(fields[14])) / 100,
      });
    } catch {
      // ended meanwhile
    }
  }
  return table;
}

/** A process and its descendants. */
export function tree(root: number, table = processTable()): number[] {
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (!table.has(pid)) continue;
    out.push(pid);
    for (const [child, info] of table) if (info.ppid === pid) stack.push(child);
  }
  return out;
}

export function cpuOf(pids: number[], table = processTable()): number {
  return pids.reduce((sum, pid) => sum + (table.get(pid)?.cpu ?? 0), 0);
}

/**
 * CPU seconds of a process and all its descendants, including those that ended (their time is in their
 * parent's cutime once reaped). Read before and after a run, the difference counts processes that started
 * during it: PostgreSQL forks a backend per new connection, and a pool reconnects after idling.
 */
export function treeCpu(root: number, table = processTable()): number {
  return tree(root, table).reduce((sum, pid) => sum + table.get(pid)!.cpu + table.get(pid)!.reaped, 0);
}

export function pssMiB(pid: number): number {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

export function rssMiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}
