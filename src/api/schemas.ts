import { z } from '@hono/zod-openapi';
import { deploymentStatuses, healthStates } from '../db/deployments.ts';
import { eventActions, eventCategories, eventSeverities } from '../db/events.ts';

// Shared zod schemas. Bounds mirror the CHECK constraints of shipslog.deployments (schema.sql) so a bad value
// is a 400 naming the field, with the table's constraint as the second guard.

const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const dnsLabel = z.string().max(63).regex(dnsLabelPattern, 'must be a DNS label: lowercase letters, digits and -, at most 63');
export const deploymentName = dnsLabel.max(53, 'at most 53 characters (room for suffixes of Kubernetes objects)');
export const recipeName = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a recipe name such as postgresql');
export const appVersion = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/, 'must be a version or image tag such as 16.4');
export const reason = z.string().max(1000).refine(noControl, 'must not contain control characters');
export const uuid = z.uuid();

// What PostgreSQL's timestamptz and JavaScript's Date both hold and print back alike: years
// 1 to 9999 in UTC. An offset can carry a valid-looking time past either end
// (0001-01-01T00:00:00+14:00 is year 0 in UTC), and year 0 is no date to PostgreSQL: both
// answered 500 (22008) before this check (issue 9).
const earliest = Date.parse('0001-01-01T00:00:00Z');
const latest = Date.parse('9999-12-31T23:59:59.999Z');
const rangeMessage = 'must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z (in UTC)';

/** An ISO 8601 instant with an offset (Z or ±hh:mm), in the range both sides can store. */
export const timestamp = z.iso
  .datetime({ offset: true })
  .refine((s) => {
    // zod runs this after a failed format check too: a string that is no date is that check's issue.
    const t = Date.parse(s);
    return Number.isNaN(t) || (t >= earliest && t <= latest);
  }, rangeMessage);

/** Limits for free-form JSON (config): 64 KiB as in the table, nesting 16 deep, 2,000 values. */
export const jsonLimits = { bytes: 65536, depth: 16, nodes: 2000, keyLength: 200 };

/**
 * Keys a JavaScript object cannot hold as plain data: assigned to a fresh object (as zod's
 * record does), __proto__ sets the prototype and the entry is gone. Refused, never dropped
 * (issue 9); hostile-input.ts refuses them in every body first, this is the second guard.
 */
const prototypeKeys = new Set(['__proto__', 'constructor', 'prototype']);
const dataKey = (k: string) => !prototypeKeys.has(k);
const dataKeyMessage = 'must not be __proto__, constructor or prototype';

/** A bounded JSON object; `allowNull` for merge patches, where null removes a key. */
export function boundedObject(allowNull: boolean) {
  return z
    .record(z.string().refine(dataKey, dataKeyMessage), z.unknown())
    .superRefine((value, ctx) => {
      const problem = checkJson(value, allowNull);
      if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
    })
    .openapi({ type: 'object', additionalProperties: true });
}

function checkJson(root: unknown, allowNull: boolean): { message: string; path: string[] } | null {
  // Depth and size by the walk first: JSON.stringify recurses, and 10,000 levels overflowed
  // its stack (500) before the depth check ran (issue 9).
  const found = walkJson(root, allowNull);
  if (found) return found;
  if (Buffer.byteLength(JSON.stringify(root)) > jsonLimits.bytes) return { message: `larger than ${jsonLimits.bytes} bytes`, path: [] };
  return null;
}

function walkJson(root: unknown, allowNull: boolean): { message: string; path: string[] } | null {
  let nodes = 0;
  const walk = (v: unknown, path: string[], depth: number): { message: string; path: string[] } | null => {
    if (++nodes > jsonLimits.nodes) return { message: `more than ${jsonLimits.nodes} values`, path };
    if (depth > jsonLimits.depth) return { message: `nested deeper than ${jsonLimits.depth}`, path };
    if (v === null) return allowNull ? null : { message: 'null is not allowed here', path };
    if (typeof v === 'string') return noNul(v) ? null : { message: 'contains a NUL character', path };
    if (typeof v === 'number') return Number.isFinite(v) ? null : { message: 'not a finite number', path };
    if (typeof v === 'boolean') return null;
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) {
        // Inside arrays null is a value, not a removal.
        const p = walk(item === null ? 0 : item, [...path, String(i)], depth + 1);
        if (p) return p;
      }
      return null;
    }
    if (typeof v === 'object') {
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
        if (k.length === 0 || k.length > jsonLimits.keyLength || !noNul(k)) {
          return { message: `keys must be 1-${jsonLimits.keyLength} characters without NUL`, path: [...path, k.slice(0, 40)] };
        }
        if (!dataKey(k)) return { message: `key ${dataKeyMessage}`, path: [...path, k] };
        const p = walk(item, [...path, k], depth + 1);
        if (p) return p;
      }
      return null;
    }
    return { message: 'not a JSON value', path };
  };
  return walk(root, [], 0);
}

function noNul(s: string): boolean {
  return !s.includes('\u0000');
}

function noControl(s: string): boolean {
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s);
}

/** Secret values by key (Kubernetes Secret data keys); 32 keys, 16 KiB each. Never stored. */
export const secrets = z
  .record(
    z.string().regex(/^[-._a-zA-Z0-9]{1,253}$/, 'must be a Secret key: letters, digits, - . _').refine(dataKey, dataKeyMessage),
    z.string().max(16384).refine(noNul, 'contains a NUL character'),
  )
  .refine((s) => Object.keys(s).length <= 32, 'at most 32 secret keys')
  .openapi({ description: 'Secret values; written to a Kubernetes Secret, never stored in PostgreSQL (only a fingerprint).' });

