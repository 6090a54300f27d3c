import { createHash } from 'node:crypto';
import { claimAt } from './pointer.js';

/** A subject template split into literal text and claim names: "{sub}@{tid}" → ["", sub, "@", tid, ""]. */
export interface SubjectTemplate {
  /** literals[i] comes before claims[i]; one more literal than claims. */
  literals: string[];
  claims: string[];
}

/**
 * Parses a template such as "{sub}@{tid}" or "{/kubernetes.io/namespace}/{sub}". Two claims
 * must be kept apart by literal text, and a claim's value may not hold any of the template's
 * literal characters (see renderSubject), so two different sets of claims can never render
 * the same subject: "a@b" + "c" and "a" + "b@c" would both read "a@b@c".
 */
export function parseSubjectTemplate(template: string): SubjectTemplate {
  const literals: string[] = [];
  const claims: string[] = [];
  let rest = template;
  for (;;) {
    const open = rest.indexOf('{');
    const close = rest.indexOf('}');
    if (open < 0) {
      if (close >= 0) throw new Error(`an unopened "}"`);
      literals.push(rest);
      break;
    }
    if (close >= 0 && close < open) throw new Error(`an unopened "}"`);
    const end = rest.indexOf('}', open);
    if (end < 0) throw new Error(`an unclosed "{"`);
    const name = rest.slice(open + 1, end);
    if (name === '' || name === '/' || name.includes('{')) throw new Error(`"{${name}}" names no claim`);
    literals.push(rest.slice(0, open));
    claims.push(name);
    rest = rest.slice(end + 1);
  }
  if (claims.length === 0) throw new Error('names no claim: write claims as {sub}');
  for (let i = 1; i < claims.length; i++) {
    if (literals[i] === '') throw new Error(`{${claims[i - 1]}} and {${claims[i]}} need text between them`);
  }
  return { literals, claims };
}

/**
 * The subject a template gives for these claims, or undefined when a claim is missing, is not a
 * string or number, or holds one of the template's literal characters (which would make the
 * subject ambiguous).
 */
export function renderSubject(t: SubjectTemplate, claims: Readonly<Record<string, unknown>>): string | undefined {
  const reserved = new Set(t.literals.join(''));
  let out = t.literals[0]!;
  for (const [i, name] of t.claims.entries()) {
    const v = claimAt(claims, name);
    const text = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
    if (text === undefined || text === '' || [...text].some((c) => reserved.has(c))) return undefined;
    out += text + t.literals[i + 1]!;
  }
  return out;
}

const INSTANCE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A lease instance from a claim value (a pod name, an AWS session name). A value that is not a
 * valid instance (too long, or with characters like `@`) becomes a digest of itself, so the same
 * value always names the same instance and two values never share one.
 */
export function instanceFrom(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (INSTANCE.test(value)) return value;
  return `sha256:${createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 40)}`;
}
