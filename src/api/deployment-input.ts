import type { Context } from 'hono';
import { RecipeError, validateConfig } from '../recipes/index.ts';
import { fingerprintSecrets } from '../secrets.ts';
import type { ApiDeps, AppEnv } from './context.ts';
import { ProblemError } from './problem.ts';

/** The recipe's zod schema decides what config is valid (with its defaults filled in). */
export function checkedConfig(recipe: string, config: unknown): Record<string, unknown> {
  try {
    return validateConfig(recipe, config);
  } catch (err) {
    if (err instanceof RecipeError) throw new ProblemError('invalid-request', err.message, err.issues);
    throw err;
  }
}

/** The Kubernetes Secret holding a deployment's secret values: <name>-secrets in the tenant's namespace. */
export function secretsRefOf(name: string): string {
  return `${name}-secrets`;
}

/** The HMAC fingerprint of secret values; the values themselves go only to the SecretWriter. */
export async function secretFingerprint(deps: ApiDeps, values: Record<string, string>): Promise<string | undefined> {
  return Object.keys(values).length === 0 ? undefined : fingerprintSecrets(await deps.fingerprintKey(), values);
}

/** Fingerprints secret values (HMAC) for the row; the values themselves go only to the SecretWriter. */
export async function secretColumns(deps: ApiDeps, name: string, values: Record<string, string> | undefined) {
  if (!values || Object.keys(values).length === 0) return undefined;
  return { secrets_ref: secretsRefOf(name), secrets_fingerprint: fingerprintSecrets(await deps.fingerprintKey(), values) };
}

/** A tenant key acts in its own tenant; a global key must say which. */
export function tenantFor(c: Context<AppEnv>, requested: string | undefined): string {
  const own = c.get('principal').tenant;
  if (own === null) {
    if (!requested) throw new ProblemError('invalid-request', 'a global key must name the tenant', [{ path: 'tenant', message: 'required for a global key' }]);
    return requested;
  }
  if (requested && requested !== own) throw new ProblemError('forbidden', `this key acts only in tenant ${own}`);
  return own;
}
