// `npx tsx bench/vm-watchdog.ts`: what node:vm's watchdog costs per call into a context. @temporalio/worker
// 1.24 passes a timeout (isolateExecutionTimeout) to every call into the workflow sandbox, and node:vm
// starts a watchdog thread for each such call; ANVIL_WORKFLOW_DEADLOCK_TIMEOUT_MS=0 (the default, with
// scripts/patch-temporal-worker.mjs) passes none. Prints CPU and wall µs per call, with and without.
import vm from 'node:vm';

const CALLS = Number(process.env.BENCH_VM_CALLS ?? 20_000);
const context = vm.createContext({ x: 0 });
const script = new vm.Script('x = x + 1');

function measure(options: vm.RunningScriptOptions) {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (let i = 0; i < CALLS; i++) script.runInContext(context, options);
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / CALLS, wall: ((performance.now() - wall) * 1000) / CALLS };
}

for (let round = 1; round <= 3; round++) {
  const without = measure({});
  const withTimeout = measure({ timeout: 5000 });
  console.log(
    `round ${round}: no timeout ${without.cpu.toFixed(1)} µs CPU, ${without.wall.toFixed(1)} µs wall per call; ` +
      `timeout 5000 ${withTimeout.cpu.toFixed(1)} µs CPU, ${withTimeout.wall.toFixed(1)} µs wall per call ` +
      `(${(withTimeout.cpu / without.cpu).toFixed(0)}× the CPU)`,
  );
}
