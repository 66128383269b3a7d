import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { COMMANDS } from './decide.js';
import {
  PULL_VERSION,
  PUSH_VERSION,
  SCHEMA_VERSION,
  eventEnvelopeSchema,
  eventKey,
  problemSchema,
  pullRequestSchema,
  pullResponseSchema,
  pushRequestSchema,
  pushResponseSchema,
} from './protocol.js';

/**
 * Pins the wire. Devices run old builds for days and tests outside the project speak this
 * protocol as written: a change here must be deliberate (and additive). Update the snapshot
 * only together with docs/PROTOCOL.md.
 */
describe('sync protocol v1', () => {
  it('has the versions of the contract', () => {
    expect([PUSH_VERSION, PULL_VERSION, SCHEMA_VERSION]).toEqual([1, 1, '1']);
  });

  it('wire schemas and command names are pinned', async () => {
    const wire = {
      pushRequest: z.toJSONSchema(pushRequestSchema, { io: 'input' }),
      pushResponse: z.toJSONSchema(pushResponseSchema),
      pullRequest: z.toJSONSchema(pullRequestSchema, { io: 'input' }),
      pullResponse: z.toJSONSchema(pullResponseSchema),
      event: z.toJSONSchema(eventEnvelopeSchema),
      problem: z.toJSONSchema(problemSchema),
      commands: Object.fromEntries(
        Object.entries(COMMANDS).map(([name, schema]) => [
          name,
          z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
        ]),
      ),
    };
    await expect(JSON.stringify(wire, null, 2)).toMatchFileSnapshot(
      './__snapshots__/protocol-v1.json',
    );
  });

  it('accepts the example push of the protocol document', () => {
    const push = {
      pushVersion: 1,
      clientGroupID: 'g-1',
      profileID: 'p-1',
      schemaVersion: '1',
      mutations: [
        {
          clientID: 'c-1',
          id: 7,
          name: 'moveStock',
          args: { itemId: 'i', from: 'a', to: 'b', quantity: 6 },
          timestamp: 1764110000000,
        },
      ],
    };
    expect(pushRequestSchema.safeParse(push).success).toBe(true);
  });

  it('refuses envelopes the protocol calls whole-request errors', () => {
    const ok = { pushVersion: 1, clientGroupID: 'g', mutations: [] as unknown[] };
    expect(pushRequestSchema.safeParse(ok).success).toBe(true);
    for (const bad of [
      { ...ok, clientGroupID: 5 },
      { ...ok, mutations: 'x' },
      { ...ok, mutations: [{ clientID: 'c', id: 0, name: 'x', args: {} }] },
      { ...ok, mutations: [{ clientID: 'c', id: 1.5, name: 'x', args: {} }] },
      { ...ok, mutations: [{ clientID: 'c', id: 1, name: 'x', args: [] }] },
      { ...ok, mutations: [{ clientID: 3, id: 1, name: 'x', args: {} }] },
    ]) {
      expect(pushRequestSchema.safeParse(bad).success).toBe(false);
    }
  });

  it('takes null, a seq, or a snapshot object as cookie', () => {
    for (const cookie of [null, 0, 1044, { order: 10, after: 's/item/x' }]) {
      expect(
        pullRequestSchema.safeParse({ pullVersion: 1, clientGroupID: 'g', cookie }).success,
      ).toBe(true);
    }
    expect(
      pullRequestSchema.safeParse({ pullVersion: 1, clientGroupID: 'g', cookie: -1 }).success,
    ).toBe(false);
  });

  it('keys events by zero-padded seq so keys sort in seq order', () => {
    expect(eventKey(1043)).toBe('e/000000001043');
    expect([eventKey(10), eventKey(9)].sort()).toEqual([eventKey(9), eventKey(10)]);
  });
});