// shipslog.is_resource_list (sql/common/20_helpers.sql): exactly these keys, apiVersion optional.
const inventoryItemSchema = z
  .object({ apiVersion: z.string().optional(), kind: z.string(), name: z.string(), namespace: z.string().nullable() })
  .openapi('ManagedResource');

export const deploymentSchema = z
  .object({
    id: z.uuid(),
    tenant: z.string(),
    name: z.string(),
    environment: z.string(),
    recipe: z.string(),
    app_version: z.string(),
    config: z.record(z.string(), z.unknown()),
    secrets_ref: z.string().nullable(),
    secrets_fingerprint: z.string().nullable(),
    status: z.enum(deploymentStatuses),
    status_message: z.string().nullable(),
    health: z.enum(healthStates),
    health_message: z.string().nullable(),
    url: z.string().nullable(),
    local_port: z.number().int().nullable(),
    service_port: z.number().int().nullable(),
    service_name: z.string().nullable(),
    depends_on: z.array(z.string()),
    managed_resources: z.array(inventoryItemSchema).openapi({ description: 'The Kubernetes objects the reconciler manages for it' }),
    generation: z.number().int(),
    observed_generation: z.number().int(),
    restarted_at: z.string().nullable(),
    deletion_requested_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    version: z.number().int().openapi({ description: 'Optimistic concurrency version; the ETag is "<version>"' }),
  })
  .openapi('Deployment');

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    hint: z.string().optional(),
    requestId: z.string().optional(),
  })
  .openapi('Problem');

const problemContent = { 'application/problem+json': { schema: problemSchema } };

/** Standard error responses for a route (problem+json). */
export function problems(...statuses: number[]) {
  const out: Record<number, { description: string; content: typeof problemContent }> = {};
  for (const s of [400, 401, ...statuses]) out[s] = { description: 'problem', content: problemContent };
  return out;
}

export const idParam = z.object({ id: uuid.openapi({ param: { name: 'id', in: 'path' } }) });

export const idempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, '1-200 printable ASCII characters')
    .optional()
    .openapi({ description: 'Retrying with the same key returns the first answer and writes nothing new' }),
});

export const ifMatchHeader = z.object({
  'if-match': z
    .string()
    .regex(/^(W\/)?"?\d{1,18}"?$/, 'an ETag such as "3"')
    .optional()
    .openapi({ description: 'The ETag (version) you read; 412 when the deployment changed since' }),
});

export function parseIfMatch(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value.replace(/^W\//, '').replaceAll('"', ''));
}


/** `action=upgraded,config_changed`: one or more actions, comma-separated. */
export const actionList = z
  .string()
  .max(400)
  .transform((s, ctx) => {
    const list = s.split(',').map((a) => a.trim());
    for (const a of list) {
      if (!(eventActions as readonly string[]).includes(a)) {
        ctx.addIssue({ code: 'custom', message: `unknown action "${a.slice(0, 40)}"; one of ${eventActions.join(', ')}` });
        return z.NEVER;
      }
    }
    return list;
  })
  .openapi({ type: 'string', example: 'upgraded,config_changed' });

/** `category=approval_workflow,compliance_gate`: one or more event categories. */
export const categoryList = z
  .string()
  .max(400)
  .transform((s, ctx) => {
    const list = s.split(',').map((a) => a.trim());
    for (const a of list) {
      if (!(eventCategories as readonly string[]).includes(a)) {
        ctx.addIssue({ code: 'custom', message: `unknown category "${a.slice(0, 40)}"; one of ${eventCategories.join(', ')}` });
        return z.NEVER;
      }
    }
    return list;
  })
  .openapi({ type: 'string', example: 'approval_workflow,compliance_gate' });

export const minSeverity = z.enum(eventSeverities).openapi({ description: 'events of this severity or worse (info < warning < error < critical)' });

export const historyEntrySchema = z
  .object({
    seq: z.number().int(),
    deployment_id: z.uuid(),
    chain_index: z.number().int(),
    tenant: z.string(),
    name: z.string(),
    action: z.enum(eventActions),
    at: z.string().openapi({ description: 'ISO 8601, UTC' }),
    when: z.string().openapi({ example: '3 hours ago' }),
    actor: z.string(),
    actor_type: z.string(),
    reason: z.string().nullable(),
    summary: z.string().openapi({ example: 'storage: 8Gi -> 16Gi' }),
    changes: z.array(z.string()).openapi({ example: ['storage: 8Gi -> 16Gi'] }),
    correlation_id: z.string().nullable(),
    request_id: z.string().nullable(),
    category: z.enum(eventCategories).openapi({ description: 'derived from the action (docs/compliance.md)' }),
    severity: z.enum(eventSeverities),
    details: z.record(z.string(), z.unknown()).nullable()
      .openapi({ description: 'what an event that is not a row change carries (gate, evidence_url, approval_id, run_id, generation, parent_seq, ...); null for row changes' }),
    agent_message: z
      .object({
        message_id: z.string(),
        model: z.string(),
        tokens: z.object({ prompt: z.number().int(), completion: z.number().int(), total: z.number().int() }).nullable(),
        cost: z.object({ prompt: z.string(), completion: z.string(), total: z.string() }).nullable(),
      })
      .nullable()
      .optional()
      .openapi({ description: 'The agent message whose id the change carried as X-Correlation-Id (issue 5)' }),
  })
  .openapi('HistoryEntry');

export const rawEventSchema = z
  .object({ seq: z.number().int(), chain_index: z.number().int(), hash: z.string() })
  .catchall(z.unknown())
  .openapi('RawEvent', { description: 'shipslog.event_payload(e) plus hash: SHA-256(previous hash || payload text)' });
