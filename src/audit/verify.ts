import type { Queryable } from '../db/client.ts';

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
