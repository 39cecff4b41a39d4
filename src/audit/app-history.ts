import type { Tx } from '../db/client.ts';
import { historyIdsByName, historyOfMany } from '../db/history-of-many.ts';
import { uuidPattern } from '../db/ids.ts';

/** What the agent tool returns per event: enough to answer "what happened to my PostgreSQL?". */
export interface AppHistoryItem {
  action: string;
  when: string;
  at: string;
  actor: string;
  reason: string | null;
  changes: string[];
}

/**
 * get-app-history: appId is a deployment id, "tenant/name", or a bare name (in the caller's
 * own tenant). A name covers every incarnation, removed ones included. Runs inside the
 * caller's tenant transaction, so row-level security decides what exists. null: unknown app.
 */
export async function getAppHistory(tx: Tx, callerTenant: string | null, appId: string, limit = 50): Promise<AppHistoryItem[] | null> {
  let ids: string[];
  if (uuidPattern.test(appId)) {
    ids = [appId.toLowerCase()];
  } else {
    const slash = appId.indexOf('/');
    const tenant = slash >= 0 ? appId.slice(0, slash) : callerTenant;
    const name = slash >= 0 ? appId.slice(slash + 1) : appId;
    if (!tenant) return null;
    ids = await historyIdsByName(tx, tenant, name);
  }
  if (ids.length === 0) return null;
  const entries = await historyOfMany(tx, ids, limit);
  if (entries.length === 0) return null;
  return entries.map((e) => ({ action: e.action, when: e.when, at: e.at, actor: e.actor, reason: e.reason, changes: e.changes }));
}
