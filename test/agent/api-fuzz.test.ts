import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../api/harness.ts';
import { postgresText } from '../api/hostile.ts';

// Hostile input to every agent message route: each field replaced by each hostile value,
// plus broken bodies and paths. Nothing may answer 5xx; a write is either refused (4xx,
// nothing written) or accepted because the value happens to be valid ('NaN' is a fine
// message id, [] a fine reasoning) and then writes exactly what it said.

let api: TestApi;
let key: string;
let other: string;
beforeAll(async () => {
  api = await createTestApi();
  key = await api.key('acme', ['read', 'deploy'], 'fuzz-agent');
  other = await api.key('globex', ['read', 'deploy'], 'other-agent');
  await api.call(key, 'POST', '/v1/agent-messages', { message_id: 'target', project_id: 'shop', model: 'm' });
});
afterAll(async () => {
  await api?.drop();
});

const hostile: unknown[] = [
  null, true, -1, 1.5, 1e309, '', ' ', 'x'.repeat(70_000), "'; drop table shipslog.agent_messages; --", '\u0000', '\ud800',
  '../../etc/passwd', '%00', 'NaN', 'Infinity', '-0.1', '1e3', '0x10', '00000000001.0000000000001', [], {}, [null], { $gt: '' },
  Array.from({ length: 2000 }, () => 'r'), 2_147_483_648, '9999999999.1',
  // Dates PostgreSQL cannot store (issue 9); a valid created_at or from/to otherwise.
  '0000-01-01T00:00:00Z', '0001-01-01T00:00:00+14:00', '9999-12-31T23:59:59-14:00', 'x\udfff',
];

/** Hostile JSON text (issue 9), for bodies JSON.stringify cannot write: each must be refused with 400. */
const hostileText = [
  '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000),
  '['.repeat(100_000) + ']'.repeat(100_000),
  '{"__proto__":{"x":1}}', '{"constructor":1}', '{"prototype":"x"}', '{"__pro\\u0074o__":1}',
  '9007199254740993', '-12345678901234567890', '"\\ud800"', '"a\\u0000"',
];

const validStart = { message_id: 'fuzz-ok', project_id: 'shop', model: 'm', context_layers: 1 };
const validFinal = {
  reasoning: ['a'],
  tokens: { prompt: 1, completion: 1, total: 2 },
  cost: { prompt: '0.1', completion: '0.1', total: '0.2' },
};

function mutations(valid: Record<string, unknown>): unknown[] {
  const out: unknown[] = [];
  for (const field of Object.keys(valid)) {
    for (const value of hostile) {
      const inner = valid[field];
      if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
        for (const sub of Object.keys(inner)) out.push({ ...valid, [field]: { ...inner, [sub]: value } });
      } else {
        out.push({ ...valid, [field]: value });
      }
    }
  }
  return out;
}

/** URL-encodes; a lone surrogate becomes raw bad UTF-8 bytes, which is what a hostile client sends. */
function enc(v: unknown): string {
  try {
    return encodeURIComponent(String(v).slice(0, 300));
  } catch {
    return '%ED%A0%80';
  }
}

async function snapshot(): Promise<string> {
  const [r] = await api.t.db<{ s: string }[]>`
    select concat_ws('|',
      (select count(*) from shipslog.agent_messages),
      (select count(*) from shipslog.agent_messages where finalised_at is not null),
      (select count(*) from shipslog.projects)) as s`;
  return r!.s;
}

