import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of a kubeconfig for the suite's cluster, or '' when there is none. */
    k8sKubeconfig: string;
    k8sSkipReason: string;
  }
}

const K3S_IMAGE = process.env.SHIPSLOG_K3S_IMAGE ?? 'rancher/k3s:v1.31.4-k3s1';
let stopContainer: (() => Promise<void>) | undefined;
let dir: string | undefined;

/** Finds a cluster: KUBECONFIG, else K3s in a container, else none (with the reason). */
export async function setup(project: TestProject): Promise<void> {
  let kubeconfig = '';
  let reason = '';
  if (process.env.KUBECONFIG) {
    kubeconfig = process.env.KUBECONFIG;
    console.log(`[test:k8s] using the cluster of KUBECONFIG=${kubeconfig}`);
  } else {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
    } catch (err) {
      reason = `no KUBECONFIG and no container runtime for @testcontainers/k3s (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
    }
    if (!reason) {
      const { K3sContainer } = await import('@testcontainers/k3s');
      console.log(`[test:k8s] starting ${K3S_IMAGE} with testcontainers`);
      const k3s = await new K3sContainer(K3S_IMAGE).start();
      stopContainer = async () => {
        await k3s.stop();
      };
      dir = await mkdtemp(path.join(tmpdir(), 'shipslog-k3s-'));
      kubeconfig = path.join(dir, 'kubeconfig');
      await writeFile(kubeconfig, k3s.getKubeConfig(), { mode: 0o600 });
    }
  }
  if (reason) {
    console.warn(`\n[test:k8s] SKIPPED: ${reason}.\n[test:k8s] Set KUBECONFIG to a disposable cluster, or run where Docker/Podman is available.\n`);
  }
  project.provide('k8sKubeconfig', kubeconfig);
  project.provide('k8sSkipReason', reason);
}

export async function teardown(): Promise<void> {
  await stopContainer?.();
  if (dir) await rm(dir, { recursive: true, force: true });
}
