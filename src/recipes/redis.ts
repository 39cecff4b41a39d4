import { z } from 'zod';
import { meta, ownerLabels, podAnnotations, prune, quantity, resourceRequirements, resources, selectorLabels, service } from './common.ts';
import type { Recipe, RecipeInput, Rendered } from './types.ts';

export const redisConfig = z.strictObject({
  // A cache: one instance, no persistence. maxmemory keeps it inside its memory limit.
  maxmemory: quantity.optional(),
  maxmemoryPolicy: z.enum(['noeviction', 'allkeys-lru', 'allkeys-lfu', 'volatile-lru', 'volatile-lfu']).default('allkeys-lru'),
  resources,
});

const PORT = 6379;

/** Redis wants 256mb, not Kubernetes' 256Mi. */
function redisBytes(q: string): string {
  const m = /^([0-9]+)(Ki|Mi|Gi|k|M|G)?$/.exec(q);
  if (!m) return q;
  const unit = { Ki: 'kb', Mi: 'mb', Gi: 'gb', k: 'k', M: 'm', G: 'g' }[m[2] ?? ''] ?? '';
  return `${m[1]}${unit}`;
}

function render(input: RecipeInput): Rendered {
  const config = redisConfig.parse(input.config);
  const image = `redis:${input.appVersion}`;
  const args = ['--maxmemory-policy', config.maxmemoryPolicy];
  if (config.maxmemory) args.push('--maxmemory', redisBytes(config.maxmemory));
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(input, input.name),
    spec: {
      replicas: 1,
      selector: { matchLabels: selectorLabels(input) },
      template: {
        metadata: { labels: ownerLabels(input), annotations: podAnnotations(input) },
        spec: {
          containers: [
            {
              name: 'redis',
              image,
              args,
              ports: [{ name: 'redis', containerPort: PORT }],
              envFrom: input.secretsRef ? [{ secretRef: { name: input.secretsRef } }] : undefined,
              readinessProbe: { exec: { command: ['redis-cli', 'ping'] }, periodSeconds: 10 },
              resources: resourceRequirements(config.resources),
            },
          ],
        },
      },
    },
  };
  return {
    namespace: input.tenant,
    objects: prune([service(input, PORT, PORT), deployment]),
    workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: input.name },
    service: { name: input.name, port: PORT },
    image,
  };
}

export const redis: Recipe<typeof redisConfig> = { configSchema: redisConfig, render };
