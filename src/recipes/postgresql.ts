import { z } from 'zod';
import { meta, ownerLabels, podAnnotations, prune, quantity, resourceRequirements, resources, selectorLabels, service } from './common.ts';
import type { Recipe, RecipeInput, Rendered } from './types.ts';

export const postgresqlConfig = z.strictObject({
  storage: quantity.default('8Gi'),
  // One primary; replication is not part of this recipe, so more than 1 would be 3 separate databases.
  replicas: z.literal(1).default(1),
  storageClassName: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).max(253).optional(),
  resources,
  database: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase PostgreSQL identifier').optional(),
  // Server settings, passed as `postgres -c name=value` (e.g. { shared_buffers: '256MB' }).
  tuning: z
    .record(z.string().regex(/^[a-z][a-z0-9_.]{0,62}$/, 'must be a PostgreSQL setting name'), z.union([z.string().max(1024), z.number(), z.boolean()]))
    .optional(),
});

const PORT = 5432;

function render(input: RecipeInput): Rendered {
  const config = postgresqlConfig.parse(input.config);
  const image = `postgres:${input.appVersion}`;
  const env: Record<string, unknown>[] = [{ name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' }];
  if (config.database) env.push({ name: 'POSTGRES_DB', value: config.database });
  const statefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(input, input.name),
    spec: {
      serviceName: input.name,
      replicas: config.replicas,
      selector: { matchLabels: selectorLabels(input) },
      template: {
        metadata: { labels: ownerLabels(input), annotations: podAnnotations(input) },
        spec: {
          containers: [
            {
              name: 'postgresql',
              image,
              args: config.tuning
                ? Object.entries(config.tuning)
                    .sort(([a], [b]) => a.localeCompare(b))
                    .flatMap(([name, value]) => ['-c', `${name}=${String(value)}`])
                : undefined,
              ports: [{ name: 'postgresql', containerPort: PORT }],
              env,
              // The Secret (secrets_ref) holds POSTGRES_PASSWORD; its values never reach PostgreSQL.
              envFrom: input.secretsRef ? [{ secretRef: { name: input.secretsRef } }] : undefined,
              readinessProbe: { exec: { command: ['pg_isready', '-U', 'postgres'] }, periodSeconds: 10 },
              volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
              resources: resourceRequirements(config.resources),
            },
          ],
        },
      },
      // The controller creates data-<name>-<ordinal>; the labels make those PVCs ours to delete.
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: ownerLabels(input) },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: config.storageClassName,
            resources: { requests: { storage: config.storage } },
          },
        },
      ],
    },
  };
  return {
    namespace: input.tenant,
    objects: prune([service(input, PORT, PORT), statefulSet]),
    workload: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: input.name },
    service: { name: input.name, port: PORT },
    image,
  };
}

export const postgresql: Recipe<typeof postgresqlConfig> = { configSchema: postgresqlConfig, render };
