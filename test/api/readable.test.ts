import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentHistory, queryEvents, type HistoryEntry } from '../../src/db/events.ts';
import { insertDeployment } from '../support/fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

// The readable text of history has one implementation, in SQL (sql/audit/60_history.sql):
// psql users get it from shipslog.history(), describe_event() and relative_time(), the API
// from shipslog.readable_events(). These are the texts it must produce.

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const timestamp = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/g;
const withoutTimestamps = (s: string) => s.replace(timestamp, '<ts>');

describe('relative time', () => {
  it('shipslog.relative_time reads as a person would at every threshold and between', async () => {
    const expected: [number, string][] = [
      [-5, 'in the future'], [-0.000001, 'in the future'], [0, 'just now'], [1, 'just now'], [44, 'just now'],
      [44.9, 'just now'], [44.999999, 'just now'], [45, '1 minute ago'], [89, '1 minute ago'], [90, '2 minutes ago'],
      [91, '2 minutes ago'], [149, '2 minutes ago'], [150, '3 minutes ago'], [151, '3 minutes ago'],
      [2699, '45 minutes ago'], [2700, '1 hour ago'], [5399, '1 hour ago'], [5400, '2 hours ago'], [5401, '2 hours ago'],
      [9000, '3 hours ago'], [79199, '22 hours ago'], [79200, '1 day ago'], [129599, '1 day ago'], [129600, '2 days ago'],
      [172800, '2 days ago'], [216000, '3 days ago'], [2591999, '30 days ago'], [2592000, '1 month ago'],
      [3887999, '1 month ago'], [3888000, '2 months ago'], [31535999, '12 months ago'], [31536000, '1 year ago'],
      [47303999, '1 year ago'], [47304000, '2 years ago'], [63072000, '2 years ago'], [78840000, '3 years ago'],
      [1e9, '32 years ago'], [5e9, '159 years ago'],
    ];
    // Between the thresholds: 0, 13, 35.1, 72.67, ... (x 1.7 + 13) up to 4e8 seconds.
    const between = [
      'just now', 'just now', 'just now', '1 minute ago', '2 minutes ago', '4 minutes ago', '7 minutes ago',
      '12 minutes ago', '21 minutes ago', '36 minutes ago', '1 hour ago', '2 hours ago', '3 hours ago', '5 hours ago',
      '9 hours ago', '15 hours ago', '1 day ago', '2 days ago', '3 days ago', '5 days ago', '9 days ago', '15 days ago',
      '25 days ago', '1 month ago', '2 months ago', '4 months ago', '7 months ago', '12 months ago', '2 years ago',
      '3 years ago', '5 years ago', '8 years ago',
    ];
    for (let s = 0, i = 0; s < 4e8; s = s * 1.7 + 13, i++) expected.push([s, between[i] ?? `(no expectation for ${s} s)`]);
    expect(expected).toHaveLength(38 + between.length);
    const rows = await t.db<{ s: number; text: string }[]>`
      select s::float8 as s, shipslog.relative_time(now() - make_interval(secs => s), now()) as text
      from unnest(${expected.map(([s]) => s)}::float8[]) as s`;
    expect(rows.map((r) => [r.s, r.text])).toEqual(expected);
    const [fixed] = await t.db<{ a: string; b: string; c: string }[]>`
      select shipslog.relative_time('2020-01-01 00:00:00+00', '2020-01-01 00:00:45+00') as a,
             shipslog.relative_time('2020-01-01 00:00:00+00', '2026-03-01 12:00:00+00') as b,
             shipslog.relative_time('2020-01-01 00:00:00+00', '2020-01-02 11:59:59.5+00') as c`;
    expect(fixed).toEqual({ a: '1 minute ago', b: '6 years ago', c: '1 day ago' });
  });
});

