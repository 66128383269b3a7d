import { describe, expect, it } from 'vitest';
import { withNames } from './people.js';

const ana = {
  id: '0192f0c8-0000-7000-8000-00000000a0a1',
  name: 'Ana Díaz',
  username: 'ana',
  role: 'operator',
};
const bo = {
  id: '0192f0c8-0000-7000-8000-00000000b0b2',
  name: 'Bo',
  username: 'bo',
  role: 'operator',
};

describe('withNames', () => {
  it('puts names in place of the ids of known people, every time they occur', () => {
    expect(
      withNames(`B1 · A: counted 5 by ${ana.id}, 6 by ${bo.id}; ${ana.id} again`, [ana, bo]),
    ).toBe('B1 · A: counted 5 by Ana Díaz, 6 by Bo; Ana Díaz again');
  });

  it('leaves unknown ids and text without ids as they are', () => {
    const text = 'counted 5 by 0192f0c8-0000-7000-8000-0000000000ff';
    expect(withNames(text, [ana])).toBe(text);
    expect(withNames('no one here', [ana, bo])).toBe('no one here');
  });
});
