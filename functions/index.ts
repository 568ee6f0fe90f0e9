/**
 * Entry points of both Cloud Run functions (one bundle, two targets). Registration only: decoding, routing and
 * error mapping live in ./audit and ./reconcile, the work in shared/.
 *
 * The config is validated at load time so a bad deploy fails at instance start with every problem listed;
 * API clients are built lazily, on the first event that needs them.
 */
import { type CloudEvent, cloudEvent } from '@google-cloud/functions-framework';
import { type App, createApp } from '../shared/app';
import { loadConfig } from '../shared/config';
import { handleAuditLogEvent } from './audit';
import { handleReconcileRequest } from './reconcile';

const config = loadConfig();
let app: App | undefined;
const getApp = (): App => {
  app ??= createApp(config);
  return app;
};

cloudEvent('onAuditLogEvent', (event: CloudEvent<unknown>) => handleAuditLogEvent(event, getApp()));
cloudEvent('onReconcileRequest', (event: CloudEvent<unknown>) => handleReconcileRequest(event, getApp()));
