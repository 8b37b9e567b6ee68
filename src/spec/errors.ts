/** The one error type convkit throws for invalid calls: `"<op>: <param> <rule>; got <values>"`. */
export class ConvError extends Error {
  constructor(
    readonly op: string,
    readonly param: string,
    rule: string,
  ) {
    super(`${op}: ${param} ${rule}`);
    this.name = 'ConvError';
  }
}

/** Formats a value for a message: arrays as `[a, b]`, strings quoted. */
export function fmt(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(fmt).join(', ')}]`;
  if (ArrayBuffer.isView(v)) return `[${Array.from(v as unknown as ArrayLike<number>).map(fmt).join(', ')}]`;
  if (typeof v === 'string') return `'${v}'`;
  if (v !== null && typeof v === 'object') {
    try {
      return JSON.stringify(v);
    } catch {
      return String(v);
    }
  }
  return String(v);
}

/** Lazy assert: the message is built only on failure. */
export function check(cond: boolean, op: string, param: string, rule: () => string): asserts cond {
  if (!cond) throw new ConvError(op, param, rule());
}
