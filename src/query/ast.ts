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
 * The store's metadata of a record, kept beside the document and never in it: when the cart was
 * created and last written (RFC 3339 date-times). A metadata path names one of them (v5's
 * `creationDate` and `lastUpdate`, src/versions/v5/paths.ts); the TMF630 parser never makes one.
 */
export type MetadataName = 'createdAt' | 'updatedAt';

/** A record's metadata, as the reference evaluator reads it beside the document. */
export type RecordTimes = Readonly<Record<MetadataName, string>>;

/**
 * One attribute condition: `path` is the dotted attribute path split on dots; the condition holds
 * when the attribute compares true with ANY of `values` (comma-separated values and repeated keys
 * are OR). On a path that crosses arrays, "any element" semantics apply (see evaluate.ts).
 * A metadata condition has `metadata` set, an empty `path` and kind 'date': its one candidate is
 * that time of the record.
 */
export interface Condition {
  path: string[];
  metadata?: MetadataName;
  op: FilterOp;
  kind: ValueKind;
  values: FilterValue[];
}

/** All conditions must hold (distinct attributes are AND). An empty list keeps every document. */
export interface Filter {
  conditions: Condition[];
}

/** A sort key: an attribute path, or (`metadata` set, `path` empty) a time of the record. */
export interface SortKey {
  path: string[];
  metadata?: MetadataName;
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
  /**
   * Whether the store returns each item's times (ListResult.times): only the v5 view shows them,
   * and reading them costs a v4 list a little for nothing.
   */
  withTimes?: boolean;
}
