/** The predicate operators of the policy language, in the order the docs list them. */
export const OPERATORS = ["eq", "neq", "in", "not_in", "lt", "lte", "gt", "gte", "regex", "contains", "exists"] as const;
export type Operator = (typeof OPERATORS)[number];

export const NUMERIC_OPERATORS = ["lt", "lte", "gt", "gte"] as const;
export const LIST_OPERATORS = ["in", "not_in"] as const;
