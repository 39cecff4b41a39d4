import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readManifests, schemaErrors, type Manifest } from '../support/manifests.ts';
import { parseDockerfile } from '../support/image.ts';

// deploy/: what a cluster accepts (official schemas, no unknown field), and what running
// shipslog there needs: least privilege in the pod, migrations before serving, secrets from
// Secrets, probes, a NetworkPolicy, an image with a registry and a tag.
const repo = path.resolve(import.meta.dirname, '../..');
const deployDir = path.join(repo, 'deploy');
const files = readManifests(deployDir);
const all = files.flatMap((f) => f.objects);
const one = <T = Manifest>(kind: string): T => {
  const found = all.filter((o) => o.kind === kind);
  expect(found.map((o) => o.metadata.name), `exactly one ${kind}`).toHaveLength(1);
  return found[0] as T;
};

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  ports?: { name?: string; containerPort: number }[];
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean; runAsUser?: number; capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; seccompProfile?: { type: string } };
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; emptyDir?: object }[];
}
type Workload = Manifest & { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };

const deployment = one<Workload>('Deployment');
const pod = deployment.spec.template.spec;
const containers = [...(pod.initContainers ?? []), ...pod.containers];
const envOf = (c: Container | undefined) => new Map((c?.env ?? []).map((e) => [e.name, e]));

