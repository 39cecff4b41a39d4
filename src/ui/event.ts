import type { Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import { requireScope } from '../api/auth.ts';
import type { ApiDeps, AppEnv } from '../api/context.ts';
import { ProblemError } from '../api/problem.ts';
import { uuid } from '../api/schemas.ts';
import { inTenantTx } from '../api/tx.ts';
import { deploymentHistory, type RawEvent } from '../db/events.ts';
import { exactTime, page } from './html.ts';
import { parseParams } from './params.ts';

/**
 * /ui/deployments/:id/events/:index: one stored event as hashed (shipslog.event_payload) with
 * its hash and the previous event's, the link of the chain. The audit scope, as for the
 * API's ?format=raw.
 */

const eventParams = z.object({ id: uuid, index: z.string().regex(/^\d{1,10}$/).transform(Number) });

export function registerEventPage(ui: Hono<AppEnv>, deps: ApiDeps): void {
  ui.get('/deployments/:id/events/:index', async (c) => {
    const principal = c.get('principal');
    const { id, index } = parseParams(c, eventParams);
    requireScope(principal, 'audit');
    // This event and the one before it: newest first from index + 1.
    const [event, previous] = await inTenantTx(c, deps, async (tx) =>
      (await deploymentHistory(tx, { deploymentId: id, before: index + 1, limit: 2 }, 'raw')) as RawEvent[],
      { readOnly: true },
    );
    if (!event || event.chain_index !== index) throw new ProblemError('not-found', `deployment ${id} has no event #${index}`);
    const name = String(event.name);
    const tenant = String(event.tenant);
    const timeline = `/ui/deployments/${id}`;
    const { hash, ...payload } = event;
    return c.html(
      page({
        title: `${name} · event #${index}`,
        principal,
        crumbs: [['Deployments', '/ui/deployments'], [tenant, null], [name, timeline], [`event #${index}`, null]],
        body: html`<div class="title-line"><h1>Event #${index}</h1><span class="tenant">${String(event.action)} · ${exactTime(String(event.occurred_at))}</span></div>
<dl class="facts card">
  <div><dt>Hash</dt><dd class="mono hash">${hash}</dd></div>
  <div><dt>Previous event's hash</dt><dd class="mono">${previous ? html`<a href="${timeline}/events/${previous.chain_index}">#${previous.chain_index}</a> ${previous.hash}` : 'none: the chain starts here'}</dd></div>
</dl>
<p class="muted">hash = SHA-256(previous event's hash || the UTF-8 bytes of this payload as PostgreSQL's jsonb text); <code>shipslog verify</code> checks every chain.
Below, the payload as stored (shipslog.event_payload), indented for reading.</p>
<pre class="json">${JSON.stringify(payload, null, 2)}</pre>
<p><a href="${timeline}#event-${index}">← Back to the timeline</a></p>`,
      }),
    );
  });
}
