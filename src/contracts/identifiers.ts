import { z } from 'zod';

// Identifiers that travel in messages. Each is one word of a routing key or a path segment,
// so none may contain dots, slashes or whitespace.

/**
 * Job ids (the AMQP message_id): letters, digits, `_` and `-`, up to 128. No dots: the id is a word
 * of the result routing key `<tenant>.<job id>.<kind>`; no `/`: it names objects such as the
 * results manifest.
 */
export const messageIdPattern = /^[A-Za-z0-9_-]{1,128}$/;
/** Signing key ids; the id body is base62 so ids survive URLs, shells and routing keys. */
export const keyIdPattern = /^ck_(live|test)_[0-9A-Za-z]{24}$/;

export const tenantIdPattern = /^[a-z][a-z0-9-]{1,62}$/;
export const tenantIdSchema = z
  .string()
  .regex(tenantIdPattern, 'a tenant id is 2–63 characters: a lowercase letter, then a-z 0-9 -')
  .describe('Tenant id (slug), owner of the signing key');

export const jobIdSchema = z
  .string()
  .regex(messageIdPattern, 'a job id is 1–128 characters from A-Z a-z 0-9 _ -')
  .describe('Job id = the AMQP message_id of the job message; unique per tenant (idempotency key)');

export const keyIdSchema = z
  .string()
  .regex(keyIdPattern, 'a key id is ck_live_ or ck_test_ and 24 letters/digits')
  .describe('Signing key id');

export const modelNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'a model name such as u2net or isnet-general-use')
  .describe('Model registry name');

export const taskIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a task id is 1–64 characters from A-Z a-z 0-9 _ -')
  .describe('Task id, unique across the deployment; workers deduplicate by it');

export const itemIndexSchema = z
  .number()
  .int()
  .min(0)
  .describe("0-based position of the item in the job's input");
