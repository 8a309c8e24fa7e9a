import { z } from 'zod';
import { messageIdPattern } from '../signing/headers.js';
import { keyIdPattern } from '../signing/keys.js';

// Identifiers that travel in messages. Each is one word of a routing key or a path segment,
// so none may contain dots, slashes or whitespace.

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
