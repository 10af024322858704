// What follows an endpoint turning itself off (activities/endpoint-health.ts marks it, in the same UPDATE
// that disables it): its pending deliveries are canceled and its tenant is told, by an `endpoint.disabled`
// event to the tenant's other endpoints subscribed to it. Every API process listens for the notification
// and also sweeps periodically (a notification can be lost); each step is idempotent (cancel signals, an
// event id derived from the endpoint and the time it was turned off), so two processes doing it at once,
// or one doing it again after a crash, send nothing twice.
import type { Client } from '@temporalio/client';
import { ENDPOINT_DISABLED_CHANNEL, type EndpointRow, type Store } from '../infra/store';
import type { ChannelListener } from '../infra/pg-channels';
import { cancelDeliveries } from './delivery-commands';
import { publishEvent, type PublishDeps } from './publish';
import { log as currentLog } from '../infra/log';

export const DISABLE_SWEEP_MS = 30_000;

/** The `endpoint.disabled` event's id: one per time the endpoint was turned off. */
export function disabledNoticeEventId(endpoint: Pick<EndpointRow, 'id' | 'disabled_at'>): string {
  return `evt_disabled${endpoint.id.replace(/^ep_/, '')}${(endpoint.disabled_at?.getTime() ?? 0).toString(36)}`;
}

export function startEndpointHealth(
  deps: PublishDeps & { temporal: Client; store: Store; channels: ChannelListener; sweepMs?: number },
  log: (line: string) => void = (l) => currentLog().warn(l),
) {
  let running: Promise<void> | null = null;
  let again = false;

  const followUp = async (endpoint: EndpointRow) => {
    const tenant = await deps.store.getTenant(endpoint.tenant_id);
    if (tenant) {
      await cancelDeliveries(deps, tenant.id, { endpointId: endpoint.id }, 'endpoint disabled');
      await publishEvent(deps, tenant, {
        id: disabledNoticeEventId(endpoint),
        type: 'endpoint.disabled',
        data: {
          endpoint_id: endpoint.id,
          url: endpoint.url,
          description: endpoint.description,
          reason: endpoint.disabled_reason,
          failing_since: endpoint.failing_since?.toISOString() ?? null,
          disabled_at: endpoint.disabled_at?.toISOString() ?? null,
        },
      });
    }
    await deps.store.disableNoticeDone(endpoint.id);
  };

  const sweep = async () => {
    do {
      again = false;
      for (const endpoint of await deps.store.pendingDisableNotices()) {
        await followUp(endpoint).catch((err: unknown) => log(`[endpoint-health] following up ${endpoint.id} failed: ${(err as Error).message}`));
      }
    } while (again);
  };

  /** Runs a sweep now (or once more after the one running). */
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = sweep()
      .catch((err: unknown) => log(`[endpoint-health] sweep failed: ${(err as Error).message}`))
      .finally(() => (running = null));
    return running;
  };

  const timer = setInterval(() => void run(), deps.sweepMs ?? DISABLE_SWEEP_MS);
  timer.unref();
  deps.channels.onReconnect(() => void run());
  const ready = deps.channels
    .listen(ENDPOINT_DISABLED_CHANNEL, () => void run())
    .catch((err: unknown) => log(`[endpoint-health] LISTEN failed, sweeping every ${(deps.sweepMs ?? DISABLE_SWEEP_MS) / 1000} s only: ${(err as Error).message}`))
    .then(() => run());

  return {
    ready,
    run,
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