describe('agent message routes under hostile input', () => {
  it('never answers 5xx, and writes only what an accepted request said', async () => {
    const before = await snapshot();
    const requests: [string, string, unknown][] = [
      ...mutations(validStart).map((b) => ['POST', '/v1/agent-messages', b] as [string, string, unknown]),
      ...mutations(validFinal).map((b) => ['PATCH', '/v1/agent-messages/nope', b] as [string, string, unknown]),
      ...['not json', '[]', '{"message_id":', '"x"', 'null'].map((b) => ['POST', '/v1/agent-messages', b] as [string, string, unknown]),
      ...hostile.filter((v) => typeof v === 'string').flatMap((v) => [
        ['GET', `/v1/agent-messages/${enc(v)}`, undefined] as [string, string, unknown],
        ['GET', `/v1/projects/${enc(v)}/agent-analytics`, undefined] as [string, string, unknown],
        ['GET', `/v1/projects/shop/agent-analytics?from=${enc(v)}`, undefined] as [string, string, unknown],
        ['GET', `/v1/projects/shop/agent-analytics?recent=${enc(v)}`, undefined] as [string, string, unknown],
      ]),
    ];
    const raw: [string, string, string][] = [];
    for (const v of hostileText) {
      raw.push(
        ['POST', '/v1/agent-messages', `{"message_id":"raw","project_id":"shop","model":"m","context_layers":${v}}`],
        ['POST', '/v1/agent-messages', `{"message_id":"raw","project_id":"shop","model":"m","x":${v}}`],
        ['PATCH', '/v1/agent-messages/target', `{"reasoning":[${v}],"tokens":{"prompt":1,"completion":1,"total":2},"cost":{"prompt":"0","completion":"0","total":"0"}}`],
        ['PATCH', '/v1/agent-messages/target', `{"reasoning":[],"tokens":{"prompt":${v},"completion":1,"total":2},"cost":{"prompt":"0","completion":"0","total":"0"}}`],
      );
    }
    for (const [method, path, body] of raw) {
      const r = await api.call(key, method, path, body);
      const text = await r.text();
      if (r.status !== 400 || postgresText.test(text)) throw new Error(`${method} ${path} ${body.slice(0, 120)} -> ${r.status} ${text.slice(0, 200)}`);
    }
    // Methods the agent paths do not serve: 405 naming those they do.
    for (const [method, path, allow] of [['GET', '/v1/agent-messages', 'POST'], ['PUT', '/v1/agent-messages/target', 'GET, HEAD, PATCH'], ['DELETE', '/v1/projects/shop/agent-analytics', 'GET, HEAD']]) {
      const r = await api.call(key, method!, path!);
      expect([method, path, r.status, r.headers.get('allow')]).toEqual([method, path, 405, allow]);
    }
    // Finalising the real placeholder: at most one mutation that happens to be valid wins.
    requests.push(...mutations(validFinal).map((b) => ['PATCH', '/v1/agent-messages/target', b] as [string, string, unknown]));
    let created = 0;
    let finalised = 0;
    const acceptedIds: string[] = [];
    for (const [method, path, body] of requests) {
      const r = await api.call(key, method, path, body);
      const text = await r.clone().text();
      if (r.status >= 500) throw new Error(`${method} ${path} ${JSON.stringify(body)?.slice(0, 200)} -> ${r.status}`);
      if (postgresText.test(text)) throw new Error(`${method} ${path} echoes PostgreSQL: ${text.slice(0, 200)}`);
      if (method === 'POST' && r.status === 201) acceptedIds.push((body as { message_id: string }).message_id);
      if (method === 'POST' && r.status === 201) created++;
      if (method === 'PATCH' && r.headers.get('x-shipslog-outcome') === 'finalised') finalised++;
      if (method !== 'GET' && r.status < 400 && r.status !== 201 && r.status !== 200) throw new Error(`odd status ${r.status}`);
    }
    expect(requests.length).toBeGreaterThan(300);
    expect(finalised).toBeLessThanOrEqual(1);
    const [b0, b1, b2] = before.split('|').map(Number);
    const [a0, a1, a2] = (await snapshot()).split('|').map(Number);
    expect([a0, a1]).toEqual([b0! + created, b1! + finalised]);
    // A valid project id (e.g. '1e3') in an accepted message registers that project.
    expect(a2! - b2!).toBeLessThanOrEqual(created);
    // Another tenant cannot tell the ids acme holds from free ones: each starts afresh (issue 9).
    for (const id of ['target', ...acceptedIds]) {
      const r = await api.call(other, 'POST', '/v1/agent-messages', { message_id: id, project_id: 'other-shop', model: 'm' });
      expect([id, r.status]).toEqual([id, 201]);
    }
  }, 120_000);
});
