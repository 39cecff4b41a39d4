import { postgresql } from './postgresql.ts';
import { redis } from './redis.ts';
import { web } from './web.ts';
import type { Recipe, RecipeInput, Rendered } from './types.ts';

export type { KubeObject, Recipe, RecipeInput, Rendered } from './types.ts';
export { DEPLOYMENT_ID, FIELD_MANAGER, MANAGED_BY } from './common.ts';
export { claimsOf } from './claims.ts';

/**
 * Every app kind shipslog can deploy. The API validates `config` with `configSchema` before
 * storing it; the reconciler renders with `render` (which parses again: the row may have been
 * written by psql).
 */
export const recipes: Record<string, Recipe> = { postgresql, redis, web };

export const recipeNames = Object.keys(recipes) as [string, ...string[]];

export class RecipeError extends Error {
  readonly issues: { path: string; message: string }[];
  constructor(message: string, issues: { path: string; message: string }[] = []) {
    super(message);
    this.name = 'RecipeError';
    this.issues = issues;
  }
}

/** Parses config for a recipe; throws RecipeError naming every bad field. Returns the config with defaults. */
export function validateConfig(recipe: string, config: unknown): Record<string, unknown> {
  const r = recipes[recipe];
  if (!r) throw new RecipeError(`unknown recipe "${recipe}"; known: ${recipeNames.join(', ')}`, [{ path: 'recipe', message: 'unknown recipe' }]);
  const parsed = r.configSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: ['config', ...i.path.map(String)].join('.'), message: i.message }));
    throw new RecipeError(`invalid ${recipe} config: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return parsed.data as Record<string, unknown>;
}

/** Renders a deployment; a bad recipe or config is a RecipeError (the run fails with InvalidConfig). */
export function render(recipe: string, input: RecipeInput): Rendered {
  validateConfig(recipe, input.config);
  return recipes[recipe]!.render(input);
}


