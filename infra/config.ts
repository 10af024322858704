// One typed configuration, read from the environment once. Every setting is documented in README.md's
// configuration table; a bad value stops start-up with a message naming the variable.
import { z } from 'zod';

const booleanFromEnv = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const port = z.coerce.number().int().min(0).max(65535);

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** A duration such as `5d`, `36h`, `90s`, `500ms`, or `0`; in milliseconds. */
const duration = z
  .string()
  .regex(/^(0|\d+(ms|s|m|h|d))$/, 'must be a duration such as 5d, 36h, 90s or 500ms (or 0)')
  .transform((v) => {
    const [, n, unit] = /^(\d+)(ms|s|m|h|d)?$/.exec(v)!;
    return Number(n) * (unit ? DURATION_UNITS_MS[unit as keyof typeof DURATION_UNITS_MS] : 0);
  });

export const configSchema = z.object({
  PORT: port.default(3000),
  ANVIL_DATA_DIR: z.string().min(1).default('.data'),
  ANVIL_ADMIN_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s/:]+:\d+$/, 'must be host:port, e.g. localhost:7233')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('anvil-webhooks'),
  ANVIL_ALLOW_INSECURE_TARGETS: booleanFromEnv.optional(),
  ANVIL_BODY_LIMIT: z
    .string()
    .regex(/^\d+(kb|mb|b)?$/i, 'must be a size such as 256kb')
    .default('256kb'),
  ANVIL_TEMPORAL_PORT: port.default(7233),
  ANVIL_TEMPORAL_UI_PORT: port.default(8233),
  ANVIL_POSTGRES_PORT: port.default(54329),
  ANVIL_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  ANVIL_WORKER_MAX_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).default(200),
  ANVIL_WORKER_MAX_WORKFLOW_TASKS: z.coerce.number().int().min(1).max(10_000).default(40),
  ANVIL_WORKER_MAX_WORKFLOW_TASK_POLLS: z.coerce.number().int().min(2).max(100).default(10),
  ANVIL_WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(100),
  ANVIL_MAX_IN_FLIGHT_PER_ENDPOINT: z.coerce.number().int().min(1).max(1_000).default(10),
  ANVIL_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  ANVIL_EMBEDDED_WORKER: booleanFromEnv.optional(),
  ANVIL_WORKFLOW_DEADLOCK_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(0),
  ANVIL_WORKFLOW_STACK_TRACES: booleanFromEnv.default(false),
  ANVIL_RETRY_TIME_SCALE: z.coerce.number().gt(0).max(1).default(1),
  ANVIL_CLUSTER_APIS: z.coerce.number().int().min(1).max(16).default(2),
  ANVIL_CLUSTER_WORKERS: z.coerce.number().int().min(0).max(16).default(2),
  ANVIL_CLUSTER_HISTORY_SHARDS: z.coerce.number().int().min(1).max(1024).default(4),
  ANVIL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ANVIL_JSON_MAX_DEPTH: z.coerce.number().int().min(2).max(1000).default(32),
  ANVIL_JSON_MAX_KEYS: z.coerce.number().int().min(10).max(1_000_000).default(10_000),
  ANVIL_HSTS: booleanFromEnv.optional(),
  ANVIL_TRUST_PROXY: z
    .string()
    .regex(/^(\d+|loopback|linklocal|uniquelocal|[0-9a-fA-F.:/,\s]+)$/, 'must be a hop count, loopback, or addresses/CIDRs')
    .optional(),
  ANVIL_AUTH_FAILURE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(20),
  ANVIL_AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  ANVIL_AUTH_FAILURE_BLOCK_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  ANVIL_PUBLISH_RATE_LIMIT: z.coerce.number().int().min(0).max(1_000_000).default(200),
  ANVIL_METRICS_PORT: port.default(9464),
  ANVIL_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'must be an http(s) base URL such as https://webhooks.example.com')
    .optional(),
  ANVIL_PORTAL_FRAME_ANCESTORS: z
    .string()
    .regex(
      /^\s*('self'|'none'|\*|https?:\/\/[A-Za-z0-9.*-]+(:\d+)?)(\s+('self'|https?:\/\/[A-Za-z0-9.*-]+(:\d+)?))*\s*$/,
      "must be 'self', 'none', * or space-separated origins such as https://app.example.com",
    )
    .default("'self'"),
  ANVIL_PORTAL_LINK_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(600),
  ANVIL_PORTAL_SESSION_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3600),
  ANVIL_ENDPOINT_FAILURE_SPAN: duration.default(5 * DURATION_UNITS_MS.d),
  ANVIL_LISTEN_SESSION_TIMEOUT: duration.default(60 * DURATION_UNITS_MS.s),
});

