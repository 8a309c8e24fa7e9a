import { describeIssues } from '../contracts/issues.js';
import { bucketNameProblem, keyIsUnderPrefix, objectPrefixProblem } from '../contracts/object-keys.js';
import { type Rendition, renditionListSchema } from '../contracts/renditions.js';

// Pure: what a trigger rule is, which events it matches, and what makes one unusable.

export interface TriggerRule {
  readonly id: string;
  readonly tenantId: string;
  readonly bucket: string;
  /** Plain key prefix, as S3 filters use it ('' = the whole bucket). */
  readonly prefix: string;
  /** Case-sensitive key endings; empty = any key. */
  readonly suffixes: readonly string[];
  readonly output: { readonly bucket: string; readonly prefix: string };
  readonly renditions: readonly Rendition[];
  /** Undefined = the deployment's default model when the event arrives. */
  readonly model?: string;
  readonly enabled: boolean;
  readonly minioArn?: string;
  readonly createdAt: Date;
}

/** A rule as an operator gives it; renditions are checked against the job contract (default cutout). */
export type NewTriggerRule = Omit<TriggerRule, 'id' | 'enabled' | 'createdAt' | 'renditions'> & {
  readonly renditions?: unknown;
};

/** True when the rule asks for this object (it must also be enabled to act). */
export function ruleMatches(rule: TriggerRule, object: { bucket: string; key: string }): boolean {
  return (
    rule.bucket === object.bucket &&
    keyIsUnderPrefix(object.key, rule.prefix) &&
    (rule.suffixes.length === 0 || rule.suffixes.some((suffix) => object.key.endsWith(suffix)))
  );
}

/**
 * True when the object lies under the output location of ANY rule (any tenant, enabled or not):
 * it is, or may be, one of our own outputs, and processing it could start a loop — within one
 * rule whose output bucket is its input bucket, or across rules feeding each other.
 */
export function isUnderAnyOutput(rules: readonly TriggerRule[], object: { bucket: string; key: string }) {
  return rules.some(
    (rule) => rule.output.bucket === object.bucket && keyIsUnderPrefix(object.key, rule.output.prefix),
  );
}

/** Every problem of a rule as given, one sentence each; empty when it can be stored. */
export function triggerRuleProblems(rule: NewTriggerRule): { problems: string[]; renditions?: Rendition[] } {
  const problems: string[] = [];
  const bucket = bucketNameProblem(rule.bucket);
  if (bucket) problems.push(`--bucket "${rule.bucket}" ${bucket}`);
  const prefix = objectPrefixProblem(rule.prefix);
  if (prefix) problems.push(`--prefix "${rule.prefix}" ${prefix}`);
  for (const suffix of rule.suffixes) {
    if (suffix === '' || /[\u0000-\u001f/]/.test(suffix)) {
      problems.push(`--suffix "${suffix}" must be a non-empty key ending without "/" or control characters`);
    }
  }
  const outputBucket = bucketNameProblem(rule.output.bucket);
  if (outputBucket) problems.push(`--output bucket "${rule.output.bucket}" ${outputBucket}`);
  const outputPrefix = objectPrefixProblem(rule.output.prefix);
  if (outputPrefix) problems.push(`--output prefix "${rule.output.prefix}" ${outputPrefix}`);
  else if (rule.output.prefix !== '' && !rule.output.prefix.endsWith('/')) {
    problems.push(
      `--output prefix "${rule.output.prefix}" must end with "/" (a folder; did you mean s3://${rule.output.bucket}/${rule.output.prefix}/ ?)`,
    );
  }
  // Events under an output prefix are ignored: a rule whose output covers its input would never act.
  if (rule.output.bucket === rule.bucket && keyIsUnderPrefix(rule.prefix, rule.output.prefix)) {
    problems.push(
      `the output s3://${rule.output.bucket}/${rule.output.prefix} contains the input s3://${rule.bucket}/${rule.prefix}: every event would be ignored as one of our own outputs; write the outputs to another bucket or folder`,
    );
  }
  const renditions = renditionListSchema.safeParse(rule.renditions);
  if (!renditions.success) {
    problems.push(...describeIssues(renditions.error.issues, ['renditions']).map((p) => `--rendition ${p}`));
  }
  return renditions.success ? { problems, renditions: renditions.data } : { problems };
}
