import { expect, it } from 'vitest';
import { defaultOrtSettings, sessionSettings } from '../../src/inference/ort-settings.js';
import { findModel } from '../../src/models/registry.js';

it('takes the arena from the registry under auto: on for U²-Net, off for IS-Net, a variant as its base', () => {
  expect(sessionSettings(findModel('u2net'), defaultOrtSettings)).toEqual({
    memoryArena: true,
    memoryPattern: false,
    spinning: false,
  });
  expect(sessionSettings(findModel('isnet-general-use'), defaultOrtSettings).memoryArena).toBe(false);
  expect(sessionSettings({ name: 'u2netp-int8' }, defaultOrtSettings).memoryArena).toBe(true);
  expect(sessionSettings({ name: 'isnet-general-use-int8' }, defaultOrtSettings).memoryArena).toBe(false);
});

it('lets the configuration force the arena and pass the other settings through', () => {
  const forced = { memoryArena: 'off', memoryPattern: true, spinning: true } as const;
  expect(sessionSettings(findModel('u2net'), forced)).toEqual({
    memoryArena: false,
    memoryPattern: true,
    spinning: true,
  });
  expect(sessionSettings(findModel('isnet-general-use'), { ...forced, memoryArena: 'on' }).memoryArena).toBe(
    true,
  );
});
