import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addGrant, grantProblem, removeGrant } from '../../src/policy/grant-admin.js';
import { allows, type Grant, loadGrants } from '../../src/policy/grants.js';
import { type MigratedDatabase, migratedDatabase } from './migrated-database.js';

describe('allows (pure)', () => {
  const grants: Grant[] = [
    { bucket: 'catalog', prefix: 'a/', access: 'read' },
    { bucket: 'cutouts', prefix: 'shop-1/', access: 'write' },
    { bucket: 'open', prefix: '', access: 'read' },
  ];

  it('covers keys and prefixes under the granted folder, not neighbours sharing its first letters', () => {
    expect(allows(grants, { bucket: 'catalog', key: 'a/x.jpg' }, 'read')).toBe(true);
    expect(allows(grants, { bucket: 'catalog', key: 'a/deep/x.jpg' }, 'read')).toBe(true);
    expect(allows(grants, { bucket: 'catalog', prefix: 'a/deep/' }, 'read')).toBe(true);
    expect(allows(grants, { bucket: 'catalog', key: 'ab/x.jpg' }, 'read')).toBe(false);
    expect(allows(grants, { bucket: 'catalog', prefix: 'a' }, 'read')).toBe(false);
    expect(allows(grants, { bucket: 'catalog', prefix: '' }, 'read')).toBe(false);
    expect(allows(grants, { bucket: 'catalog', key: 'b/x.jpg' }, 'read')).toBe(false);
  });

  it('matches the bucket exactly', () => {
    expect(allows(grants, { bucket: 'catalog2', key: 'a/x.jpg' }, 'read')).toBe(false);
    expect(allows(grants, { bucket: 'catalo', key: 'a/x.jpg' }, 'read')).toBe(false);
    expect(allows(grants, { bucket: 'open', key: 'any/thing.png' }, 'read')).toBe(true);
    expect(allows(grants, { bucket: 'open', prefix: '' }, 'read')).toBe(true);
  });

  it('keeps read and write apart', () => {
    expect(allows(grants, { bucket: 'catalog', key: 'a/x.jpg' }, 'write')).toBe(false);
    expect(allows(grants, { bucket: 'cutouts', prefix: 'shop-1/out/' }, 'write')).toBe(true);
    expect(allows(grants, { bucket: 'cutouts', prefix: 'shop-1/out/' }, 'read')).toBe(false);
  });

  it('refuses ambiguous paths and malformed locations whatever the grants', () => {
    expect(allows(grants, { bucket: 'catalog', key: 'a/../b/x.jpg' }, 'read')).toBe(false);
    expect(allows(grants, { bucket: 'catalog', key: 'a/./x.jpg' }, 'read')).toBe(false);
    expect(allows(grants, { bucket: 'catalog', key: 'a/x\u0000.jpg' }, 'read')).toBe(false);
    expect(allows(grants, { bucket: 'open', key: '' }, 'read')).toBe(false);
    expect(allows(grants, { bucket: 'catalog' }, 'read')).toBe(false);
    expect(allows(grants, { bucket: 'catalog', key: 'a/x', prefix: 'a/' }, 'read')).toBe(false);
    expect(allows([], { bucket: 'catalog', key: 'a/x.jpg' }, 'read')).toBe(false);
  });
});

describe('grantProblem', () => {
  it('names what is wrong with a bucket or prefix', () => {
    expect(grantProblem({ bucket: 'catalog', prefix: 'a/', access: 'read' })).toBeUndefined();
    expect(grantProblem({ bucket: 'catalog', prefix: '', access: 'read' })).toBeUndefined();
    expect(grantProblem({ bucket: 'Catalog', prefix: '', access: 'read' })).toMatch(
      /^bucket "Catalog" may contain only/,
    );
    expect(grantProblem({ bucket: 'catalog', prefix: 'a', access: 'read' })).toBe(
      'prefix "a" must end with "/" (a grant covers a folder; did you mean "a/"?)',
    );
    expect(grantProblem({ bucket: 'catalog', prefix: '../', access: 'read' })).toMatch(
      /"\." or "\.\." path segments/,
    );
  });
});

describe('stored grants', () => {
  let store: MigratedDatabase;
  beforeAll(async () => {
    store = await migratedDatabase('grants');
  });
  afterAll(async () => store.dispose());

  it('adds, lists per tenant, and removes exactly the grant named', async () => {
    const tenant = await store.tenant();
    const other = await store.tenant();
    const folder: Grant = { bucket: 'catalog', prefix: 'a/', access: 'read' };
    expect(await addGrant(store.db, tenant, folder)).toBe(true);
    expect(await addGrant(store.db, tenant, folder)).toBe(false);
    expect(await addGrant(store.db, tenant, { ...folder, access: 'write' })).toBe(true);
    expect(await addGrant(store.db, other, { bucket: 'catalog', prefix: '', access: 'read' })).toBe(true);
    expect(await loadGrants(store.db, tenant)).toEqual([folder, { ...folder, access: 'write' }]);
    expect(await removeGrant(store.db, tenant, { ...folder, prefix: '' })).toBe(false);
    expect(await removeGrant(store.db, tenant, folder)).toBe(true);
    expect(await loadGrants(store.db, tenant)).toEqual([{ ...folder, access: 'write' }]);
    expect(await loadGrants(store.db, other)).toHaveLength(1);
  });

  it('refuses a grant for an unknown tenant, and the database refuses a prefix that is not a folder', async () => {
    await expect(
      addGrant(store.db, 'nobody', { bucket: 'catalog', prefix: '', access: 'read' }),
    ).rejects.toThrow(/tenant "nobody" does not exist/);
    await expect(
      addGrant(store.db, await store.tenant(), { bucket: 'catalog', prefix: 'a', access: 'read' }),
    ).rejects.toThrow(/bucket_grants_prefix_check/);
  });
});
