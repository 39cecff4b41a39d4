import { defineConfig } from 'vitest/config';

// The real-cluster suite (`npm run test:k8s`): KUBECONFIG's cluster, else a K3s container
// when a container runtime is available, else every test skips and the setup says why.
export default defineConfig({
  test: {
    include: ['test/k8s/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts', 'test/k8s/cluster-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    passWithNoTests: true,
  },
});
