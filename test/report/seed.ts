import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/api/app.ts';
import { loadSigningKey, takeCheckpoint, type CheckpointKeys } from '../../src/audit/checkpoints.ts';
import { loadConfig } from '../../src/config.ts';
import { setActorContext } from '../../src/db/actor.ts';
import { createApiKey } from '../../src/db/api-keys.ts';
import { createLog } from '../../src/log.ts';
import type { TestDatabase } from '../support/db.ts';
import { insertDeployment } from '../support/fixtures.ts';

/** Text that would be markup, or move a terminal's cursor, if a renderer let it through. */
export const hostileActor = '<img src=x onerror=alert(1)>"\'&';
export const hostileReason = 'line\u001b[2J\u0007</td></tr><script>alert(2)</script>';

export interface ReportSeed {
  dataDir: string;
  keys: CheckpointKeys;
  app: App;
  /** Tenant acme with audit; tenant acme read only; global audit. */
  apiKeys: { acme: string; reader: string; global: string };
  ordersDb: string;
  close: () => Promise<void>;
}

/**
 * Two tenants' history written as the API writes it (one actor's name and reason hostile), a
 * signed checkpoint whose key pair lives in a data dir of its own (the CLI finds the public
 * key there), and an app configured with that public key.
 */
export async function seedReport(t: TestDatabase): Promise<ReportSeed> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shipslog-report-'));
  await chmod(dataDir, 0o755);
  const keys = await loadSigningKey(undefined, dataDir);
  let ordersDb = '';
  await t.db.begin(async (tx) => {
    await setActorContext(tx, { actor: 'alice@acme.example', actorType: 'user' });
    ordersDb = (await insertDeployment(tx, { tenant: 'acme', name: 'orders-db' })).id;
    await insertDeployment(tx, { tenant: 'globex', name: 'ledger-db' });
  });
  await t.db.begin(async (tx) => {
    await setActorContext(tx, { actor: hostileActor, actorType: 'service', reason: hostileReason });
    await tx`update shipslog.deployments set app_version = '17' where id = ${ordersDb}`;
  });
  await takeCheckpoint(t.db, keys);
  const config = loadConfig({
    DATABASE_URL: t.url,
    LOG_LEVEL: 'silent',
    SHIPSLOG_DATA_DIR: dataDir,
    SHIPSLOG_CHECKPOINT_PUBLIC_KEY: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  });
  const app = createApp({ db: t.db, config, log: createLog('silent'), fingerprintKey: Buffer.alloc(32, 7) });
  const apiKeys = {
    acme: (await createApiKey(t.db, { name: 'acme-auditor', tenant: 'acme', scopes: ['read', 'audit'] })).key,
    reader: (await createApiKey(t.db, { name: 'acme-reader', tenant: 'acme', scopes: ['read'] })).key,
    global: (await createApiKey(t.db, { name: 'global-auditor', tenant: null, scopes: ['audit'] })).key,
  };
  return { dataDir, keys, app, apiKeys, ordersDb, close: () => rm(dataDir, { recursive: true, force: true }) };
}

export const wholeWindow = 'from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z';
