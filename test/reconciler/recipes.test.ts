import { describe, expect, it } from 'vitest';
import { claimsOf, recipes, RecipeError, render, validateConfig, type RecipeInput } from '../../src/recipes/index.ts';

const input = (config: unknown, extra: Partial<RecipeInput> = {}): RecipeInput => ({
  id: '00000000-0000-4000-8000-000000000001', tenant: 'acme', name: 'orders-db', environment: 'production',
  appVersion: '16', config, secretsRef: null, restartedAt: null, ...extra,
});

describe('recipes', () => {
  it('exports a zod config schema and a renderer per recipe', () => {
    expect(Object.keys(recipes).sort()).toEqual(['postgresql', 'redis', 'web']);
    expect(validateConfig('postgresql', {})).toEqual({ storage: '8Gi', replicas: 1 });
    expect(validateConfig('web', { image: 'ghcr.io/acme/shop' })).toMatchObject({ port: 8080, replicas: 1, servicePort: 80 });
  });

  it('refuses bad config naming every bad field', () => {
    expect(() => validateConfig('postgresql', { storage: 'lots', extra: 1 })).toThrow(RecipeError);
    try {
      validateConfig('web', { port: 'eighty' });
    } catch (err) {
      expect((err as RecipeError).issues.map((i) => i.path).sort()).toEqual(['config.image', 'config.port']);
    }
    expect(() => validateConfig('oracle', {})).toThrow(/unknown recipe "oracle"/);
    expect(() => validateConfig('web', { image: 'shop:latest' })).toThrow(/without a tag/);
  });

  it('postgresql: StatefulSet with a claim template, Service, Secret reference, tuning, ownership labels', () => {
    const r = render('postgresql', input({ storage: '20Gi', tuning: { shared_buffers: '256MB', max_connections: 200 } }, { secretsRef: 'orders-db-creds', restartedAt: '2026-11-22T00:00:00.000Z' }));
    expect(r.objects.map((o) => o.kind)).toEqual(['Service', 'StatefulSet']);
    const sts = r.objects[1]!;
    const text = JSON.stringify(sts);
    expect(text).toContain('"image":"postgres:16"');
    expect(text).toContain('"secretRef":{"name":"orders-db-creds"}');
    expect(text).toContain('"storage":"20Gi"');
    expect(text).toContain('"args":["-c","max_connections=200","-c","shared_buffers=256MB"]');
    expect(text).toContain('"shipslog.io/restarted-at":"2026-11-22T00:00:00.000Z"');
    expect(sts.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'shipslog', 'shipslog.io/deployment-id': input({}).id });
    expect(claimsOf(sts).map((c) => c.name)).toEqual(['data-orders-db-0']);
    // A secret rotation (new fingerprint) changes the pod template, so pods restart with the new values.
    const rotated = (fp: string) => JSON.stringify(render('postgresql', input({}, { secretsRef: 'c', secretsFingerprint: `hmac-sha256:${fp.repeat(64)}` })).objects[1]);
    expect(rotated('a')).not.toBe(rotated('b'));
    expect(JSON.stringify(r.objects)).not.toContain('undefined');
    expect(r.namespace).toBe('acme');
  });

  it('redis and web: Deployment + Service; the same input renders the same objects', () => {
    const redis = render('redis', input({ maxmemory: '256Mi' }, { name: 'cache', appVersion: '7.2' }));
    expect(redis.objects.map((o) => o.kind)).toEqual(['Service', 'Deployment']);
    expect(JSON.stringify(redis.objects[1])).toContain('"--maxmemory","256mb"');
    const web = render('web', input({ image: 'ghcr.io/acme/shop', env: { B: '2', A: '1' }, replicas: 3 }, { name: 'shop', appVersion: '1.4.2' }));
    expect(web.image).toBe('ghcr.io/acme/shop:1.4.2');
    expect(JSON.stringify(web.objects[1])).toContain('"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]');
    expect(render('web', input({ image: 'ghcr.io/acme/shop' }))).toEqual(render('web', input({ image: 'ghcr.io/acme/shop' })));
  });
});
