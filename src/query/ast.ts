/**
 * The TMF630 query, parsed. Every store adapter compiles this AST to its own query language and
 * must keep exactly the documents that the reference evaluator (evaluate.ts) keeps.
 */

/** Comparison operators (TMF630: .eq .ne .gt .gte .lt .lte .regex, and = != > >= < <=). */
export type FilterOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'regex';

/** How a value compares: decided by the schema type of the attribute path. */
export type ValueKind = 'string' | 'number' | 'boolean' | 'date';

export type FilterValue =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  /** A date-time: `value` is the text as sent, `epochMs` the instant it names. */
  | { kind: 'date'; value: string; epochMs: number }
  /** A regular expression source (op 'regex' only), already checked to be safe. */
  | { kind: 'regex'; value: string };

/**
 * One attribute condition: `path` is the dotted attribute path split on dots; the condition holds
 * when the attribute compares true with ANY of `values` (comma-separated values and repeated keys
 * are OR). On a path that crosses arrays, "any element" semantics apply (see evaluate.ts).
 */
export interface Condition {
  path: string[];
  op: FilterOp;
  kind: ValueKind;
  values: FilterValue[];
}

/** All conditions must hold (distinct attributes are AND). An empty list keeps every document. */
export interface Filter {
  conditions: Condition[];
}

export interface SortKey {
  path: string[];
  descending: boolean;
}

export interface ListQuery {
  filter: Filter;
  /** Attribute paths to return (id and href are always added); undefined returns everything. */
  fields: string[][] | undefined;
  /** Sort keys in order; stores always append `id` ascending as the final tiebreaker. */
  sort: SortKey[];
  offset: number;
  limit: number;
}
