import type { z } from 'zod';

/** A Kubernetes object as plain JSON: never passed through the client's generated models. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** What a recipe needs of a deployment row; nothing secret (only the Secret's name). */
export interface RecipeInput {
  id: string;
  tenant: string;
  name: string;
  environment: string;
  appVersion: string;
  config: unknown;
  secretsRef: string | null;
  /** The keyed fingerprint of the Secret's values: a rotation changes it and so rolls the pods. */
  secretsFingerprint?: string | null;
  restartedAt: string | null;
}

export interface Rendered {
  namespace: string;
  /** In apply order: what a workload references comes first. */
  objects: KubeObject[];
  /** The object whose rollout decides health. */
  workload: { apiVersion: string; kind: 'StatefulSet' | 'Deployment'; name: string };
  service: { name: string; port: number };
  image: string;
}

export interface Recipe<S extends z.ZodType = z.ZodType> {
  /** Validates `config` before it is stored (API) and before it is rendered (reconciler). */
  configSchema: S;
  render: (input: RecipeInput) => Rendered;
}
