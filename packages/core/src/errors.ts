/**
 * The one error class of the engine. Every failure carries a machine-readable `code` and a
 * `where` naming the file, the source model's node and the op, so a user can find the culprit.
 */
export type ErrorCode =
  | 'unsupported-op'
  | 'unsupported-kernel'
  | 'shape'
  | 'dtype'
  | 'attr'
  | 'import'
  | 'budget'
  | 'input'
  | 'scheme'
  | 'internal';

export interface ErrorLocation {
  file?: string;
  node?: string;
  op?: string;
  opset?: number;
  param?: string;
}

export class PockError extends Error {
  readonly code: ErrorCode;
  readonly where: ErrorLocation;
  constructor(code: ErrorCode, message: string, where: ErrorLocation = {}) {
    super(formatMessage(message, where));
    this.name = 'PockError';
    this.code = code;
    this.where = where;
  }
}

function formatMessage(message: string, where: ErrorLocation): string {
  const parts: string[] = [];
  if (where.file) parts.push(where.file);
  if (where.op || where.node) {
    let s = where.op ?? '';
    if (where.node) s += ` '${where.node}'`;
    if (where.opset !== undefined) s += ` (opset ${where.opset})`;
    parts.push(s.trim());
  }
  if (where.param) parts.push(`parameter '${where.param}'`);
  return parts.length ? `${parts.join(': ')}: ${message}` : message;
}

/** Throws an internal error: a broken invariant, never a user mistake. */
export function invariant(cond: unknown, message: string, where?: ErrorLocation): asserts cond {
  if (!cond) throw new PockError('internal', message, where);
}
