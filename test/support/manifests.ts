import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as apps from 'kubernetes-models/apps/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as rbac from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as core from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

/**
 * deploy/'s manifests, read as a cluster would: YAML documents (the `yaml` package, which
 * reports duplicate keys and syntax errors as errors), each checked against the official
 * Kubernetes OpenAPI schemas (kubernetes-models: types, required fields, enums, formats) and
 * for fields no schema knows (the API server's strict field validation, kubectl's default,
 * refuses those; read from @kubernetes/client-node's models, generated from the same OpenAPI).
 */

export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, unknown>;

export interface ManifestFile {
  file: string;
  objects: Manifest[];
}

/** Every *.yaml in dir except the kustomization, each document as a plain object. */
export function readManifests(dir: string): ManifestFile[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort()
    .map((file) => {
      const docs = parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'), { uniqueKeys: true, strict: true });
      const objects = docs.map((doc, i) => {
        if (doc.errors.length > 0) throw new Error(`${file} document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
        return doc.toJS() as Manifest;
      });
      return { file, objects: objects.filter((o) => o !== null) };
    });
}

// The API groups deploy/ uses; another kind needs its kubernetes-models module here.
const models: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'rbac.authorization.k8s.io/v1': rbac,
  'networking.k8s.io/v1': networking,
};

/** Schema errors of one object (empty when a cluster would accept it). */
export function schemaErrors(obj: Manifest): string[] {
  const where = `${obj.kind}/${obj.metadata?.name}`;
  const Model = models[obj.apiVersion]?.[obj.kind] as (new (o: unknown) => { validate(): void }) | undefined;
  if (!Model) return [`${where}: no schema for ${obj.apiVersion} ${obj.kind} in test/support/manifests.ts`];
  const errors: string[] = [];
  try {
    new Model(obj).validate();
  } catch (err) {
    const list = (err as { errors?: { instancePath: string; message: string }[] }).errors;
    errors.push(...(list ? list.map((e) => `${where}${e.instancePath}: ${e.message}`) : [`${where}: ${(err as Error).message}`]));
  }
  const version = obj.apiVersion.split('/').pop() as string;
  errors.push(...unknownFields(obj, `${version[0]?.toUpperCase()}${version.slice(1)}${obj.kind}`, where));
  return errors;
}

type AttributeMap = { baseName: string; type: string }[];
const modelOf = (type: string) => (k8s as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap }>)[type]?.getAttributeTypeMap?.();

function unknownFields(value: unknown, type: string, at: string): string[] {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, array[1] as string, `${at}/${i}`)) : [];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return value && typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1] as string, `${at}/${k}`)) : [];
  const attributes = modelOf(type);
  if (!attributes) {
    if (/^V\d/.test(type)) throw new Error(`no @kubernetes/client-node model ${type} (at ${at})`);
    return []; // string, number, boolean, IntOrString, any
  }
  if (!value || typeof value !== 'object') return [];
  const known = new Map(attributes.map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([k, v]) => {
    const t = known.get(k);
    return t === undefined ? [`${at}/${k}: unknown field (strict field validation refuses it)`] : unknownFields(v, t, `${at}/${k}`);
  });
}
