import type { Db, Queryable } from '../db/client.ts';

export interface ChainFinding {
  deploymentId: string;
  tenant: string;
  name: string;
  chainIndex: number;
  problem: string;
}

/** The first broken link of each deployment's audit chain (empty when every chain holds). */
export async function verifyChains(db: Queryable, deploymentId?: string): Promise<ChainFinding[]> {
  const rows = await db<ChainFinding[]>`
    select
      deployment_id as "deploymentId",
      tenant,
      name,
      chain_index as "chainIndex",
      problem
    from shipslog.verify_chains(${deploymentId ?? null}::uuid)
    order by tenant, name, deployment_id
  `;
  return [...rows];
}

export async function countChains(db: Queryable): Promise<{ chains: number; events: number }> {
  const [row] = await db<{ chains: number; events: number }[]>`
    select count(distinct deployment_id)::int as chains, count(*)::int as events
    from shipslog.deployment_events
  `;
  return row ?? { chains: 0, events: 0 };
}

/**
 * Records each finding as a security_violation event on the chain it concerns (as the owner:
 * `shipslog verify --record`), so the trail itself says when verification found what. A chain
 * whose deployment row is gone cannot take events: those findings are returned as not recorded.
 */
export async function recordFindings(db: Db, findings: ChainFinding[]): Promise<{ recorded: number; notRecorded: ChainFinding[] }> {
  let recorded = 0;
  const notRecorded: ChainFinding[] = [];
  for (const f of findings) {
    const [row] = await db<{ exists: boolean }[]>`select exists (select from shipslog.deployments where id = ${f.deploymentId}) as exists`;
    if (!row?.exists) {
      notRecorded.push(f);
      continue;
    }
    await db.begin(async (tx) => {
      await tx`select set_config('shipslog.actor', 'shipslog verify', true), set_config('shipslog.actor_type', 'system', true)`;
      await tx`select shipslog.record_security_violation(${f.deploymentId}, ${tx.json({ finding: f.problem, chain_index: f.chainIndex, source: 'verify' })})`;
    });
    recorded++;
  }
  return { recorded, notRecorded };
}
