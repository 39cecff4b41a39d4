import type { KubeObject, RecipeInput } from './types.ts';
import { z } from 'zod';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const DEPLOYMENT_ID = 'shipslog.io/deployment-id';
export const FIELD_MANAGER = 'shipslog';

/** Kubernetes resource quantity, e.g. 8Gi, 512Mi, 500m (the API server's own grammar, simplified). */
export const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/, 'must be a Kubernetes quantity such as 8Gi or 500m');

export const resources = z
  .strictObject({ cpu: quantity.optional(), memory: quantity.optional() })
  .optional();

/** One namespace per tenant: names are unique per tenant (deployments_tenant_name_key). */
export function namespaceOf(input: RecipeInput): string {
  return input.tenant;
}

/** Ownership labels: checked before every delete, so we never delete what we did not create. */
export function ownerLabels(input: RecipeInput): Record<string, string> {
  return {
    [MANAGED_BY]: 'shipslog',
    [DEPLOYMENT_ID]: input.id,
    'app.kubernetes.io/name': input.name,
    'app.kubernetes.io/instance': `${input.name}-${input.environment}`,
  };
}

/** Selector labels are immutable on a StatefulSet/Deployment, so only identity goes in. */
export function selectorLabels(input: RecipeInput): Record<string, string> {
  return { [DEPLOYMENT_ID]: input.id };
}

export function meta(input: RecipeInput, name: string): KubeObject['metadata'] {
  return { name, namespace: namespaceOf(input), labels: ownerLabels(input) };
}

/**
 * A changed restartedAt changes the pod template, which is how `kubectl rollout restart` works
 * too. So does a rotated secret: env from a Secret is read only when a container starts.
 */
export function podAnnotations(input: RecipeInput): Record<string, string> {
  const annotations: Record<string, string> = {};
  if (input.restartedAt) annotations['shipslog.io/restarted-at'] = input.restartedAt;
  if (input.secretsRef && input.secretsFingerprint) annotations['shipslog.io/secrets-fingerprint'] = input.secretsFingerprint.replace(/^hmac-sha256:/, '').slice(0, 16);
  return annotations;
}

export function service(input: RecipeInput, port: number, targetPort: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(input, input.name),
    spec: {
      selector: selectorLabels(input),
      ports: [{ name: 'main', port, targetPort, protocol: 'TCP' }],
    },
  };
}

export function resourceRequirements(r: { cpu?: string | undefined; memory?: string | undefined } | undefined) {
  if (!r || (!r.cpu && !r.memory)) return undefined;
  const requests: Record<string, string> = {};
  if (r.cpu) requests.cpu = r.cpu;
  if (r.memory) requests.memory = r.memory;
  return { requests, limits: r.memory ? { memory: r.memory } : undefined };
}

/** Removes undefined values so what goes over the wire is exactly what we mean to own. */
export function prune<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
