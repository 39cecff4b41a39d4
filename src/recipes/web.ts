import { z } from 'zod';
import { meta, ownerLabels, podAnnotations, prune, resourceRequirements, resources, selectorLabels, service } from './common.ts';
import type { Recipe, RecipeInput, Rendered } from './types.ts';

export const webConfig = z.strictObject({
  // Repository without a tag: the tag is the deployment's app_version, so upgrades are audited.
  image: z
    .string()
    .max(255)
    .regex(/^[a-z0-9]+([._\/-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/, 'must be an image repository without a tag, e.g. ghcr.io/acme/shop'),
  port: z.int().min(1).max(65535).default(8080),
  servicePort: z.int().min(1).max(65535).default(80),
  replicas: z.int().min(1).max(50).default(1),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string().max(4096))
    .default({}),
  healthPath: z.string().regex(/^\//, 'must start with /').max(255).optional(),
  resources,
});

function render(input: RecipeInput): Rendered {
  const config = webConfig.parse(input.config);
  const image = `${config.image}:${input.appVersion}`;
  const probe = config.healthPath ? { httpGet: { path: config.healthPath, port: config.port }, periodSeconds: 10 } : undefined;
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(input, input.name),
    spec: {
      replicas: config.replicas,
      selector: { matchLabels: selectorLabels(input) },
      template: {
        metadata: { labels: ownerLabels(input), annotations: podAnnotations(input) },
        spec: {
          containers: [
            {
              name: 'web',
              image,
              ports: [{ name: 'http', containerPort: config.port }],
              env: Object.entries(config.env)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([name, value]) => ({ name, value })),
              envFrom: input.secretsRef ? [{ secretRef: { name: input.secretsRef } }] : undefined,
              readinessProbe: probe,
              resources: resourceRequirements(config.resources),
            },
          ],
        },
      },
    },
  };
  return {
    namespace: input.tenant,
    objects: prune([service(input, config.servicePort, config.port), deployment]),
    workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: input.name },
    service: { name: input.name, port: config.servicePort },
    image,
  };
}

export const web: Recipe<typeof webConfig> = { configSchema: webConfig, render };
