import { describe, expect, it } from 'vitest';
import type { Kube } from '../../src/reconciler/kube.ts';
import { checkLeaseTimes, clientOf, fencedKube, Lease, LeaseLostError } from '../../src/reconciler/lease.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeKube(requestTimeoutMs = 100): Kube & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    target: 'https://fake',
    requestTimeoutMs,
    apply: async (obj, { dryRun }) => {
      calls.push(dryRun ? 'dry-run' : 'apply');
      return obj;
    },
    get: async () => {
      calls.push('get');
      return null;
    },
    list: async () => {
      calls.push('list');
      return [];
    },
    delete: async () => {
      calls.push('delete');
      return 'deleted';
    },
  };
}

const obj = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'n' } };

describe('the holder side of a lease', () => {
  it('extends every renewMs while it runs, and not after stop()', async () => {
    let extensions = 0;
    const lease = new Lease({ ttlMs: 600, renewMs: 40 }, async () => {
      extensions++;
      return true;
    });
    lease.claiming();
    lease.claimed();
    lease.start();
    await sleep(800); // longer than the lease: extensions keep it
    expect(extensions).toBeGreaterThanOrEqual(5);
    expect(lease.remainingMs()).toBeGreaterThan(0);
    lease.assertValidFor(0);
    await lease.stop();
    const after = extensions;
    await sleep(150);
    expect(extensions).toBe(after);
  });

  it('an extension that finds the lease gone marks it lost for good: no write, no read', async () => {
    const reasons: string[] = [];
    const lease = new Lease({ ttlMs: 1000, renewMs: 20 }, async () => false, (r) => reasons.push(r));
    lease.claiming();
    lease.claimed();
    lease.start();
    await sleep(100);
    expect(lease.lost).toMatch(/expired or another replica took the deployment over/);
    expect(reasons).toHaveLength(1);
    expect(lease.remainingMs()).toBe(0);
    const kube = fakeKube();
    const fenced = fencedKube(kube, lease);
    await expect(fenced.apply(obj, { dryRun: false })).rejects.toThrow(LeaseLostError);
    await expect(fenced.get({ apiVersion: 'v1', kind: 'Service', name: 's' })).rejects.toThrow(LeaseLostError);
    expect(kube.calls).toEqual([]);
    await lease.stop();
  });

  it('with the database unreachable, Kubernetes writes stop once the lease may not outlast a request', async () => {
    const lease = new Lease({ ttlMs: 1000, renewMs: 50 }, async () => {
      throw new Error('connection refused');
    });
    const kube = fakeKube(600); // requests may take 600 ms
    const fenced = fencedKube(kube, lease);
    lease.claiming();
    lease.claimed();
    lease.start();
    await fenced.apply(obj, { dryRun: false });
    await fenced.delete({ apiVersion: 'v1', kind: 'Service', name: 's' });
    await sleep(500); // a 1 s lease, never extended: < 600 ms left
    expect(lease.lost).toBeNull(); // not known lost: it may still hold
    await expect(fenced.apply(obj, { dryRun: false })).rejects.toThrow(/confirmed for \d+ ms more, less than a Kubernetes request may take \(600 ms\)/);
    await expect(fenced.delete({ apiVersion: 'v1', kind: 'Service', name: 's' })).rejects.toThrow(LeaseLostError);
    // Reads and dry runs change nothing: they go on while the lease may still hold.
    await fenced.apply(obj, { dryRun: true });
    await fenced.get({ apiVersion: 'v1', kind: 'Service', name: 's' });
    expect(kube.calls).toEqual(['apply', 'delete', 'dry-run', 'get']);
    expect(clientOf(fenced)).toBe(kube);
    await lease.stop();
  });

  it('refuses lease times a Kubernetes request does not fit in', () => {
    expect(() => checkLeaseTimes({ ttlMs: 60_000, renewMs: 10_000 }, 30_000)).not.toThrow();
    expect(() => checkLeaseTimes({ ttlMs: 60_000, renewMs: 10_000 }, 45_000)).toThrow(/too short: a Kubernetes request may take 45000 ms/);
    expect(() => checkLeaseTimes({ ttlMs: 1_000, renewMs: 1_000 }, null)).toThrow(/shorter than the lease/);
    expect(() => checkLeaseTimes({ ttlMs: 1_000, renewMs: 200 }, null)).not.toThrow();
  });
});
