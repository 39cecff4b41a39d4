import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, run } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { hostileActor, hostileReason, seedReport, wholeWindow, type ReportSeed } from './seed.ts';

// GET /v1/reports/compliance and `shipslog report`: the same document from the same SQL, as
// JSON, text and HTML; the audit scope; a tenant key kept to its tenant; bad input refused
// with a clear 400 (API) or exit code 2 (CLI).

let t: TestDatabase;
let s: ReportSeed;
beforeAll(async () => {
  t = await createTestDatabase();
  s = await seedReport(t);
});
afterAll(async () => {
  await s?.close();
  await t?.drop();
});

// biome-ignore lint: tests read arbitrary JSON
const json = (res: Response): Promise<any> => res.json();

const get = (key: string | null, query: string) =>
  s.app.request(`/v1/reports/compliance?${query}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

describe('GET /v1/reports/compliance', () => {
  it('answers the report as JSON for a global audit key: every tenant, every check, signatures checked', async () => {
    const res = await get(s.apiKeys.global, wholeWindow);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.summary).toMatchObject({ status: 'pass', events: 3, deployments: 2, checks_failed: 0 });
    expect(body.checks.map((c: { check: string; status: string }) => `${c.check}:${c.status}`)).toEqual([
      'immutable_storage:pass', 'chains_intact:pass', 'checkpoints:pass', 'approvals_complete:not_applicable',
      'gates_passed:not_applicable', 'retention_met:pass', 'changes_outside_api:pass',
    ]);
    expect(body.checks[2].evidence).toMatchObject({ signature_checked: true, public_key_id: s.keys.keyId });
  });

  it('keeps a tenant key to its tenant', async () => {
    const body = await json(await get(s.apiKeys.acme, wholeWindow));
    expect(body.scope.tenant).toBe('acme');
    expect(body.summary).toMatchObject({ events: 2, deployments: 1 });
    expect(body.deployments.items.map((d: { name: string }) => d.name)).toEqual(['orders-db']);
    // The chain check runs on a second connection: the tenant's role and context go with it.
    expect(body.checks[1]).toMatchObject({ check: 'chains_intact', status: 'pass', evidence: { chains: 1, events: 2 } });
    const other = await get(s.apiKeys.acme, `${wholeWindow}&tenant=globex`);
    expect(other.status).toBe(403);
    expect(await json(other)).toMatchObject({ detail: 'this key sees only tenant acme' });
  });

  it('needs the audit scope and a key', async () => {
    expect((await get(s.apiKeys.reader, wholeWindow)).status).toBe(403);
    expect((await get(null, wholeWindow)).status).toBe(401);
  });

  it('refuses a bad window, format or filter with 400 and names the field', async () => {
    for (const [query, field] of [
      ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'to'],
      ['from=2026-01-01T00:00:00Z', 'to'],
      ['from=yesterday&to=2026-01-01T00:00:00Z', 'from'],
      [`${wholeWindow}&format=pdf`, 'format'],
      [`${wholeWindow}&deployment_id=42`, 'deployment_id'],
      [`${wholeWindow}&environment=Prod!`, 'environment'],
      [`${wholeWindow}&limit=5`, ''],
    ] as const) {
      const res = await get(s.apiKeys.global, query);
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      if (field) expect(JSON.stringify((await json(res)).errors), query).toContain(field);
    }
  });

  it('renders text for a terminal and HTML for a person, the HTML with a policy that lets nothing load or run', async () => {
    const text = await get(s.apiKeys.global, `${wholeWindow}&format=text`);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    const body = await text.text();
    expect(body).toMatch(/^shipslog compliance report: PASS/);
    expect(body).toContain('[PASS] chains_intact: 2 chain(s) with 3 event(s) verified');
    expect(body).toContain('[N/A ] approvals_complete');
    // Stored control characters never reach the terminal as such.
    expect(body).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);

    const html = await get(s.apiKeys.global, `${wholeWindow}&format=html`);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; .*frame-ancestors 'none'/);
    const page = await html.text();
    expect(page).not.toContain(hostileActor);
    expect(page).toContain('&#60;img src=x onerror=alert(1)&#62;&#34;&#39;&#38;');
    // No element loads anything: no script, link or image, no src or href attribute on any tag.
    expect(page).not.toMatch(/<(script|link|img|iframe)|<[^>]*\s(src|href)=/i);
    expect(page).not.toContain(hostileReason);
  });
});

describe('shipslog report', () => {
  const env = () => cliEnv({ DATABASE_URL: t.url, SHIPSLOG_DATA_DIR: s.dataDir, LOG_LEVEL: 'warn' });
  const report = (...args: string[]) => run(process.execPath, ['bin/shipslog.js', 'report', ...args], { env: env() });

  it('prints JSON, text or HTML and exits 0 when every check passes', async () => {
    const json = await report('--from', '2000-01-01', '--to', '2100-01-01', '--format', 'json', '--tenant', 'acme');
    const body = JSON.parse(json.stdout);
    expect(body.summary).toMatchObject({ status: 'pass', events: 2 });
    expect(body.scope).toMatchObject({ from: '2000-01-01T00:00:00.000000Z', tenant: 'acme' });
    expect(body.checks.find((c: { check: string }) => c.check === 'checkpoints').evidence.signature_checked).toBe(true);
    const text = await report('--from', '2000-01-01', '--to', '2100-01-01T00:00:00Z', '--deployment', s.ordersDb);
    expect(text.stdout).toContain(`scope       every tenant, deployment ${s.ordersDb}`);
    expect(text.stdout).toMatch(/Actors \(2\)\n/);
    const html = await report('--from', '2000-01-01', '--to', '2100-01-01', '--format', 'html', '--environment', 'production');
    expect(html.stdout).toMatch(/^<!doctype html>/);
  }, 120_000);

  it('exits 1 when a check fails, after printing the report that says which', async () => {
    await t.db`update shipslog.deployments set config = config || '{"storage": "20Gi"}' where name = 'ledger-db'`;
    const err = await report('--from', '2000-01-01', '--to', '2100-01-01').catch((e: { code: number; stdout: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stdout: string }).stdout).toMatch(/\[FAIL\] changes_outside_api: 1 change\(s\) made outside the API/);
    expect((err as { stdout: string }).stdout).toMatch(/ledger-db/);
  }, 60_000);

  it('refuses bad arguments with exit code 2 or commander\'s 1 and a message naming the option', async () => {
    for (const [args, message] of [
      [['--from', '2026-02-01', '--to', '2026-01-01'], /--from must come before --to/],
      [['--to', '2026-01-01'], /required option '--from <instant>' not specified/],
      [['--from', 'yesterday', '--to', '2026-01-01'], /option '--from <instant>' argument 'yesterday' is invalid/],
      [['--from', '2026-01-01', '--to', '2026-02-01', '--format', 'pdf'], /expected one of json, text, html/],
      [['--from', '2026-01-01', '--to', '2026-02-01', '--deployment', 'orders-db'], /expected a deployment id/],
    ] as const) {
      const err = await report(...args).catch((e: { code: number; stderr: string }) => e);
      expect(err, args.join(' ')).toMatchObject({ code: expect.any(Number) });
      expect((err as { code: number }).code).not.toBe(0);
      expect((err as { stderr: string }).stderr).toMatch(message);
    }
  }, 120_000);
});
