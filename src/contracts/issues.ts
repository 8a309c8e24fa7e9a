import type { z } from 'zod';

// Turns zod issues into one line per problem, "path: what is wrong", for rejection details and CLI
// errors. Unions of strict objects report every branch's complaints; we report the branch the
// input was evidently aiming at, or the union's own message when it fits none of them.

type Issue = z.core.$ZodIssue;

export function describeIssues(issues: readonly Issue[], basePath: readonly PropertyKey[] = []): string[] {
  return issues.flatMap((issue) => {
    const path = [...basePath, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const best = closestBranch(issue.errors);
      if (best) return describeIssues(best, path);
    }
    return [`${formatPath(path)}: ${issue.message}`];
  });
}

/** The branch whose complaints are all about values, not about the object's shape; undefined if none. */
function closestBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  const fits = branches.filter((branch) => !branch.some(isShapeComplaint));
  if (fits.length === 0) return undefined;
  return fits.reduce((best, branch) => (branch.length < best.length ? branch : best));
}

/** An unknown field of the branch object, or one of its own fields missing (zod's default wording). */
function isShapeComplaint(issue: Issue): boolean {
  if (issue.code === 'unrecognized_keys') return issue.path.length === 0;
  return (
    issue.code === 'invalid_type' && issue.path.length === 1 && /received undefined$/.test(issue.message)
  );
}

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(body)';
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}
