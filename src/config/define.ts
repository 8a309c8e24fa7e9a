import type { z } from 'zod';

/** One environment variable: how to parse it, what it means, and what to say when it is wrong. */
export interface VariableSpec<T> {
  readonly doc: string;
  /** Human words for a valid value, used in error messages ("a whole number from 1 to 64"). */
  readonly expected: string;
  /** Applied when the variable is unset or empty; without it the variable is required. */
  readonly default?: string;
  readonly optional?: boolean;
  /** Secret values are never echoed back in error messages. */
  readonly secret?: boolean;
  readonly schema: z.ZodType<T, string>;
}

export type Variables = Record<string, VariableSpec<unknown>>;
export type ParsedVariables<V extends Variables> = {
  [K in keyof V]: V[K] extends VariableSpec<infer T> ? T : never;
};

export interface ConfigSection<V extends Variables, T> {
  readonly variables: V;
  readonly build: (values: ParsedVariables<V>) => T;
  /** Problems that only show across variables (one of a required pair missing, ...). */
  readonly check: (values: ParsedVariables<V>) => string[];
}

export function variable<T>(spec: Omit<VariableSpec<T>, 'optional'>): VariableSpec<T> {
  return spec;
}

export function optionalVariable<T>(
  spec: Omit<VariableSpec<T>, 'optional' | 'default'>,
): VariableSpec<T | undefined> {
  return { ...spec, optional: true } as VariableSpec<T | undefined>;
}

export function section<V extends Variables, T>(
  variables: V,
  build: (values: ParsedVariables<V>) => T,
  check: (values: ParsedVariables<V>) => string[] = () => [],
): ConfigSection<V, T> {
  return { variables, build, check };
}
