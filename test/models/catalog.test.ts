import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { catalogFor, catalogNames, modelCatalog } from '../../src/models/catalog.js';

describe('the model catalog', () => {
  it('lists exactly the served names, in catalog order, and refuses the others by name', () => {
    const catalog = catalogFor(
      loadConfig({ CLEARCUT_MODEL: 'u2netp', CLEARCUT_MODELS: 'isnet-general-use-int8,u2netp' }),
    );
    expect(catalog.names).toEqual(['u2netp', 'isnet-general-use-int8']);
    expect(catalog.defaultModel).toBe('u2netp');
    expect(catalogNames.filter((name) => catalog.has(name))).toEqual(['u2netp', 'isnet-general-use-int8']);
    expect(catalog.unknownModelMessage('u2net')).toBe(
      'model "u2net" is not served here; served models: u2netp, isnet-general-use-int8',
    );
    expect(catalog.unknownModelMessage('u3net')).toBe(
      'model "u3net" is not known; served models: u2netp, isnet-general-use-int8',
    );
  });

  it('serves the default model alone when CLEARCUT_MODELS is unset', () => {
    const catalog = catalogFor(loadConfig({ CLEARCUT_MODEL: 'u2net-int8' }));
    expect(catalog.names).toEqual(['u2net-int8']);
    expect(catalog.has('u2net')).toBe(false);
  });

  it('knows every published model and int8 variant when no served list is given (local commands)', () => {
    const catalog = modelCatalog({ defaultModel: 'u2net' });
    expect(catalog.names).toEqual(catalogNames);
    expect(catalog.names).toHaveLength(10);
    expect(catalog.has('silueta-int8')).toBe(true);
  });
});
