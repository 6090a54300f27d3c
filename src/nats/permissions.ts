/**
 * Subject permission templates: `ids.{pool}.{node}.>` and friends (CONTRACT §3 `nats.permissions`).
 *
 * A value comes from a token or a request (an OIDC subject, an instance name), so it must never
 * widen a permission. Values are escaped, not trusted: every byte of the value's UTF-8 that is
 * not an ASCII letter, digit or `-` becomes `_` and two lowercase hex digits (`_` itself too,
 * so the scheme is injective: `a.b` → `a_2eb`, `a_2eb` → `a_5f2eb`, `*` → `_2a`, `>` → `_3e`,
 * ` ` → `_20`, `é` → `_c3_a9`). An escaped value therefore is one literal token or part of
 * one: it can add no token separator, wildcard, whitespace or `$` prefix.
 *
 * Refused (PermissionTemplateError): unknown or malformed placeholders, and any expansion that
 * is not a valid subject, in particular one with an empty token (an empty value as a whole
 * token, `a..b`). A template naming a variable that has no value (no `instance` on a lease) is
 * left out of the allow list: leaving out an allow only narrows. An allow list that ends up
 * empty must not be sent as `allow: []` (NATS reads that as "no restriction"): see user-jwt.ts.
 */

export const TEMPLATE_VARIABLES = ['pool', 'node', 'subject', 'issuer', 'instance'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Partial<Record<TemplateVariable, string | number>>;

export class PermissionTemplateError extends Error {
  constructor(
    message: string,
    readonly template: string,
  ) {
    super(message);
  }
}

const SAFE_BYTE = /^[A-Za-z0-9-]$/;
const SAFE = /^[A-Za-z0-9-]*$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The value as subject-safe text (scheme above). */
export function escapeSubjectValue(value: string): string {
  if (SAFE.test(value)) return value; // most pools, nodes and names: nothing to escape
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && SAFE_BYTE.test(ch) ? ch : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Why `subject` is not a valid NATS subject, or undefined when it is. Wildcards allowed. */
export function subjectProblem(subject: string): string | undefined {
  if (subject.length === 0) return 'is empty';
  // Whitespace and control characters split or corrupt the protocol line.
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(subject)) return 'contains whitespace or a control character';
  const tokens = subject.split('.');
  for (const [i, token] of tokens.entries()) {
    if (token.length === 0) return 'has an empty token';
    if (token.includes('>') && (token !== '>' || i !== tokens.length - 1))
      return 'has ">" other than as the last token';
    if (token.includes('*') && token !== '*') return 'has "*" inside a token';
  }
  return undefined;
}

/** Templates come from the configuration: each is parsed once, not on every grant. */
const parsed = new Map<string, TemplateVariable[]>();

function variablesOf(template: string): TemplateVariable[] {
  let found = parsed.get(template);
  if (found === undefined) parsed.set(template, (found = parseVariables(template)));
  return found;
}

function parseVariables(template: string): TemplateVariable[] {
  const found: TemplateVariable[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? '';
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      throw new PermissionTemplateError(`unknown placeholder {${name}} in "${template}"`, template);
    }
    found.push(name as TemplateVariable);
  }
  // A stray brace is a typo of a placeholder, not a literal worth allowing.
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) {
    throw new PermissionTemplateError(`unbalanced "{" or "}" in "${template}"`, template);
  }
  return found;
}

/** Throws PermissionTemplateError when the template can never expand to a valid subject. */
export function validateTemplate(template: string): void {
  variablesOf(template);
  const problem = subjectProblem(template.replace(PLACEHOLDER, 'x'));
  if (problem) throw new PermissionTemplateError(`permission template "${template}" ${problem}`, template);
}

/**
 * The subject for `values`, or undefined when the template names a variable without a value.
 * Throws PermissionTemplateError when the expansion is not a valid subject.
 */
export function expandSubject(template: string, values: TemplateValues): string | undefined {
  const vars = variablesOf(template);
  if (vars.some((v) => values[v] === undefined)) return undefined;
  const subject = template.replace(PLACEHOLDER, (_m, name: TemplateVariable) =>
    escapeSubjectValue(String(values[name])),
  );
  const problem = subjectProblem(subject);
  if (problem)
    throw new PermissionTemplateError(
      `permission template "${template}" expands to a subject that ${problem}`,
      template,
    );
  return subject;
}

/** Expands an allow list; templates lacking a value are left out (narrowing), duplicates dropped. */
export function expandPermissions(templates: readonly string[], values: TemplateValues): string[] {
  const out = new Set<string>();
  for (const t of templates) {
    const s = expandSubject(t, values);
    if (s !== undefined) out.add(s);
  }
  return [...out];
}
