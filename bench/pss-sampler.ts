// The bench's memory sampler, in its own process: every 250 ms it reads the PSS of each measured process
// tree and keeps the highest total. Reading /proc for every process four times a second cost the bench
// process ~5–10 ms of CPU per second, which the CPU-per-delivery column charged to whichever system ran
// longest (the slowest looked costlier still); this process is in no measured tree.
//   parent → {type: 'start', roots: {name: pid}}  … → {type: 'stop'} → {type: 'stop', peakPssMiB, peakPssParts}
import { pssMiB, tree } from './proc';

type Message = { type: 'start'; roots: Record<string, number> } | { type: 'stop' };

let timer: NodeJS.Timeout | null = null;
let peak = 0;
let parts: Record<string, number> = {};

process.on('message', (m: Message) => {
  if (m.type === 'start') {
    peak = 0;
    parts = {};
    timer = setInterval(() => {
      const now = Object.fromEntries(Object.entries(m.roots).map(([name, pid]) => [name, tree(pid).reduce((sum, p) => sum + pssMiB(p), 0)]));
      const sum = Object.values(now).reduce((a, b) => a + b, 0);
      if (sum > peak) [peak, parts] = [sum, now];
    }, 250);
  } else {
    if (timer) clearInterval(timer);
    timer = null;
    process.send?.({ type: 'stop', peakPssMiB: peak, peakPssParts: parts });
  }
});
process.on('disconnect', () => process.exit(0));