describe('deploy/: Kubernetes manifests', () => {
  it('every object validates against the official Kubernetes schemas, with no field they do not know', () => {
    expect(files.map((f) => f.file)).toEqual(['shipslog.yaml']);
    expect(all.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Namespace', 'NetworkPolicy', 'Service', 'ServiceAccount']);
    expect(all.flatMap(schemaErrors)).toEqual([]);
  });

  it('the schema check refuses what a cluster refuses (a string user, an unknown field, a missing selector)', () => {
    const broken = structuredClone(deployment) as Workload & { spec: Record<string, unknown> };
    (broken.spec.template.spec.securityContext as Record<string, unknown>).runAsUser = 'node';
    (broken.spec.template.spec.containers[0] as unknown as Record<string, unknown>).readinesProbe = {};
    delete (broken.spec as Record<string, unknown>).selector;
    const errors = schemaErrors(broken).join('\n');
    expect(errors).toContain('/spec/template/spec/securityContext/runAsUser: must be integer');
    expect(errors).toContain('Deployment/shipslog/spec: must have required property selector');
    expect(errors).toContain('/spec/template/spec/containers/0/readinesProbe: unknown field');
  });

  it('runs as the image\'s numeric user, non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp; the namespace enforces "restricted"', () => {
    const user = parseDockerfile(readFileSync(path.join(repo, 'Dockerfile'), 'utf8')).filter((i) => i.op === 'USER').pop()?.args;
    expect(user).toBe('1000:1000');
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of containers) {
      expect([c.name, c.securityContext]).toEqual([c.name, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }]);
      // Where something may write: /tmp, an emptyDir.
      expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    }
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    expect(one('Namespace').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(deployment.metadata.namespace).toBe(one('Namespace').metadata.name);
  });

  it('migrates in an init container as the owner; the server holds only the runtime logins; URLs and keys come from Secrets', () => {
    const [migrate] = pod.initContainers ?? [];
    expect(migrate?.command).toEqual(['node', 'bin/shipslog.js', 'migrate']);
    const server = pod.containers.find((c) => c.name === 'shipslog');
    expect(server?.command).toEqual(['node', 'bin/shipslog.js', 'serve']);
    const m = envOf(migrate);
    const s = envOf(server);
    expect([...m.keys()].sort()).toEqual(['DATABASE_URL', 'SHIPSLOG_APP_DATABASE_URL', 'SHIPSLOG_BOOTSTRAP_ADMIN_KEY', 'SHIPSLOG_RECONCILER_DATABASE_URL']);
    expect(s.has('DATABASE_URL')).toBe(false);
    expect(s.has('SHIPSLOG_BOOTSTRAP_ADMIN_KEY')).toBe(false);
    for (const name of ['SHIPSLOG_APP_DATABASE_URL', 'SHIPSLOG_RECONCILER_DATABASE_URL', 'SHIPSLOG_FINGERPRINT_KEY']) expect(s.has(name), name).toBe(true);
    // Every URL, password and key is a secretKeyRef, never a literal; only the bootstrap key may be absent.
    for (const c of containers) {
      for (const e of c.env ?? []) {
        if (/URL|KEY|PASSWORD/.test(e.name)) {
          expect([c.name, e.name, e.value, e.valueFrom?.secretKeyRef?.name]).toEqual([c.name, e.name, undefined, 'shipslog']);
          expect([e.name, e.valueFrom?.secretKeyRef?.optional ?? false]).toEqual([e.name, e.name === 'SHIPSLOG_BOOTSTRAP_ADMIN_KEY']);
        }
      }
    }
    expect(JSON.stringify(all)).not.toMatch(/postgres(ql)?:\/\//);
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the port the server listens on, which the Service and the NetworkPolicy open', () => {
    const server = pod.containers.find((c) => c.name === 'shipslog') as Container;
    const port = server.ports?.find((p) => p.name === 'http');
    expect(port?.containerPort).toBe(Number(envOf(server).get('PORT')?.value ?? 8080));
    expect(server.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(server.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    const service = one<Manifest & { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }>('Service');
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    expect(service.spec.ports.map((p) => p.targetPort)).toEqual(['http']);
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);

    const policy = one<Manifest & { spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: { ports: { port: number }[] }[]; egress: { ports: { port: number; protocol: string }[] }[] } }>('NetworkPolicy');
    expect(policy.metadata.namespace).toBe(deployment.metadata.namespace);
    expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress.flatMap((r) => r.ports.map((p) => p.port))).toEqual([port?.containerPort]);
    const egress = policy.spec.egress.flatMap((r) => r.ports.map((p) => `${p.protocol}/${p.port}`)).sort();
    expect(egress).toEqual(['TCP/443', 'TCP/53', 'TCP/5432', 'TCP/6443', 'UDP/53']); // DNS, PostgreSQL, the API server
  });

  it('the reconciler\'s service account is bound to the ClusterRole; images name a registry and a tag, and kustomize can replace them', () => {
    const binding = one<Manifest & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] }>('ClusterRoleBinding');
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: one('ClusterRole').metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: deployment.metadata.namespace }]);
    expect(one('ServiceAccount').metadata).toMatchObject({ name: pod.serviceAccountName, namespace: deployment.metadata.namespace });

    const images = new Set(containers.map((c) => c.image));
    expect(images.size).toBe(1);
    const [image] = [...images] as [string];
    const m = /^(?<registry>[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?)\/(?<repo>[a-z0-9._/-]+):(?<tag>[\w][\w.-]{0,127})$/.exec(image);
    expect(m?.groups, image).toBeDefined();
    expect(m?.groups?.tag).not.toBe('latest');
    const kustomization = parse(readFileSync(path.join(deployDir, 'kustomization.yaml'), 'utf8')) as { resources: string[]; images: { name: string; newName: string; newTag: string }[] };
    expect(kustomization.resources).toEqual(files.map((f) => f.file));
    expect(kustomization.images).toEqual([{ name: image.split(':')[0], newName: image.split(':')[0], newTag: m?.groups?.tag }]);
    const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string };
    expect(m?.groups?.tag).toBe(pkg.version);
  });

  it('deploy/README.md\'s one-off `kubectl run` pod for `keys create` is a valid Pod that meets the namespace\'s "restricted" policy', () => {
    const readme = readFileSync(path.join(deployDir, 'README.md'), 'utf8');
    const overrides = /--overrides='([\s\S]*?)'\n/.exec(readme)?.[1];
    expect(overrides).toBeDefined();
    const image = pod.containers[0]?.image as string;
    const spec = JSON.parse((overrides as string).replace(`'"$IMAGE"'`, image)) as { spec: PodSpec };
    expect(schemaErrors({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shipslog-keys', namespace: 'shipslog' }, ...spec })).toEqual([]);
    const [c] = spec.spec.containers;
    expect(c?.command?.slice(0, 4)).toEqual(['node', 'bin/shipslog.js', 'keys', 'create']);
    expect(c?.env).toEqual([{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'shipslog', key: 'database-url' } } }]);
    expect(c?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
  });
});
