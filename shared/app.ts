/**
 * The composition root: config + logger + cloud adapters → the handlers the functions call. API clients are
 * built on first use (cold start stays small) and reused by every later event of the instance.
 */
import type { Cloud, RequestPublisher } from './cloud/ports';
import { PubsubPublisher, pubsubClient } from './cloud/publisher';
import type { Config } from './config';
import { withDeadline } from './deadline';
import type { ReconcileRequest } from './events/request';
import type { DomainEvent } from './events/types';
import { createLogger, type Logger } from './log';
import { AviatrixController, type GatewayAdvertiser, type SpokeDirectory } from './policy/aviatrix';
import type { ActionRecord } from './reconcile/action';
import { Memo, type ReconcileContext } from './reconcile/context';
import { handleDomainEvent, throwIfRetryable } from './reconcile/dispatch';
import { type RequestResult, reconcileRequest } from './reconcile/request';

export interface App {
  log: Logger;
  onAuditEvent(event: DomainEvent, log: Logger): Promise<ActionRecord[]>;
  onReconcileRequest(request: ReconcileRequest, log: Logger): Promise<RequestResult>;
}

export interface AppOptions {
  log?: Logger;
  /** The cloud ports; default: adapters on the real client libraries (shared/cloud). */
  cloud?: Cloud;
  /** Extra spokes; default: the Aviatrix Controller when `aviatrix` is configured. */
  spokeDirectory?: SpokeDirectory;
  /** Spoke gateways; default: the Aviatrix Controller when `aviatrix.advertise` is configured. */
  advertiser?: GatewayAdvertiser;
  /** The invocation budget in ms; default `invocationBudgetSeconds`. Tests use short ones. */
  invocationBudgetMs?: number;
  /** Where project and fleet requests fan out to; default: the `reconcileTopic` on @google-cloud/pubsub, if set. */
  publisher?: RequestPublisher;
}

/** The reconcile topic's publisher when `reconcileTopic` is set (the client library loads on the first publish). */
export function topicPublisher(config: Config): RequestPublisher | undefined {
  if (!config.reconcileTopic) return undefined;
  return new PubsubPublisher(
    config.reconcileTopic,
    pubsubClient(config.reconcileTopic, config.endpoints?.pubsub),
    config.callTimeoutSeconds * 1000,
  );
}

/** The Aviatrix Controller (spoke look-up and spoke gateways), when configured (off by default). */
export function aviatrixDirectory(config: Config): AviatrixController | undefined {
  const aviatrix = config.aviatrix;
  if (!aviatrix) return undefined;
  // Required here, not imported: the secret reader (Secret Manager's REST API through google-auth-library) loads
  // only when the look-up is configured.
  const { secretReader } = require('./cloud/secrets') as typeof import('./cloud/secrets');
  const readSecret = secretReader(config, { budgetMs: config.retryBudgetMs });
  return new AviatrixController({
    controllerUrl: aviatrix.controllerUrl,
    username: aviatrix.username,
    cacheSeconds: aviatrix.cacheSeconds,
    callCapMs: config.callTimeoutSeconds * 1000,
    password: () => readSecret(aviatrix.passwordSecret),
  });
}

export function createApp(config: Config, options: AppOptions = {}): App {
  const log = options.log ?? createLogger({ level: config.logLevel });
  let cloud = options.cloud;
  const getCloud = (): Cloud => {
    // Loaded on first use: the client libraries are most of the bundle's load time.
    cloud ??= (require('./cloud') as typeof import('./cloud')).createCloud(config, log);
    return cloud;
  };
  // The ports are resolved on first use, so an ignored or too-old event never loads a client library.
  const lazyCloud: Cloud = {
    get clusters() {
      return getCloud().clusters;
    },
    get peering() {
      return getCloud().peering;
    },
    get fleet() {
      return getCloud().fleet;
    },
    get kube() {
      return getCloud().kube;
    },
  };
  // One client for both uses: one session with the Controller per instance.
  const controller = aviatrixDirectory(config);
  const spokes = options.spokeDirectory ?? controller;
  const advertiser = config.aviatrix?.advertise ? (options.advertiser ?? controller) : undefined;
  const publisher = options.publisher ?? topicPublisher(config);
  const budgetMs = options.invocationBudgetMs ?? config.invocationBudgetSeconds * 1000 * config.timeScale;
  const context = (eventLog: Logger, dryRun: boolean): ReconcileContext => ({
    config,
    cloud: lazyCloud,
    log: eventLog,
    dryRun,
    memo: new Memo(),
    extraSpokes: spokes ? () => spokes.listSpokes() : undefined,
    advertiser,
    publisher,
  });
  return {
    log,
    onAuditEvent(event, eventLog) {
      return withDeadline(budgetMs, async () => {
        const records = await handleDomainEvent(context(eventLog, config.dryRun), event);
        throwIfRetryable(records);
        return records;
      });
    },
    onReconcileRequest(request, eventLog) {
      return withDeadline(budgetMs, async () => {
        const dryRun = config.dryRun || request.dryRun === true;
        const result = await reconcileRequest(context(eventLog, dryRun), request);
        throwIfRetryable(result.records);
        return result;
      });
    },
  };
}
