import { recordAudit } from '../audit/audit.js';
import { type Rendition, renditionListSchema } from '../contracts/renditions.js';
import type { Database, Queryable } from '../db/database.js';
import { readStored } from '../db/stored-json.js';
import { requireTenant } from '../tenants/tenants.js';
import { type NewTriggerRule, type TriggerRule, triggerRuleProblems } from './trigger-rule.js';

// Trigger rules in PostgreSQL: the admin functions behind `clearcut triggers`, and the one query
// the event consumer runs per batch. Every change writes an admin audit row.

/** A rule that cannot be stored as given; the message lists every problem. */
export class TriggerRuleError extends Error {
  readonly code = 'invalid_trigger';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'TriggerRuleError';
  }
}

const columns = `id::text, tenant_id AS "tenantId", bucket, prefix, suffixes,
  json_build_object('bucket', output_bucket, 'prefix', output_prefix) AS output, renditions,
  model, enabled, minio_arn AS "minioArn", created_at AS "createdAt"`;

type TriggerRow = Omit<TriggerRule, 'model' | 'minioArn'> & { model: string | null; minioArn: string | null };

function fromRow({ model, minioArn, renditions, ...row }: TriggerRow): TriggerRule {
  return {
    ...row,
    renditions: readStored(renditionListSchema, renditions, `triggers.renditions of rule ${row.id}`),
    ...(model === null ? {} : { model }),
    ...(minioArn === null ? {} : { minioArn }),
  };
}

export async function addTrigger(db: Database, rule: NewTriggerRule): Promise<TriggerRule> {
  const { problems, renditions } = triggerRuleProblems(rule);
  if (problems.length > 0) throw new TriggerRuleError(problems);
  return db.transaction(async (tx) => {
    await requireTenant(tx, rule.tenantId);
    const [row] = await tx.query<TriggerRow>(
      `INSERT INTO triggers (tenant_id, bucket, prefix, suffixes, output_bucket, output_prefix, renditions, model, minio_arn)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${columns}`,
      [
        rule.tenantId,
        rule.bucket,
        rule.prefix,
        rule.suffixes,
        rule.output.bucket,
        rule.output.prefix,
        JSON.stringify(renditions as Rendition[]),
        rule.model ?? null,
        rule.minioArn ?? null,
      ],
    );
    const added = fromRow(row!);
    await recordAudit(tx, [
      {
        tenantId: rule.tenantId,
        source: 'admin',
        outcome: 'trigger.added',
        detail: `trigger ${added.id}: s3://${rule.bucket}/${rule.prefix}* → s3://${rule.output.bucket}/${rule.output.prefix}`,
      },
    ]);
    return added;
  });
}

export async function listTriggers(q: Queryable, filter: { tenantId?: string } = {}): Promise<TriggerRule[]> {
  const rows = await q.query<TriggerRow>(
    `SELECT ${columns} FROM triggers WHERE ($1::text IS NULL OR tenant_id = $1) ORDER BY id`,
    [filter.tenantId ?? null],
  );
  return rows.map(fromRow);
}

export async function getTrigger(q: Queryable, id: string): Promise<TriggerRule | undefined> {
  const [row] = await q.query<TriggerRow>(`SELECT ${columns} FROM triggers WHERE id = $1::bigint`, [id]);
  return row && fromRow(row);
}

/** Every rule that reads from or writes to one of these buckets: what matching and loop checks need. */
export async function rulesForBuckets(q: Queryable, buckets: readonly string[]): Promise<TriggerRule[]> {
  if (buckets.length === 0) return [];
  const rows = await q.query<TriggerRow>(
    `SELECT ${columns} FROM triggers WHERE bucket = ANY($1::text[]) OR output_bucket = ANY($1::text[]) ORDER BY id`,
    [buckets],
  );
  return rows.map(fromRow);
}

/** The removed rule, or undefined when there was none. */
export async function removeTrigger(db: Database, id: string): Promise<TriggerRule | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<TriggerRow>(
      `DELETE FROM triggers WHERE id = $1::bigint RETURNING ${columns}`,
      [id],
    );
    if (!row) return undefined;
    await recordAudit(tx, [
      { tenantId: row.tenantId, source: 'admin', outcome: 'trigger.removed', detail: `trigger ${id}` },
    ]);
    return fromRow(row);
  });
}

/** The rule after the change, or undefined when there is none. */
export async function setTriggerEnabled(
  db: Database,
  id: string,
  enabled: boolean,
): Promise<TriggerRule | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<TriggerRow>(
      `UPDATE triggers SET enabled = $2 WHERE id = $1::bigint RETURNING ${columns}`,
      [id, enabled],
    );
    if (!row) return undefined;
    await recordAudit(tx, [
      {
        tenantId: row.tenantId,
        source: 'admin',
        outcome: enabled ? 'trigger.enabled' : 'trigger.disabled',
        detail: `trigger ${id}`,
      },
    ]);
    return fromRow(row);
  });
}
