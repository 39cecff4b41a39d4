import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withActor } from '../src/db/actor.ts';
import type { Queryable } from '../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import { insertDeployment } from './support/fixtures.ts';

/*
 * shipslog.state_at() and shipslog.state_diff() (sql/audit/65_time_travel.sql): the state the
 * chain replays to at each moment is the row as it was then, and a diff is what the events
 * between two indexes compose to. The expected values here come from the row itself (captured
 * after each change) and from a replay and a diff written in TypeScript, not from SQL.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type State = { [k: string]: Json };

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const hmac = (c: string) => `hmac-sha256:${c.repeat(64)}`;

/** The audited state of the row now (null once deleted), and a moment after the change committed. */
async function snapshot(db: Queryable, id: string): Promise<{ at: string; state: State | null; chainLength: number }> {
  const [row] = await db<{ at: string; state: State | null; chain_length: number | null }[]>`
    select clock_timestamp()::text as at,
           (select shipslog.audited_state(d) from shipslog.deployments as d where d.id = ${id}) as state,
           (select max(e.chain_index) from shipslog.deployment_events as e where e.deployment_id = ${id}) as chain_length`;
  return { at: row!.at, state: row!.state, chainLength: row!.chain_length ?? 0 };
}

// Mixed changes, each one statement as a client would send it: nested config (add, change,
// remove a key), upgrade, secret rotation, restart, what the reconciler observes, environment
// and dependencies, removal request, removal.
const changes: string[] = [
  `update shipslog.deployments set config = jsonb_set(config, '{tuning}', '{"work_mem": "4MB", "shared_buffers": "128MB"}') where id = $1`,
  `update shipslog.deployments set config = jsonb_set(config, '{tuning,work_mem}', '"8MB"') where id = $1`,
  `update shipslog.deployments set app_version = '17' where id = $1`,
  `update shipslog.deployments set secrets_ref = 'orders-db-secrets', secrets_fingerprint = '${hmac('a')}' where id = $1`,
  `update shipslog.deployments set config = config #- '{tuning,shared_buffers}' || '{"storage": "16Gi"}' where id = $1`,
  `update shipslog.deployments set secrets_fingerprint = '${hmac('b')}' where id = $1`,
  `update shipslog.deployments set status = 'applied', observed_generation = generation, health = 'Healthy',
     managed_resources = '[{"kind": "StatefulSet", "name": "orders-db", "namespace": "acme"}]' where id = $1`,
  `update shipslog.deployments set restarted_at = now() where id = $1`,
  `update shipslog.deployments set config = config - 'tuning', environment = 'staging', depends_on = '{cache}' where id = $1`,
  `update shipslog.deployments set app_version = '16.4' where id = $1`,
  `update shipslog.deployments set health = 'Degraded', health_message = 'pod orders-db-0: CrashLoopBackOff' where id = $1`,
  `update shipslog.deployments set deletion_requested_at = now() where id = $1`,
  `delete from shipslog.deployments where id = $1`,
];

interface StateAtRow {
  chain_index: number;
  action: string;
  state: State | null;
  head_chain_index: number;
  matches_current: boolean | null;
}

// ::text first: sent as a timestamptz parameter, the driver would pass it through a Date and
// drop the microseconds.
const stateAt = async (db: Queryable, id: string, at: string | null) =>
  (await db<StateAtRow[]>`select chain_index, action, state, head_chain_index, matches_current from shipslog.state_at(${id}, ${at}::text::timestamptz)`)[0]!;

// An independent replay: created starts the state, removed ends it, else set the paths the
// new side holds and drop those only the old side holds, going deeper where both are objects.
const isObject = (v: Json | undefined): v is State => typeof v === 'object' && v !== null && !Array.isArray(v);
function applyEvent(state: State | null, previous: State | null, next: State | null): State | null {
  if (previous === null) return structuredClone(next);
  if (next === null) return null;
  const merge = (base: State, p: State, n: State): State => {
    const out: State = { ...base };
    for (const k of new Set([...Object.keys(p), ...Object.keys(n)])) {
      if (isObject(p[k]) && isObject(n[k])) out[k] = merge(isObject(out[k]) ? out[k] : {}, p[k], n[k]);
      else if (k in n) out[k] = n[k]!;
      else delete out[k];
    }
    return out;
  };
  return merge(state ?? {}, previous, next);
}

