/**
 * The API versions the project knows, one row each: where the published spec is vendored, which
 * fix-ups make it the served document, and where the generated files go. Adding a release is
 * adding a row (docs/contributing.md, "After a spec bump").
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import swagger2openapi from 'swagger2openapi';
import type { FixUp, Json } from './fix-ups/fix-up.js';
import { fixUps as v4FixUps } from './fix-ups/v4.js';
import { fixUps as v5FixUps } from './fix-ups/v5.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ApiVersion {
  /** Directory name under openapi/ and generated/, and the base path's last segment. */
  name: string;
  /** The published file in openapi/<name>/, Swagger 2.0 (.json) or OpenAPI 3.x (.json, .yaml). */
  specFile: string;
  fixUps: FixUp[];
  /**
   * oasdiff compares allOf compositions member by member unless they are merged first; TMF v5
   * builds every resource from allOf chains (Entity, Extensible, ...), so its diffs need
   * --flatten-allof to talk about properties, not about allOf member counts.
   */
  flattenAllOf: boolean;
}

export const apiVersions: ApiVersion[] = [
  { name: 'v4', specFile: 'TMF663-ShoppingCart-v4.0.0.swagger.json', fixUps: v4FixUps, flattenAllOf: false },
  { name: 'v5', specFile: 'TMF663-Shopping_Cart-v5.0.0.oas.yaml', fixUps: v5FixUps, flattenAllOf: true },
];

export function apiVersion(name: string): ApiVersion {
  const found = apiVersions.find((v) => v.name === name);
  if (!found)
    throw new Error(`unknown API version ${name} (known: ${apiVersions.map((v) => v.name).join(', ')})`);
  return found;
}

export const specPath = (v: ApiVersion): string => join(root, 'openapi', v.name, v.specFile);
export const documentPath = (v: ApiVersion): string => join(root, 'generated', v.name, 'tmf663-openapi.json');
export const typesPath = (v: ApiVersion): string => join(root, 'generated', v.name, 'tmf663.ts');

/** Parses a spec's text (JSON or YAML) and returns its OpenAPI 3 form, converting Swagger 2.0. */
export async function toOpenApi3(text: string): Promise<Json> {
  const parsed = (text.trimStart().startsWith('{') ? JSON.parse(text) : yaml.load(text)) as Json;
  if (typeof parsed.openapi === 'string' && parsed.openapi.startsWith('3.')) return parsed;
  if (parsed.swagger === '2.0') {
    const { openapi } = (await swagger2openapi.convertObj(parsed, { patch: true, warnOnly: true })) as {
      openapi: Json;
    };
    return openapi;
  }
  throw new Error('neither Swagger 2.0 nor OpenAPI 3.x');
}

/** The published spec of a version, as OpenAPI 3, without any fix-up. */
export async function publishedDocument(v: ApiVersion): Promise<Json> {
  return toOpenApi3(readFileSync(specPath(v), 'utf8'));
}

/** The document the server serves for a version: the published one with its fix-ups applied. */
export async function servedDocument(v: ApiVersion): Promise<Json> {
  const doc = await publishedDocument(v);
  for (const fix of v.fixUps) fix.apply(doc);
  doc['x-fix-ups'] = v.fixUps.map((f) => f.name);
  return doc;
}
