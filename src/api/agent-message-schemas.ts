import { z } from '@hono/zod-openapi';
import type { AgentMessage } from '../db/agent-messages.ts';
import { dnsLabel, timestamp } from './schemas.ts';

// Request and response shapes of the agent message routes. Bounds mirror the CHECKs in
// shipslog.agent_messages (schema.sql) so bad input is a 400 naming the field; the table is the second guard.

export const messageId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'must be 1-200 characters: letters, digits, . _ : - (a UUID fits)');
export const modelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/, 'must be a model name such as claude-sonnet-4');

const decimalPattern = /^\d{1,9}(\.\d{1,12})?$/;

/** Exact decimals travel as strings: a JSON number would pass through a float. */
const decimal = z
  .string()
  .regex(decimalPattern, 'must be a decimal string such as "0.0081" (at most 9 integer and 12 fractional digits)')
  .openapi({ example: '0.0081' });
const tokenCount = z.number().int().min(0).max(2_147_483_647);

/** A decimal string as an integer count of 10^-12 units, for an exact total check; null if not one. */
function picos(value: unknown): bigint | null {
  // zod 4 runs an object's refinement even when a field failed: never trust the shape here.
  if (typeof value !== 'string' || !decimalPattern.test(value)) return null;
  const [whole = '0', fraction = ''] = value.split('.');
  return BigInt(whole) * 10n ** 12n + BigInt(fraction.padEnd(12, '0'));
}

export const startBody = z
  .strictObject({
    message_id: messageId,
    project_id: dnsLabel.openapi({ example: 'shop' }),
    model: modelName,
    context_layers: z.number().int().min(0).max(10_000).default(0),
    tenant: dnsLabel.optional().openapi({ description: 'Required for a global key; a tenant key acts in its own tenant' }),
    created_at: timestamp
      .optional()
      .openapi({ description: 'When the model call started (default: now); never in the future' }),
  })
  .openapi('StartAgentMessage');

export const finaliseBody = z
  .strictObject({
    reasoning: z.array(z.string().max(100_000).refine((s) => !s.includes('\u0000'), 'contains a NUL character')).max(1000),
    tokens: z.strictObject({ prompt: tokenCount, completion: tokenCount, total: tokenCount }),
    cost: z.strictObject({ prompt: decimal, completion: decimal, total: decimal }),
  })
  .superRefine((body, ctx) => {
    const t = body.tokens as Partial<Record<string, unknown>> | undefined;
    if (Number.isInteger(t?.prompt) && Number.isInteger(t?.completion) && Number.isInteger(t?.total)
        && t!.total !== (t!.prompt as number) + (t!.completion as number)) {
      ctx.addIssue({ code: 'custom', path: ['tokens', 'total'], message: 'must equal prompt + completion' });
    }
    const c = body.cost as Partial<Record<string, unknown>> | undefined;
    const [prompt, completion, total] = [picos(c?.prompt), picos(c?.completion), picos(c?.total)];
    if (prompt !== null && completion !== null && total !== null && total !== prompt + completion) {
      ctx.addIssue({ code: 'custom', path: ['cost', 'total'], message: 'must equal prompt + completion exactly' });
    }
  })
  .openapi('FinaliseAgentMessage');

const tokensSchema = z.object({ prompt: z.number().int(), completion: z.number().int(), total: z.number().int() });
const costSchema = z.object({ prompt: z.string(), completion: z.string(), total: z.string() });
const attribution = z.object({ actor: z.string(), actor_type: z.string(), request_id: z.string().nullable(), at: z.string() });

export const agentMessageSchema = z
  .object({
    message_id: z.string(),
    tenant: z.string(),
    project_id: z.string(),
    model: z.string(),
    context_layers: z.number().int(),
    status: z.enum(['started', 'finalised']),
    reasoning: z.array(z.string()).nullable(),
    tokens: tokensSchema.nullable(),
    cost: costSchema.nullable().openapi({ description: 'Exact decimals as strings (USD)' }),
    created_at: z.string(),
    recorded_at: z.string(),
    finalised_at: z.string().nullable(),
    created_by: attribution,
    finalised_by: attribution.nullable(),
    deployment_changes: z
      .array(z.object({ deployment_id: z.string(), name: z.string(), action: z.string(), chain_index: z.number().int(), at: z.string() }))
      .optional()
      .openapi({ description: 'Deployment changes made with this message id as X-Correlation-Id' }),
  })
  .openapi('AgentMessage');

export const analyticsQuery = z
  .strictObject({
    from: timestamp.optional().openapi({ description: 'Inclusive; default: 30 days before `to`' }),
    to: timestamp.optional().openapi({ description: 'Exclusive; default: now' }),
    recent: z.coerce.number().int().min(0).max(100).default(10),
  });

const dayEntry = z.object({ day: z.string(), message_count: z.number().int(), total_tokens: z.number().int(), total_cost: z.string() });
export const analyticsSchema = z
  .object({
    project_id: z.string(),
    from: z.string(),
    to: z.string(),
    message_count: z.number().int(),
    finalised_count: z.number().int(),
    tokens: tokensSchema,
    cost: costSchema,
    average_cost_per_message: z.string().nullable(),
    cost_by_day: z.array(dayEntry).openapi({ description: 'Every UTC day of the range, zero when no messages' }),
    cost_by_model: z.array(dayEntry.omit({ day: true }).extend({ model: z.string() })),
    recent_messages: z.array(z.object({ message_id: z.string(), model: z.string() }).catchall(z.unknown())),
  })
  .openapi('AgentAnalytics');

function who(a: Record<string, unknown> | null): z.infer<typeof attribution> | null {
  if (!a) return null;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return { actor: text(a.actor) ?? '', actor_type: text(a.actor_type) ?? '', request_id: text(a.request_id), at: text(a.at) ?? '' };
}

/** The API's view of a message: attribution without database internals (login, client address). */
export function messageJson(m: AgentMessage): z.infer<typeof agentMessageSchema> {
  return {
    message_id: m.messageId,
    tenant: m.tenant,
    project_id: m.projectId,
    model: m.model,
    context_layers: m.contextLayers,
    status: m.finalisedAt ? 'finalised' : 'started',
    reasoning: m.reasoning,
    tokens: m.tokens,
    cost: m.cost,
    created_at: m.createdAt.toISOString(),
    recorded_at: m.recordedAt.toISOString(),
    finalised_at: m.finalisedAt?.toISOString() ?? null,
    created_by: who(m.createdBy)!,
    finalised_by: who(m.finalisedBy),
  };
}
