import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from './harness.ts';

let api: TestApi;
let key: string;
beforeAll(async () => {
  api = await createTestApi();
  key = await api.key('acme', ['read', 'deploy'], 'retrier');
});
afterAll(async () => {
  await api?.drop();
});

const counts = async () => {
  const [r] = await api.t.db<{ d: number; e: number }[]>`
    select (select count(*)::int from shipslog.deployments) as d, (select count(*)::int from shipslog.deployment_events) as e`;
  return r;
};
const body = (name: string) => ({ name, recipe: 'redis', app_version: '7.2', config: {} });

describe('Idempotency-Key', () => {
  it('a retried create returns the first answer and writes nothing new', async () => {
    const first = await api.call(key, 'POST', '/v1/deployments', body('cache'), { 'idempotency-key': 'create-cache-1' });
    expect(first.status).toBe(201);
    const firstBody = await first.json();
    const before = await counts();
    const retry = await api.call(key, 'POST', '/v1/deployments', body('cache'), { 'idempotency-key': 'create-cache-1' });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('location')).toBe(first.headers.get('location'));
    expect(await retry.json()).toEqual(firstBody);
    expect(await counts()).toEqual(before);
  });

  it('concurrent retries with one key create exactly one deployment and one event', async () => {
    const before = await counts();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => api.call(key, 'POST', '/v1/deployments', body('queue'), { 'idempotency-key': 'queue-once' })),
    );
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
    const ids = new Set(await Promise.all(answers.map(async (r) => (await r.json()).id)));
    expect(ids.size).toBe(1);
    const after = await counts();
    expect(after).toEqual({ d: (before?.d ?? 0) + 1, e: (before?.e ?? 0) + 1 });
  });

  it('a retried upgrade and restart write one event each', async () => {
    const d = await (await api.call(key, 'POST', '/v1/deployments', body('sessions'))).json();
    for (let i = 0; i < 3; i++) {
      expect((await api.call(key, 'POST', `/v1/deployments/${d.id}/upgrade`, { app_version: '7.4' }, { 'idempotency-key': 'up-1' })).status).toBe(200);
      expect((await api.call(key, 'POST', `/v1/deployments/${d.id}/restart`, {}, { 'idempotency-key': 'rs-1' })).status).toBe(200);
    }
    const events = await api.t.db`select action from shipslog.deployment_events where deployment_id = ${d.id} order by chain_index`;
    expect(events.map((e) => e.action)).toEqual(['created', 'upgraded', 'restarted']);
  });

  it('the same key with a different request is refused (422) and changes nothing', async () => {
    await api.call(key, 'POST', '/v1/deployments', body('one'), { 'idempotency-key': 'reused' });
    const before = await counts();
    const res = await api.call(key, 'POST', '/v1/deployments', body('two'), { 'idempotency-key': 'reused' });
    expect(res.status).toBe(422);
    expect((await res.json()).type).toBe('https://shipslog.dev/problems/idempotency-key-reused');
    expect(await counts()).toEqual(before);
  });

  it('a failed request stores no answer, so its retry runs again', async () => {
    const bad = await api.call(key, 'POST', '/v1/deployments', body('cache'), { 'idempotency-key': 'dup-name' });
    expect(bad.status).toBe(409);
    await api.t.db`delete from shipslog.deployments where name = 'cache'`;
    const retry = await api.call(key, 'POST', '/v1/deployments', body('cache'), { 'idempotency-key': 'dup-name' });
    expect(retry.status).toBe(201);
  });

  it('keys are per API key: another key with the same Idempotency-Key is a new request', async () => {
    const other = await api.key('acme', ['deploy'], 'other-retrier');
    await api.call(key, 'POST', '/v1/deployments', body('k1'), { 'idempotency-key': 'shared' });
    const res = await api.call(other, 'POST', '/v1/deployments', body('k2'), { 'idempotency-key': 'shared' });
    expect(res.status).toBe(201);
    expect((await res.json()).name).toBe('k2');
  });

  it('replays for 24 hours; an older answer is purged and its key runs afresh', async () => {
    const first = await api.call(key, 'POST', '/v1/deployments', body('aging'), { 'idempotency-key': 'old-key' });
    expect(first.status).toBe(201);
    await api.t.db`update shipslog.idempotency_keys set created_at = now() - interval '25 hours' where idempotency_key = 'old-key'`;
    await api.t.db`delete from shipslog.deployments where name = 'aging'`;
    const again = await api.call(key, 'POST', '/v1/deployments', body('aging'), { 'idempotency-key': 'old-key' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    const rows = await api.t.db`select created_at > now() - interval '1 hour' as fresh from shipslog.idempotency_keys where idempotency_key = 'old-key'`;
    expect(rows).toEqual([{ fresh: true }]);
  });
});
