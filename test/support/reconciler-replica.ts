// A reconciler replica in a process of its own, for tests that stall a whole replica
// (SIGSTOP: a long GC pause, a frozen VM) and let it go again (SIGCONT). Started by
// startReplicaProcess(); answers 'describe' with its status and lease metric, 'stop' stops.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { createDb } from '../../src/db/client.ts';
import { createKube, createReconciler, type ReconcilerConfig } from '../../src/reconciler/index.ts';

export interface ReplicaOptions {
  databaseUrl: string;
  kubeUrl: string;
  requestTimeoutMs: number;
  config: ReconcilerConfig;
}

export interface ReplicaState {
  runs: number;
  leasesLost: number;
  lastError: string | null;
}

export interface ReplicaProcess {
  child: ChildProcess;
  describe: () => Promise<ReplicaState>;
  pause: () => void;
  resume: () => void;
  stop: () => Promise<void>;
}

export async function startReplicaProcess(options: ReplicaOptions): Promise<ReplicaProcess> {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  await once(child, 'message');
  const ask = async (): Promise<ReplicaState> => {
    const reply = once(child, 'message');
    child.send('describe');
    return (await reply)[0] as ReplicaState;
  };
  return {
    child,
    describe: ask,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT');
      const exited = once(child, 'exit');
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2]!) as ReplicaOptions;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: options.kubeUrl, skipTLSVerify: true }],
    users: [{ name: 'test', token: 'test-token' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test', namespace: 'default' }],
    currentContext: 'test',
  });
  const concurrency = options.config.concurrency ?? 1;
  const db = createDb(options.databaseUrl, { max: concurrency + 2, applicationName: `shipslog test replica ${options.config.workerId ?? ''}` });
  const reconciler = createReconciler({
    db,
    kube: createKube(kc, { requestTimeoutMs: options.requestTimeoutMs }),
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    config: { ...options.config, concurrency },
  });
  await reconciler.start();
  process.on('message', (m) => {
    if (m === 'describe') {
      const status = reconciler.describe();
      void reconciler.metrics.leasesLost.get().then((metric) => {
        process.send?.({ runs: status.runs, lastError: status.lastError, leasesLost: metric.values[0]?.value ?? 0 } satisfies ReplicaState);
      });
    }
    if (m === 'stop') {
      void reconciler.stop().then(() => db.end({ timeout: 5 })).then(() => process.exit(0));
    }
  });
  process.send?.('ready');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