export type RawConfig = z.infer<typeof configSchema>;

export interface Config {
  port: number;
  dataDir: string;
  adminKey: string | undefined;
  databaseUrl: string | undefined;
  temporalAddress: string | undefined;
  temporalNamespace: string;
  taskQueue: string;
  /** http:// URLs and loopback/private destinations allowed (development and tests only). */
  allowInsecureTargets: boolean;
  bodyLimit: string;
  temporalPort: number;
  temporalUiPort: number;
  postgresPort: number;
  retentionDays: number;
  workerMaxActivities: number;
  workerMaxWorkflowTasks: number;
  /** Workflow-task pollers; each holds a task slot while it polls, so fewer leave more slots for eager starts. */
  workerMaxWorkflowTaskPolls: number;
  workerMaxCachedWorkflows: number;
  maxInFlightPerEndpoint: number;
  /** A prebuilt workflow bundle (`npm run build`); unset: the compiled entry points use dist/'s, tsx bundles at start. */
  workflowBundle: string | undefined;
  /** The API process hosts a worker on its own connection and starts event workflows eagerly. */
  embeddedWorker: boolean;
  /** node:vm's watchdog on each call into the workflow sandbox, in ms; 0: none (scripts/patch-temporal-worker.mjs). */
  workflowDeadlockTimeoutMs: number;
  /** The SDK's per-promise stack capture in workflow threads (Web UI "Stack Trace"); off: scripts/patch-temporal-worker.mjs. */
  workflowStackTraces: boolean;
  /** Multiplies every wait of the retry schedules (1 = the real ones); end-to-end and chaos runs only. */
  retryTimeScale: number;
  /** `npm run cluster`: API and worker processes, and the history shards of a new Temporal cluster. */
  cluster: { apis: number; workers: number; historyShards: number };
  logLevel: RawConfig['ANVIL_LOG_LEVEL'];
  /** Request bodies: deepest nesting and most object keys accepted (checked before JSON.parse). */
  jsonMaxDepth: number;
  jsonMaxKeys: number;
  /** Strict-Transport-Security on every answer: on by default in production mode. */
  hsts: boolean;
  /** Express's `trust proxy`: which X-Forwarded-For hops give the client address (off: the socket's). */
  trustProxy: string | undefined;
  /** Failed authentications per client address in a window before it is refused for a while. */
  authFailureLimit: number;
  authFailureWindowSeconds: number;
  authFailureBlockSeconds: number;
  /** Events and actions a tenant may publish per second (0: unlimited). */
  publishRateLimit: number;
  /** The worker's Prometheus endpoint port (0: none). */
  metricsPort: number;
  /** Base of the links the API hands out (portal sign-in); unset: the request's own scheme and host. */
  publicUrl: string | undefined;
  /** Settings pages: who may frame them (CSP frame-ancestors), how long a sign-in link and a session live. */
  portal: { frameAncestors: string; linkTtlMs: number; sessionTtlMs: number };
  /** An endpoint whose attempts all failed for this long is turned off (0: never), in ms. */
  endpointFailureSpanMs: number;
  /** A `listen` session whose CLI has been gone this long is removed with its temporary endpoint, in ms. */
  listenSessionTimeoutMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the configuration. `developmentDefaults` is what `npm start` passes: insecure targets are then
 * allowed unless the variable says otherwise; production entry points default to refusing them.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  { developmentDefaults = false }: { developmentDefaults?: boolean } = {},
): Config {
  const relevant = Object.fromEntries(
    Object.keys(configSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const parsed = configSchema.safeParse(relevant);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const variable = String(i.path[0] ?? '?');
      return `  ${variable}=${JSON.stringify(env[variable] ?? '')}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const allowInsecureTargets = c.ANVIL_ALLOW_INSECURE_TARGETS ?? developmentDefaults;
  return {
    port: c.PORT,
    dataDir: c.ANVIL_DATA_DIR,
    adminKey: c.ANVIL_ADMIN_KEY,
    databaseUrl: c.DATABASE_URL,
    temporalAddress: c.TEMPORAL_ADDRESS,
    temporalNamespace: c.TEMPORAL_NAMESPACE,
    taskQueue: c.TEMPORAL_TASK_QUEUE,
    allowInsecureTargets,
    bodyLimit: c.ANVIL_BODY_LIMIT,
    temporalPort: c.ANVIL_TEMPORAL_PORT,
    temporalUiPort: c.ANVIL_TEMPORAL_UI_PORT,
    postgresPort: c.ANVIL_POSTGRES_PORT,
    retentionDays: c.ANVIL_RETENTION_DAYS,
    workerMaxActivities: c.ANVIL_WORKER_MAX_ACTIVITIES,
    workerMaxWorkflowTasks: c.ANVIL_WORKER_MAX_WORKFLOW_TASKS,
    workerMaxWorkflowTaskPolls: c.ANVIL_WORKER_MAX_WORKFLOW_TASK_POLLS,
    workerMaxCachedWorkflows: c.ANVIL_WORKER_MAX_CACHED_WORKFLOWS,
    maxInFlightPerEndpoint: c.ANVIL_MAX_IN_FLIGHT_PER_ENDPOINT,
    workflowBundle: c.ANVIL_WORKFLOW_BUNDLE,
    embeddedWorker: c.ANVIL_EMBEDDED_WORKER ?? true,
    workflowDeadlockTimeoutMs: c.ANVIL_WORKFLOW_DEADLOCK_TIMEOUT_MS,
    workflowStackTraces: c.ANVIL_WORKFLOW_STACK_TRACES,
    retryTimeScale: c.ANVIL_RETRY_TIME_SCALE,
    cluster: { apis: c.ANVIL_CLUSTER_APIS, workers: c.ANVIL_CLUSTER_WORKERS, historyShards: c.ANVIL_CLUSTER_HISTORY_SHARDS },
    logLevel: c.ANVIL_LOG_LEVEL,
    jsonMaxDepth: c.ANVIL_JSON_MAX_DEPTH,
    jsonMaxKeys: c.ANVIL_JSON_MAX_KEYS,
    hsts: c.ANVIL_HSTS ?? !allowInsecureTargets,
    trustProxy: c.ANVIL_TRUST_PROXY,
    authFailureLimit: c.ANVIL_AUTH_FAILURE_LIMIT,
    authFailureWindowSeconds: c.ANVIL_AUTH_FAILURE_WINDOW_SECONDS,
    authFailureBlockSeconds: c.ANVIL_AUTH_FAILURE_BLOCK_SECONDS,
    publishRateLimit: c.ANVIL_PUBLISH_RATE_LIMIT,
    metricsPort: c.ANVIL_METRICS_PORT,
    publicUrl: c.ANVIL_PUBLIC_URL?.replace(/\/+$/, ''),
    portal: {
      frameAncestors: c.ANVIL_PORTAL_FRAME_ANCESTORS.trim().split(/\s+/).join(' '),
      linkTtlMs: c.ANVIL_PORTAL_LINK_TTL_SECONDS * 1000,
      sessionTtlMs: c.ANVIL_PORTAL_SESSION_TTL_SECONDS * 1000,
    },
    endpointFailureSpanMs: c.ANVIL_ENDPOINT_FAILURE_SPAN,
    listenSessionTimeoutMs: c.ANVIL_LISTEN_SESSION_TIMEOUT,
  };
}

/** For production entry points: these must be given explicitly. */
export function requireSetting<T>(value: T | undefined, variable: string): T {
  if (value === undefined) throw new ConfigError(`${variable} must be set`);
  return value;
}