describe('readable history', () => {
  it('has the expected summary and change lines for every kind of event, in the API and in psql', async () => {
    const d = await insertDeployment(t.db, { name: 'every-kind', config: { storage: '8Gi', tuning: { a: 1, b: [1, 2] } } });
    const steps = [
      `config = config || '{"storage": "16Gi", "extra": 2}'`,
      `config = jsonb_set(config, '{tuning,a}', '2')`,
      `config = config - 'extra'`,
      `config = config || jsonb_build_object('long', repeat('x', 200), 'list', (select jsonb_agg(g) from generate_series(1, 50) g))`,
      `config = jsonb_set(config, '{tuning}', '"flat"')`,
      `config = config || jsonb_build_object('emoji', repeat('🚀', 100), 'n', 1.50, 'flag', true, 'obj', '{"10": 1, "a": [1, 2]}'::jsonb)`,
      `config = config || '{"n": 2, "flag": false, "obj": [3]}'`,
      `app_version = '17'`,
      `secrets_fingerprint = 'hmac-sha256:' || repeat('b', 64)`,
      `restarted_at = now()`,
      `managed_resources = '[{"kind":"StatefulSet","name":"every-kind","namespace":"acme"}]'`,
      `health = 'Degraded', health_message = 'pod crash looping'`,
      `status = 'failed', status_message = 'ImagePullBackOff'`,
      `environment = 'staging', depends_on = '{orders-db}'`,
      `deletion_requested_at = now()`,
    ];
    for (const set of steps) await t.db.unsafe(`update shipslog.deployments set ${set} where id = $1`, [d.id]); // fixed test SQL
    await t.db.begin(async (tx) => {
      await tx`select set_config('shipslog.action', 'rolled_back', true)`;
      await tx`update shipslog.deployments set app_version = '16' where id = ${d.id}`;
    });
    await t.db`delete from shipslog.deployments where id = ${d.id}`;

    const x80 = 'x'.repeat(80);
    const rocket80 = '🚀'.repeat(80);
    // [action, change lines]; the summary is the lines joined with '; ' (created and removed: their one line).
    const expected: [string, string[]][] = [
      ['created', ['created postgresql 16']],
      ['config_changed', ['extra: none -> 2', 'storage: 8Gi -> 16Gi']],
      ['config_changed', ['tuning.a: 1 -> 2']],
      ['config_changed', ['extra: 2 -> none']],
      ['config_changed', ['list: none -> 50 items', `long: none -> ${x80}`]],
      ['config_changed', ['tuning: {"a": 2, "b": [1, 2]} -> flat']],
      ['config_changed', [`emoji: none -> ${rocket80}`, 'flag: none -> true', 'n: none -> 1.50', 'obj: none -> {"a": [1, 2], "10": 1}']],
      ['config_changed', ['flag: true -> false', 'n: 1.50 -> 2', 'obj: {"a": [1, 2], "10": 1} -> [3]']],
      ['upgraded', ['upgraded 16 -> 17']],
      ['secrets_rotated', ['secrets rotated']],
      ['restarted', ['restarted_at: none -> <ts>']],
      ['resources_changed', ['resources: 0 -> 1 objects']],
      ['health_changed', ['health: Unknown -> Degraded', 'health_message: none -> pod crash looping']],
      ['status_changed', ['status: pending -> failed', 'status_message: none -> ImagePullBackOff']],
      ['config_changed', ['depends_on: [] -> ["orders-db"]', 'environment: production -> staging']],
      ['removal_requested', ['deletion_requested_at: none -> <ts>']],
      ['rolled_back', ['downgraded 17 -> 16']],
      ['removed', ['removed postgresql 16']],
    ];
    expect(expected).toHaveLength(steps.length + 3);

    const api = (await deploymentHistory(t.db, { deploymentId: d.id, limit: 100 }, 'readable')) as HistoryEntry[];
    expect(api.map((e) => [e.action, e.changes.map(withoutTimestamps)])).toEqual([...expected].reverse());
    for (const e of api) {
      expect(e.summary).toBe(e.changes.join('; '));
      expect(e.when).toBe('just now');
      // The keys in the order the API has always sent them.
      expect(Object.keys(e)).toEqual([
        'seq', 'deployment_id', 'chain_index', 'tenant', 'name', 'action', 'at', 'actor', 'actor_type', 'reason',
        'changes', 'correlation_id', 'request_id', 'when', 'summary', 'category', 'severity', 'details',
      ]);
    }

    // psql's functions over the same events: history(), describe_event and describe_change.
    const history = await t.db<{ chain_index: number; summary: string; when: string }[]>`
      select chain_index, summary, "when" from shipslog.history('acme', 'every-kind')`;
    expect(history).toEqual(api.map((e) => ({ chain_index: e.chain_index, summary: e.summary, when: e.when })));
    const sql = await t.db<{ summary: string; lines: string[] }[]>`
      select shipslog.describe_event(e.action, shipslog.event_changes(e.previous_state, e.new_state), e.previous_state, e.new_state) as summary,
             array(select shipslog.describe_change(c) from jsonb_array_elements(shipslog.event_changes(e.previous_state, e.new_state)) as c) as lines
      from shipslog.deployment_events e
      where deployment_id = ${d.id}
      order by chain_index`;
    expect(sql.map((r) => withoutTimestamps(r.summary))).toEqual(expected.map(([, lines]) => lines.join('; ')));
    expect(sql.map((r) => r.lines.map(withoutTimestamps))).toEqual(
      expected.map(([action, lines]) => (action === 'created' || action === 'removed' ? [] : lines)),
    );
  });

  it("gives the API the entries psql's shipslog.history() shows", async () => {
    const d = await insertDeployment(t.db, { name: 'both-ways', config: { storage: '8Gi' } });
    for (const size of ['16Gi', '32Gi']) {
      await t.db.begin(async (tx) => {
        await tx`select set_config('shipslog.actor', 'alice', true), set_config('shipslog.reason', 'disk full', true),
                        set_config('shipslog.correlation_id', 'INC-1', true)`;
        await tx`update shipslog.deployments set config = jsonb_set(config, '{storage}', ${t.db.json(size)}) where id = ${d.id}`;
      });
    }
    await t.db`update shipslog.deployments set app_version = '17', config = config || '{"n": 1}' where id = ${d.id}`;
    await t.db`delete from shipslog.deployments where id = ${d.id}`;
    await insertDeployment(t.db, { name: 'both-ways', recipe: 'redis', app_version: '7', config: {} });

    const psql = await t.db<Record<string, unknown>[]>`
      select seq::float8 as seq, "when", action, summary, actor, actor_type, reason, correlation_id, chain_index, deployment_id
      from shipslog.history('acme', 'both-ways')`;
    const api = await queryEvents(t.db, { tenant: 'acme', name: 'both-ways', limit: 100 });
    expect(psql).toHaveLength(6);
    expect(api.map((e) => ({
      seq: e.seq, when: e.when, action: e.action, summary: e.summary, actor: e.actor, actor_type: e.actor_type,
      reason: e.reason, correlation_id: e.correlation_id, chain_index: e.chain_index, deployment_id: e.deployment_id,
    }))).toEqual(psql);
    expect(psql.map((r) => r.summary)).toEqual([
      'created redis 7', 'removed postgresql 17', 'upgraded 16 -> 17; n: none -> 1', 'storage: 16Gi -> 32Gi',
      'storage: 8Gi -> 16Gi', 'created postgresql 16',
    ]);
  });

  it('shows an array as "N items" from 81 bytes of jsonb, the same through every function', async () => {
    // Strings of 64..72 characters in a one-element array: 76..84 bytes of jsonb. Measured on
    // a fresh copy, so values read back from a tuple (3 bytes shorter header) read the same.
    const d = await insertDeployment(t.db, { name: 'arrays', config: {} });
    for (let n = 64; n <= 72; n++) {
      await t.db`update shipslog.deployments set config = jsonb_build_object('a', jsonb_build_array(repeat('x', ${n}::int))) where id = ${d.id}`;
    }
    const asText = (n: number) => `["${'x'.repeat(n)}"]`.slice(0, 80);
    const value = (n: number) => (n >= 69 ? '1 items' : asText(n));
    const expected = [];
    for (let n = 65; n <= 72; n++) expected.push(`a: ${value(n - 1)} -> ${value(n)}`);
    const api = (await deploymentHistory(t.db, { deploymentId: d.id, limit: 100 }, 'readable')) as HistoryEntry[];
    expect(api.slice(0, 8).map((e) => e.summary).reverse()).toEqual(expected);
    const psql = await t.db<{ summary: string }[]>`select summary from shipslog.history('acme', 'arrays') order by chain_index`;
    expect(psql.slice(2).map((r) => r.summary)).toEqual(expected);
    const [sizes] = await t.db<{ below: number; above: number }[]>`
      select pg_column_size(jsonb_build_array(repeat('x', 68))) as below, pg_column_size(jsonb_build_array(repeat('x', 69))) as above`;
    expect(sizes).toEqual({ below: 80, above: 81 });
  });
});