// An independent diff: leaves where the two sides differ, going deeper where both are objects.
function diffStates(a: State, b: State, prefix: string[] = []): { path: string; from: Json; to: Json }[] {
  const out: { path: string; from: Json; to: Json }[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const [x, y] = [a[k], b[k]];
    if (isObject(x) && isObject(y)) out.push(...diffStates(x, y, [...prefix, k]));
    else if (!isDeepStrictEqual(x, y)) out.push({ path: [...prefix, k].join('.'), from: x ?? null, to: y ?? null });
  }
  return out;
}
const byPath = <T extends { path: string }>(list: T[]) => [...list].sort((p, q) => (p.path < q.path ? -1 : p.path > q.path ? 1 : 0));

describe('time travel: shipslog.state_at and shipslog.state_diff', () => {
  let id: string;
  const moments: { at: string; state: State | null; chainLength: number }[] = [];
  let events: { chain_index: number; previous_state: State | null; new_state: State | null }[];

  beforeAll(async () => {
    id = (await insertDeployment(t.db, { name: 'travel', config: { storage: '8Gi', replicas: 1 } })).id;
    moments.push(await snapshot(t.db, id));
    for (const [i, sql] of changes.entries()) {
      await withActor(t.db, { actor: 'alice@example.com', actorType: 'user', reason: `change ${i + 1}` }, (tx) => tx.unsafe(sql, [id])); // fixed statements above
      moments.push(await snapshot(t.db, id));
    }
    events = [...(await t.db<typeof events>`
      select chain_index, previous_state, new_state
      from shipslog.deployment_events
      where deployment_id = ${id}
      order by chain_index`)];
  });

  it('every change wrote one event, removal included', () => {
    expect(moments.map((m) => m.chainLength)).toEqual(Array.from({ length: changes.length + 1 }, (_, i) => i + 1));
    expect(moments.at(-1)!.state).toBeNull();
  });

  it('the state at each moment is the row as it stood then; the last is checked against the present', async () => {
    for (const [k, m] of moments.entries()) {
      const s = await stateAt(t.db, id, m.at);
      expect({ k, chain_index: s.chain_index, state: s.state }).toEqual({ k, chain_index: k + 1, state: m.state });
      expect(s.head_chain_index).toBe(moments.length);
      // Only the replay that reaches the head is compared with the present; here the row is
      // gone and the chain ends in removed: a match.
      expect(s.matches_current).toBe(k === moments.length - 1 ? true : null);
    }
    expect((await stateAt(t.db, id, moments.at(-1)!.at)).action).toBe('removed');
  });

  it('a moment between two events is the earlier one; the event\'s own instant includes it', async () => {
    const [e] = await t.db<{ at: string; before: string }[]>`
      select occurred_at::text as at, (occurred_at - interval '1 microsecond')::text as before
      from shipslog.deployment_events where deployment_id = ${id} and chain_index = 5`;
    expect((await stateAt(t.db, id, e!.at)).chain_index).toBe(5);
    expect((await stateAt(t.db, id, e!.before)).chain_index).toBe(4);
  });

  it('a TypeScript replay of the stored events gives the same states', () => {
    let state: State | null = null;
    for (const [k, e] of events.entries()) {
      state = applyEvent(state, e.previous_state, e.new_state);
      expect({ k, state }).toEqual({ k, state: moments[k]!.state });
    }
  });

  it('the diff between any two events is what the events between them compose to', async () => {
    const replayTo = (n: number) => events.slice(0, n).reduce<State | null>((s, e) => applyEvent(s, e.previous_state, e.new_state), null);
    let nonEmpty = 0;
    for (let from = 1; from <= events.length; from++) {
      for (let to = 1; to <= events.length; to++) {
        // State after #from, then each event in (from, to] applied to it (backwards: the other way round).
        const expected = byPath(diffStates(replayTo(from) ?? {}, replayTo(to) ?? {}));
        const rows = await t.db<{ path: string; from: Json; to: Json }[]>`
          select path, from_value as from, to_value as to from shipslog.state_diff(${id}, ${from}, ${to})`;
        expect({ from, to, diff: byPath([...rows]) }).toEqual({ from, to, diff: expected });
        if (rows.length > 0) nonEmpty++;
      }
    }
    expect(nonEmpty).toBeGreaterThan(100);
  });

  it('a path changed and changed back between two events is no difference', async () => {
    const d = await insertDeployment(t.db, { name: 'back-and-forth', config: { storage: '8Gi' } });
    await t.db`update shipslog.deployments set config = '{"storage": "16Gi"}' where id = ${d.id}`;
    await t.db`update shipslog.deployments set config = '{"storage": "8Gi"}', app_version = '17' where id = ${d.id}`;
    const rows = await t.db`select path, from_value, to_value, description from shipslog.state_diff(${d.id}, 1, 3)`;
    expect([...rows]).toEqual([{ path: 'app_version', from_value: '16', to_value: '17', description: 'upgraded 16 -> 17' }]);
    // to omitted: the chain's last event.
    expect((await t.db`select path from shipslog.state_diff(${d.id}, 2)`).map((r) => r.path)).toEqual(['app_version', 'config.storage']);
    expect(await t.db`select * from shipslog.state_diff(${d.id}, 2, 2)`).toHaveLength(0);
  });

  it('refuses a moment before creation, an unknown deployment and an index outside the chain, naming them', async () => {
    const [created] = await t.db<{ before: string }[]>`
      select (occurred_at - interval '1 second')::text as before from shipslog.deployment_events where deployment_id = ${id} and chain_index = 1`;
    await expect(stateAt(t.db, id, created!.before)).rejects.toMatchObject({
      code: 'SL061', message: expect.stringMatching(/^deployment acme\/travel \(.+\) did not exist yet at .+Z: it was created at .+Z$/),
    });
    const unknown = '00000000-0000-4000-8000-000000000000';
    await expect(stateAt(t.db, unknown, moments[0]!.at)).rejects.toMatchObject({ code: 'SL060', message: `deployment ${unknown} has no audit history` });
    await expect(t.db`select * from shipslog.state_diff(${unknown}, 1, 1)`).rejects.toMatchObject({ code: 'SL060' });
    await expect(t.db`select * from shipslog.state_diff(${id}, 0, 3)`).rejects.toMatchObject({
      code: 'SL062', column_name: 'from', message: `deployment ${id} has events #1 to #14: #0 is not one of them`,
    });
    await expect(t.db`select * from shipslog.state_diff(${id}, 3, 15)`).rejects.toMatchObject({ code: 'SL062', column_name: 'to' });
    await expect(t.db`select * from shipslog.state_diff(${id}, null, 3)`).rejects.toMatchObject({ code: 'SL062', column_name: 'from' });
    await expect(stateAt(t.db, id, null)).rejects.toMatchObject({ code: '22004' });
  });

  it('matches_current is false when the row changed behind the audit trigger, and true otherwise', async () => {
    const d = await insertDeployment(t.db, { name: 'tampered', config: { storage: '8Gi' } });
    await t.db`update shipslog.deployments set app_version = '17' where id = ${d.id}`;
    const now = async () => (await t.db<{ at: string }[]>`select clock_timestamp()::text as at`)[0]!.at;
    expect((await stateAt(t.db, d.id, await now())).matches_current).toBe(true);
    expect((await stateAt(t.db, d.id, '9999-12-31 00:00Z')).matches_current).toBe(true);
    await t.db.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update shipslog.deployments set config = '{"storage": "1Ti"}' where id = ${d.id}`;
    });
    const s = await stateAt(t.db, d.id, await now());
    expect(s).toMatchObject({ chain_index: 2, matches_current: false, state: expect.objectContaining({ config: { storage: '8Gi' } }) });
    // A row that vanished without its removed event does not match either.
    await t.db.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`delete from shipslog.deployments where id = ${d.id}`;
    });
    expect((await stateAt(t.db, d.id, await now())).matches_current).toBe(false);
  });

  it('row-level security scopes it: the API role sees its tenant\'s chains only; the auditor sees all', async () => {
    const asRole = (role: string, tenant: string | null) =>
      t.db.begin(async (tx) => {
        await tx`select set_config('role', ${role}, true)`;
        if (tenant) await tx`select set_config('shipslog.tenant', ${tenant}, true)`;
        return stateAt(tx, id, moments[3]!.at);
      });
    expect((await asRole('shipslog_app', 'acme')).state).toEqual(moments[3]!.state);
    await expect(asRole('shipslog_app', 'globex')).rejects.toMatchObject({ code: 'SL060' });
    expect((await asRole('shipslog_auditor', null)).chain_index).toBe(4);
    expect((await asRole('shipslog_reconciler', null)).chain_index).toBe(4);
  });
});
